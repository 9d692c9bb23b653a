// The session server against every handshake probe of a real Spread 5.0.1 daemon
// (shared/spread-vectors/s4_handshake_probes): the client's bytes go in (all at once, and one
// byte at a time), and the daemon must answer exactly what Spread answered and close where
// Spread closed. Plus the handshake cases the probes do not cover.
import { strict as assert } from 'node:assert';
import { daemonVid } from '../../src/config/hash';
import { SessionServer } from '../../src/session';
import { encodeAuthChoice, encodeConnect, MessageType } from '../../src/wire/client';
import { findVectors, loadProbes, type Probe } from './clientWireFixtures';
import { withoutNamePadding } from './groupsFixtures';
import { RawClient, connectTo, singleDaemon, sleep, until } from './sessionFixtures';

const vectors = findVectors();
const SP1 = { id: daemonVid('sp1'), name: 'sp1' };
/** The ring time of the probes' group ids (0x6b023661). */
const PROBE_RING_SEQ = 1795307105;

/** Splits a daemon's reply stream into handshake bytes and the frames after it. */
function splitReply(bytes: Buffer, handshakeLength: number): { handshake: Buffer; frames: Buffer[] } {
  const frames: Buffer[] = [];
  let at = handshakeLength;
  while (at + 48 <= bytes.length) {
    const numGroups = bytes.readInt32LE(at + 36);
    const dataLen = bytes.readInt32LE(at + 44);
    const end = at + 48 + 32 * numGroups + dataLen;
    frames.push(bytes.subarray(at, end));
    at = end;
  }
  assert.equal(at, bytes.length, 'whole frames');
  return { handshake: bytes.subarray(0, handshakeLength), frames };
}

/** Length of the handshake replies in a probe's s2c bytes (auth list if any, then accept or reject). */
function handshakeLength(s2c: Buffer): number {
  let at = 0;
  if (s2c[0] !== 0x01 && (s2c[0]! & 0x80) === 0) at = 1 + s2c[0]!; // an auth list
  if (at >= s2c.length) return at;
  if ((s2c[at]! & 0x80) !== 0) return at + 1; // a reject byte
  // accept: 01 major minor [patch] len name; patch present unless the library is < 3.15
  const withPatch = s2c.length > at + 4 && s2c[at + 4]! + at + 5 <= s2c.length && s2c.subarray(at + 5, at + 5 + s2c[at + 4]!).includes(0x23);
  const head = withPatch ? 5 : 4;
  return at + head + s2c[at + head - 1]!;
}

describe('session handshake: the Spread 5.0.1 probes', function () {
  let probes: Probe[] = [];
  before(function () {
    if (!vectors.dir) this.skip();
    probes = loadProbes(vectors.dir!).probes;
  });

  for (const chunking of ['whole', 'byte by byte'] as const) {
    it(`answers every probe as Spread did (${chunking})`, async function () {
      assert.equal(probes.length, 11);
      for (const probe of probes) {
        const { server, ring, connect } = singleDaemon(SP1, PROBE_RING_SEQ);
        const client = connect();
        const c2s = Buffer.from(probe.c2s, 'hex');
        const expected = Buffer.from(probe.s2c, 'hex');
        if (chunking === 'whole') client.write(c2s);
        else for (let i = 0; i < c2s.length; i++) client.write(c2s.subarray(i, i + 1));
        const closes = probe.end.some((e) => e === 'FIN' || e === 'RST');
        let got: Buffer;
        if (closes) {
          got = await client.closed();
        } else {
          await until(() => client.buffered.length >= expected.length && ring.queued === 0, `${probe.name}: ${expected.length} bytes`);
          await sleep(20);
          got = client.buffered;
          assert.equal(client.ended, false, `${probe.name}: the daemon closed the connection`);
        }
        const n = handshakeLength(expected);
        const want = splitReply(expected, n);
        const have = splitReply(got, n);
        if (probe.name === 'agreed_self_discard_bigendian_hint') assert.equal(want.frames.length, 3, 'join notice, two echoes');
        assert.equal(have.handshake.toString('hex'), want.handshake.toString('hex'), `${probe.name}: handshake`);
        assert.deepEqual(
          have.frames.map((f) => withoutNamePadding(f).toString('hex')),
          want.frames.map((f) => withoutNamePadding(f).toString('hex')),
          `${probe.name}: frames`,
        );
        await server.close();
      }
    });
  }
});

describe('session handshake: other cases', function () {
  it('invents a name for an empty one (Spread: r<random>-<connection>)', async function () {
    const { server, connect } = singleDaemon(SP1, 1, { random: () => 0.9838 });
    const pg = await connect().connect('');
    assert.match(pg, /^#r9837-\d+#sp1$/);
    const other = await connect().connect('');
    assert.notEqual(other, pg);
    assert.match(other, /^#r\d+-\d+#sp1$/);
    await server.close();
  });

  it('keeps a private name taken until the KILL of its session is delivered (REJECT_NOT_UNIQUE)', async function () {
    const { server, ring, connect } = singleDaemon(SP1, 1);
    const first = connect();
    await first.connect('dup');
    const second = connect();
    second.write(encodeConnect({ name: 'dup', membership: true }));
    assert.equal((await second.closed()).toString('hex'), 'fa');
    ring.held = true;
    first.send(MessageType.KILL_MESS, ['#dup#sp1']);
    await first.closed();
    const third = connect();
    third.write(encodeConnect({ name: 'dup', membership: true }));
    assert.equal((await third.closed()).toString('hex'), 'fa', 'the KILL is not delivered yet');
    ring.release();
    await until(() => ring.queued === 0, 'the KILL');
    assert.equal(await connect().connect('dup'), '#dup#sp1');
    await server.close();
  });

  it('rejects an auth choice without NULL, and a required method that is missing', async function () {
    const { server, connect } = singleDaemon(SP1, 1, { requiredAuthMethods: ['NULL'] });
    const none = connect();
    none.write(Buffer.concat([encodeConnect({ name: 'x', membership: true }), Buffer.alloc(90)]));
    assert.equal((await none.closed()).toString('hex'), '054e554c4c20f7');
    await server.close();
    const strict = singleDaemon(SP1, 1, { allowedAuthMethods: ['NULL', 'IP'], requiredAuthMethods: ['IP'] });
    const c = strict.connect();
    c.write(Buffer.concat([encodeConnect({ name: 'y', membership: true }), encodeAuthChoice(['NULL'])]));
    assert.equal((await c.closed()).toString('hex'), '084e554c4c20495020f7');
    await strict.server.close();
  });

  it('rejects connections past maxSessions with REJECT_QUOTA', async function () {
    const { server, connect } = singleDaemon(SP1, 1, { maxSessions: 2 });
    await connect().connect('a');
    await connect().connect('b');
    assert.equal((await connect().closed()).toString('hex'), 'fd');
    await server.close();
  });

  it('closes a connection that does not complete its handshake in time, and frees its name', async function () {
    const { server, connect } = singleDaemon(SP1, 1, { handshakeTimeoutMs: 50 });
    const slow = connect();
    slow.write(encodeConnect({ name: 'slow', membership: true }));
    await slow.closed(1000);
    assert.equal(await connect().connect('slow'), '#slow#sp1');
    await server.close();
  });

  it('accepts several handshakes at once and gives each its own private group', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const clients: RawClient[] = Array.from({ length: 20 }, () => connect());
    const groups = await Promise.all(clients.map((c, i) => c.connect(`c${i}`)));
    assert.equal(new Set(groups).size, 20);
    assert.equal(server.sessionCount, 20);
    await server.close();
    assert.equal(server.sessionCount, 0);
  });

  it('answers REJECT_QUOTA once closed', async function () {
    const { server } = singleDaemon(SP1, 1);
    await server.close();
    const c = connectTo(server);
    assert.equal((await c.closed()).toString('hex'), 'fd');
  });
});

void SessionServer;
