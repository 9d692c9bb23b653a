// Authenticated daemon traffic: the datagram codec (tag, verify, encryption), the Transport that
// applies it, the key file and `ringcast keygen`, and the spread.conf options.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { AUTH_KEY_BYTES, AUTH_OVERHEAD, DatagramAuth, NONCE_BYTES } from '../../src/wire/auth';
import { AuthenticatedTransport } from '../../src/link/auth';
import { MemoryLinkSet, MemoryNetwork, MemoryTransport } from '../../src/link/memory';
import { authKeyPath, readAuthKey, writeAuthKey } from '../../src/config/authKey';
import { parseConfig } from '../../src/config';
import { buildProgram } from '../../src/cli/main';
import { Daemon } from '../../src/daemon/daemon';
import { ConfigError, RingcastError } from '../../src/errors';

const KEY = Buffer.alloc(AUTH_KEY_BYTES, 7);
const OTHER_KEY = Buffer.alloc(AUTH_KEY_BYTES, 8);
const MODES = [false, true] as const;
const modeName = (encrypt: boolean) => (encrypt ? 'encrypt' : 'mac');

describe('DatagramAuth', () => {
  for (const encrypt of MODES) {
    describe(modeName(encrypt), () => {
      it('seals and opens: the body comes back, 28 bytes more on the wire', () => {
        const sender = new DatagramAuth(KEY, { encrypt });
        const receiver = new DatagramAuth(KEY, { encrypt });
        for (const size of [1, 31, 32, 1400, 16000, 65000]) {
          const body = randomBytes(size);
          const sealed = sender.sealToBuffer(body);
          assert.equal(sealed.length, size + AUTH_OVERHEAD);
          assert.deepEqual(receiver.open(sealed), body, `${size} bytes`);
        }
        assert.deepEqual(receiver.counters, { sealed: 0, verified: 6, dropped: 0 });
        assert.equal(sender.counters.sealed, 6);
      });

      it('seals a body in two parts (link header + data) as one datagram', () => {
        const a = new DatagramAuth(KEY, { encrypt });
        const header = Buffer.from('0123456789');
        const data = randomBytes(300);
        assert.deepEqual(new DatagramAuth(KEY, { encrypt }).open(a.sealToBuffer(header, data)), Buffer.concat([header, data]));
        assert.deepEqual(new DatagramAuth(KEY, { encrypt }).open(a.sealToBuffer(header, null)), header);
        // As chunks for a gathering send: the body itself (no copy) unless encrypted, then the trailer.
        const chunks = a.seal(header, data);
        assert.equal(chunks.length, 3);
        assert.equal(chunks[2]!.length, AUTH_OVERHEAD);
        assert.equal(chunks[0] === header && chunks[1] === data, !encrypt);
        assert.deepEqual(new DatagramAuth(KEY, { encrypt }).open(Buffer.concat(chunks)), Buffer.concat([header, data]));
      });

      it('drops datagrams sealed under another key, or in the other mode', () => {
        const body = randomBytes(100);
        for (const sealer of [new DatagramAuth(OTHER_KEY, { encrypt }), new DatagramAuth(KEY, { encrypt: !encrypt })]) {
          const receiver = new DatagramAuth(KEY, { encrypt });
          assert.equal(receiver.open(sealer.sealToBuffer(body)), null);
          assert.deepEqual(receiver.counters, { sealed: 0, verified: 0, dropped: 1 });
        }
      });

      it('drops an unsealed datagram, an empty one and one too short for a trailer', () => {
        const receiver = new DatagramAuth(KEY, { encrypt });
        for (const b of [Buffer.alloc(0), Buffer.alloc(AUTH_OVERHEAD), randomBytes(AUTH_OVERHEAD - 1), randomBytes(200)]) assert.equal(receiver.open(b), null);
        assert.equal(receiver.counters.dropped, 4);
      });

      it('rejects every single-bit flip, every truncation and every extension, and never throws (fuzzed)', () => {
        const sender = new DatagramAuth(KEY, { encrypt });
        fc.assert(
          fc.property(fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.uint8Array({ minLength: 1, maxLength: 4 }), (bytes, extra) => {
            const body = Buffer.from(bytes);
            const sealed = sender.sealToBuffer(body);
            const receiver = new DatagramAuth(KEY, { encrypt });
            assert.deepEqual(receiver.open(Buffer.from(sealed)), body);
            for (let bit = 0; bit < sealed.length * 8; bit++) {
              const t = Buffer.from(sealed);
              t[bit >> 3] ^= 1 << (bit & 7);
              assert.equal(receiver.open(t), null, `bit ${bit} of ${sealed.length} bytes`);
            }
            for (let n = 0; n < sealed.length; n++) assert.equal(receiver.open(sealed.subarray(0, n)), null, `cut to ${n} bytes`);
            for (let n = 1; n < sealed.length; n++) assert.equal(receiver.open(sealed.subarray(n)), null, `first ${n} bytes cut`);
            assert.equal(receiver.open(Buffer.concat([sealed, Buffer.from(extra)])), null, 'extended');
            assert.equal(receiver.counters.verified, 1);
          }),
          { numRuns: 25 },
        );
      });

      it('never accepts nor throws on random bytes (fuzzed)', () => {
        const receiver = new DatagramAuth(KEY, { encrypt });
        fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => receiver.open(Buffer.from(bytes)) === null), { numRuns: 500 });
        assert.equal(receiver.counters.verified, 0);
      });
    });
  }

  it('keeps the body readable without encryption and hides it with', () => {
    const body = Buffer.from('a ringcast packet body that is long enough to look for');
    assert.ok(new DatagramAuth(KEY).sealToBuffer(body).includes(body));
    assert.ok(!new DatagramAuth(KEY, { encrypt: true }).sealToBuffer(body).includes(body.subarray(0, 16)));
  });

  it('never repeats a nonce: the counter counts on, carrying into its upper word', () => {
    const start = Buffer.from([1, 2, 3, 4, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xfe]);
    const a = new DatagramAuth(KEY, { firstNonce: start });
    const nonces = new Set<string>();
    const body = Buffer.alloc(8);
    for (let i = 0; i < 5000; i++) {
      const s = a.sealToBuffer(body);
      nonces.add(s.subarray(s.length - AUTH_OVERHEAD, s.length - AUTH_OVERHEAD + NONCE_BYTES).toString('hex'));
    }
    assert.equal(nonces.size, 5000);
    assert.ok(nonces.has('0102030400000009ffffffff') && nonces.has('010203040000000a00000000'), 'carry');
    assert.ok([...nonces].every((n) => n.startsWith('01020304')), 'the salt stays');
  });

  it('starts each life at a random nonce', () => {
    const first = (a: DatagramAuth) => a.sealToBuffer(Buffer.alloc(1)).subarray(1, 1 + NONCE_BYTES).toString('hex');
    assert.notEqual(first(new DatagramAuth(KEY)), first(new DatagramAuth(KEY)));
  });

  it('refuses a key of the wrong size', () => {
    for (const n of [0, 16, 31, 33, 64]) {
      assert.throws(() => new DatagramAuth(Buffer.alloc(n)), (e: unknown) => e instanceof RingcastError && e.code === 'AUTH_KEY');
    }
  });
});

describe('AuthenticatedTransport', () => {
  const settle = () => new Promise((r) => setImmediate(r));

  it('seals a datagram sent to several peers once, and delivers only authentic datagrams', async () => {
    const net = new MemoryNetwork();
    const [a, b, c] = [1, 2, 3].map((id) => new AuthenticatedTransport(new MemoryTransport(net, id), new DatagramAuth(KEY)));
    const got = new Map<number, Buffer[]>([[2, []], [3, []]]);
    b.onMessage((d) => got.get(2)!.push(d));
    c.onMessage((d) => got.get(3)!.push(d));
    const packet = Buffer.from('one packet for every peer');
    a.send(2, packet);
    a.send(3, packet);
    await settle();
    assert.equal(a.auth.counters.sealed, 1);
    a.send(2, packet); // a later turn: sealed again (a new nonce)
    await settle();
    assert.equal(a.auth.counters.sealed, 2);
    assert.deepEqual(got.get(2), [packet, packet]);
    assert.deepEqual(got.get(3), [packet]);

    // A daemon with another key, and one with none, get nowhere.
    const stranger = new AuthenticatedTransport(new MemoryTransport(net, 4), new DatagramAuth(OTHER_KEY));
    const plain = new MemoryTransport(net, 5);
    stranger.send(2, packet);
    plain.send(2, packet);
    await settle();
    assert.equal(got.get(2)!.length, 2);
    assert.deepEqual(b.auth.counters, { sealed: 0, verified: 2, dropped: 2 });
    await Promise.all([a, b, c, stranger, plain].map((t) => t.close()));
  });

  it('over a transport that takes one buffer per datagram (a link set) too', async () => {
    const net = new MemoryNetwork(2);
    const [a, b] = [1, 2].map((id) => new AuthenticatedTransport(new MemoryLinkSet(net, { self: id, peers: [1, 2], mode: 'active', epoch: 1 }), new DatagramAuth(KEY)));
    const got: string[] = [];
    b!.onMessage((d) => got.push(d.toString()));
    for (let i = 0; i < 5; i++) a!.send(2, Buffer.from(`m${i}`));
    const t0 = Date.now();
    while (got.length < 5 && Date.now() - t0 < 3000) await settle();
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    await Promise.all([a!.close(), b!.close()]);
  });
});

describe('key file and ringcast keygen', () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-key-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const keyError = (pattern: RegExp) => (e: unknown) => e instanceof RingcastError && e.code === 'AUTH_KEY' && pattern.test(e.message);

  it('writes 32 random bytes with mode 0600, never over an existing file without force', () => {
    const file = path.join(dir, 'sub', 'authkey');
    writeAuthKey(file);
    const st = fs.statSync(file);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.size, AUTH_KEY_BYTES);
    const first = readAuthKey(file);
    assert.throws(() => writeAuthKey(file), keyError(/exists; --force/));
    assert.deepEqual(readAuthKey(file), first);
    fs.chmodSync(file, 0o644);
    writeAuthKey(file, { force: true });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.notDeepEqual(readAuthKey(file), first);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['authkey'], 'no temporary file left');
  });

  it('writes 0600 whatever the umask', () => {
    const old = process.umask(0);
    try {
      writeAuthKey(path.join(dir, 'k'));
    } finally {
      process.umask(old);
    }
    assert.equal(fs.statSync(path.join(dir, 'k')).mode & 0o777, 0o600);
  });

  it('refuses a key file group or others may read or write, of the wrong size, or missing', () => {
    const file = path.join(dir, 'k');
    fs.writeFileSync(file, randomBytes(AUTH_KEY_BYTES), { mode: 0o600 });
    assert.equal(readAuthKey(file).length, AUTH_KEY_BYTES);
    fs.chmodSync(file, 0o400);
    assert.equal(readAuthKey(file).length, AUTH_KEY_BYTES);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
      fs.chmodSync(file, mode);
      assert.throws(() => readAuthKey(file), keyError(/lets group or others at it.*chmod 600/), mode.toString(8));
    }
    for (const size of [0, 16, 31, 33, 1024]) {
      fs.writeFileSync(file, randomBytes(size));
      fs.chmodSync(file, 0o600);
      assert.throws(() => readAuthKey(file), keyError(new RegExp(`${size} bytes; a key has 32`)), `${size} bytes`);
    }
    assert.throws(() => readAuthKey(path.join(dir, 'missing')), keyError(/cannot open it.*ringcast keygen/));
    assert.throws(() => readAuthKey(dir), keyError(/not a regular file/));
  });

  it('ringcast keygen -o FILE [--force]', async () => {
    const file = path.join(dir, 'authkey');
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
    try {
      await buildProgram().parseAsync(['keygen', '-o', file], { from: 'user' });
      const first = readAuthKey(file);
      await assert.rejects(buildProgram().parseAsync(['keygen', '-o', file], { from: 'user' }), keyError(/exists/));
      await buildProgram().parseAsync(['keygen', '-o', file, '--force'], { from: 'user' });
      assert.notDeepEqual(readAuthKey(file), first);
    } finally {
      process.stdout.write = write;
    }
    assert.match(out.join(''), /wrote a 32-byte key to .*authkey \(mode 0600\).*AuthKeyFile = /);
  });
});

describe('AuthKeyFile and Encryption in spread.conf', () => {
  const SEGMENT = 'Spread_Segment 127.0.0.255:4803 {\n  d1 127.0.0.1\n  d2 127.0.0.2\n}\n';

  it('are off by default; Encryption needs AuthKeyFile (file:line:column)', () => {
    const plain = parseConfig(SEGMENT, 'a.conf');
    assert.equal(plain.options.authKeyFile, null);
    assert.equal(plain.options.encryption, false);
    assert.throws(
      () => parseConfig(`${SEGMENT}Window = 100\n  Encryption = on\n`, 'a.conf'),
      (e: unknown) => e instanceof ConfigError && e.line === 6 && e.column === 3 && /Encryption = on needs a key: AuthKeyFile is not set/.test(e.message),
    );
    assert.throws(() => parseConfig(`${SEGMENT}Encryption = maybe\n`, 'a.conf'), (e: unknown) => e instanceof ConfigError && e.line === 5 && /true or false/.test(e.message));
    assert.throws(() => parseConfig(`${SEGMENT}AuthKeyFile = ""\n`, 'a.conf'), (e: unknown) => e instanceof ConfigError && e.line === 5);
  });

  it('stay out of the configuration hash: daemons compare keys by their tags, never in the clear', () => {
    const hash = parseConfig(SEGMENT).configHash;
    assert.equal(parseConfig(`${SEGMENT}AuthKeyFile = "/etc/ringcast/authkey"\nEncryption = on\n`).configHash, hash);
    assert.equal(parseConfig(`${SEGMENT}AuthKeyFile = /other/key\n`).configHash, hash);
  });

  it('a relative AuthKeyFile is relative to the spread.conf naming it', () => {
    assert.equal(authKeyPath(parseConfig(`${SEGMENT}AuthKeyFile = keys/ring.key\n`, '/etc/ringcast/spread.conf')), '/etc/ringcast/keys/ring.key');
    assert.equal(authKeyPath(parseConfig(`${SEGMENT}AuthKeyFile = /k\n`, '/etc/ringcast/spread.conf')), '/k');
    assert.equal(authKeyPath(parseConfig(SEGMENT)), null);
  });

  it('a Daemon loads the key at construction, and refuses a bad key file there', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-key-'));
    try {
      const conf = path.join(dir, 'spread.conf');
      writeAuthKey(path.join(dir, 'authkey'));
      const config = parseConfig(`${SEGMENT}AuthKeyFile = authkey\nEncryption = on\n`, conf);
      const daemon = new Daemon(config, config.hosts[0]!, { incarnation: 1 });
      assert.equal(daemon.auth?.encrypt, true);
      assert.deepEqual(daemon.authCounters(), { sealed: 0, verified: 0, dropped: 0 });
      assert.equal(new Daemon(parseConfig(SEGMENT, conf), config.hosts[0]!).auth, null);
      fs.chmodSync(path.join(dir, 'authkey'), 0o644);
      assert.throws(() => new Daemon(config, config.hosts[0]!), (e: unknown) => e instanceof RingcastError && e.code === 'AUTH_KEY');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
