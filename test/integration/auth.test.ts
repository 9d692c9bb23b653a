// Authenticated daemon traffic with real daemons (`ringcast daemon`, the built CLI) on
// 127.0.0.1–4, keys made with `ringcast keygen`. One spread.conf names five daemons; the files
// differ only in AuthKeyFile, which is not in the configuration hash, so only the key keeps
// daemons apart. d5 never runs: the test binds its address and records what the daemons send it
// (joins, probes), to replay those datagrams, unchanged and tampered, at the others.
// - d1–d3 share a key: they form a ring and deliver (library clients in this process);
// - d4 with another key never joins, nor does d4 without a key; their datagrams are counted as
//   dropped (`ringcast status` counters: auth.dropped) and d4 accepts none of the others';
// - replayed and tampered datagrams sent at d1–d3 during a flood: tampered ones are dropped and
//   counted, replayed ones change nothing, every message is delivered in one order.
// Needs `npx tsc -p .` first (it runs bin/ringcast.js, which loads dist/).
// RINGCAST_IT_VERBOSE=1 prints the phases.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/client/connect';
import type { Session } from '../../src/client/session';
import { requestStatus, type StatusReport } from '../../src/client/statusProtocol';
import { loadConfig } from '../../src/config';
import { canBind, freeUdpPort, repoRoot, showOutput, watchDaemon, type WatchedDaemon } from '../support/repo';

const NAMES = ['d1', 'd2', 'd3', 'd4', 'd5'];
const ADDRS = NAMES.map((_, i) => `127.0.0.${i + 1}`);
const KEYED = ['d1', 'd2', 'd3'];
const ROOT = repoRoot();
const BIN = path.join(ROOT, 'bin', 'ringcast.js');
const VERBOSE = !!process.env.RINGCAST_IT_VERBOSE;
const STEP_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const say = (line: string) => {
  if (VERBOSE) process.stderr.write(`      [auth] ${line}\n`);
};

async function waitUntil(cond: () => boolean, what: () => string, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(20);
  }
}

/** Every regular configuration a daemon printed ("… regular configuration <ring>: <members>"), in order. */
function regulars(d: WatchedDaemon): string[][] {
  return d.out.flatMap((l) => {
    const m = /regular configuration \S+: (.*)$/.exec(l);
    return m ? [m[1]!.trim().split(/\s+/).map((x) => x.split('@')[0]!)] : [];
  });
}
/** The members of the last regular configuration, sorted. */
const lastRing = (d: WatchedDaemon) => regulars(d).at(-1)?.slice().sort().join(' ') ?? '(none)';

/** A library client that keeps the data of every message it receives, as text. */
class Client {
  readonly got: string[] = [];
  /** Members of group g in the last regular membership message. */
  members = 0;
  private constructor(readonly session: Session) {
    session.on('message', (m) => this.got.push(m.data.toString()));
    session.on('membership', (m) => {
      if (m.kind === 'regular' && m.group === 'g') this.members = m.members.length;
    });
  }
  static async open(name: string, address: string, port: number): Promise<Client> {
    const c = new Client(await connect({ daemon: `${port}@${address}`, name }));
    await c.session.join('g');
    return c;
  }
}

describe('integration: authenticated daemon traffic', function () {
  this.timeout(180_000);
  let tmp = '';
  let port = 0;
  const confs = { key: '', otherKey: '', noKey: '' };
  const daemons = new Map<string, WatchedDaemon>();
  const clients: Client[] = [];
  let spy: dgram.Socket | undefined;
  /** Datagrams d1–d3 sent to d5 (which never runs). */
  const recorded: Buffer[] = [];

  function start(name: string, conf: string): WatchedDaemon {
    const proc = spawn(process.execPath, [BIN, 'daemon', '-c', conf, '-n', name, '--socket', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const d = watchDaemon(name, proc);
    daemons.set(name, d);
    return d;
  }

  async function stop(name: string): Promise<void> {
    const d = daemons.get(name)!;
    if (!d.exit) d.proc.kill('SIGTERM');
    await d.exited;
  }

  async function status(name: string): Promise<StatusReport> {
    const s = await connect({ daemon: `${port}@${ADDRS[NAMES.indexOf(name)]}`, membership: false });
    try {
      const r = await requestStatus(s, 5000);
      assert.ok(r, `${name} answers the status request`);
      return r;
    } finally {
      await s.disconnect();
    }
  }
  const authCounters = async (name: string) => (await status(name)).counters?.auth;

  const show = () => [...daemons.values()].map(showOutput).join('\n');

  /** No configuration of d1–d3 ever lists d4, and d4's only ever list d4. */
  function assertApart(): void {
    for (const n of KEYED) for (const r of regulars(daemons.get(n)!)) assert.ok(!r.includes('d4'), `${n} installs ${r.join(' ')}\n${show()}`);
    for (const r of regulars(daemons.get('d4')!)) assert.deepEqual(r, ['d4'], `d4 installs ${r.join(' ')}`);
  }

  before(async function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
    for (const a of ADDRS) if (!(await canBind(a, 0))) this.skip(); // 127.0.0.2–5 not usable (not Linux?)
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-auth-it-'));
    for (const key of ['ring.key', 'other.key']) {
      const r = spawnSync(process.execPath, [BIN, 'keygen', '-o', path.join(tmp, key)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `ringcast keygen: ${r.stderr}`);
      assert.equal(fs.statSync(path.join(tmp, key)).mode & 0o777, 0o600);
    }
    port = await freeUdpPort(ADDRS, true);
    // MaxSessionMessages above the 3000-message flood: its readers share this process with the sender.
    const segment = `Spread_Segment 127.0.0.255:${port} {\n${NAMES.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('')}}\nMaxSessionMessages = 10000\n`;
    const write = (file: string, extra: string) => (fs.writeFileSync(path.join(tmp, file), segment + extra), path.join(tmp, file));
    confs.key = write('key.conf', 'AuthKeyFile = ring.key\n');
    confs.otherKey = write('other.conf', 'AuthKeyFile = other.key\n');
    confs.noKey = write('none.conf', '');
    const hashes = new Set(Object.values(confs).map((c) => loadConfig(c).configHash));
    assert.equal(hashes.size, 1, 'the key is not in the configuration hash');
    spy = dgram.createSocket('udp4');
    const keyedAddrs = KEYED.map((n) => ADDRS[NAMES.indexOf(n)]);
    spy.on('message', (m, from) => {
      if (keyedAddrs.includes(from.address)) recorded.push(m); // d4's would be dropped for its key, not for tampering
    });
    await new Promise<void>((r) => spy!.bind(port, ADDRS[4], () => r()));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.session.disconnect().catch(() => undefined)));
    for (const d of daemons.values()) if (!d.exit) d.proc.kill('SIGKILL');
    await Promise.all([...daemons.values()].map((d) => d.exited));
    spy?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('three daemons with the key form a ring and deliver; a fourth with another key never joins, its datagrams are dropped', async () => {
    for (const n of KEYED) start(n, confs.key);
    start('d4', confs.otherKey);
    await waitUntil(
      () => KEYED.every((n) => lastRing(daemons.get(n)!) === 'd1 d2 d3') && lastRing(daemons.get('d4')!) === 'd4',
      () => `rings d1 d2 d3 and d4 alone\n${show()}`,
    );
    for (const n of KEYED) assert.ok(daemons.get(n)!.out.some((l) => /daemon traffic authenticated \(AES-256-GCM\) with the key in .*ring\.key/.test(l)), n);
    say('rings: d1 d2 d3, and d4 alone');

    const [a, b, c, x] = await Promise.all(['a', 'b', 'c', 'x'].map((n, i) => Client.open(n, ADDRS[i]!, port)));
    clients.push(a!, b!, c!, x!);
    // A join takes effect in the ring's order: send once every client sees the three of them in g.
    await waitUntil(() => [a!, b!, c!].every((cl) => cl.members === 3), () => `memberships: ${[a!, b!, c!].map((cl) => cl.members).join(', ')}`);
    for (let i = 0; i < 300; i++) await a!.session.multicast('g', `a#${i}`);
    for (let i = 0; i < 50; i++) await x!.session.multicast('g', `x#${i}`);
    const fromA = (cl: Client) => cl.got.filter((s) => s.startsWith('a#'));
    await waitUntil(() => [a!, b!, c!].every((cl) => fromA(cl).length === 300) && x!.got.length === 50, () => `deliveries: ${[a!, b!, c!, x!].map((cl) => cl.got.length).join(', ')}`);
    await sleep(300); // anything that was going to cross over has had time to
    for (const cl of [a!, b!, c!]) assert.deepEqual(cl.got, Array.from({ length: 300 }, (_, i) => `a#${i}`));
    assert.deepEqual(x!.got, Array.from({ length: 50 }, (_, i) => `x#${i}`));

    // All the while each side probes the other: every datagram is dropped, none starts a merge
    // (an accepted probe or join would start a gather).
    const first = await Promise.all(['d1', 'd4'].map(status));
    await sleep(1000);
    const later = await Promise.all(['d1', 'd4'].map(status));
    ['d1', 'd4'].forEach((n, i) => {
      const [s0, s1] = [first[i]!.counters!, later[i]!.counters!];
      assert.ok(s1.auth!.dropped! > s0.auth!.dropped!, `${n} drops the other side's datagrams: ${JSON.stringify([s0.auth, s1.auth])}`);
      assert.equal(s1.membership!.gathers, s0.membership!.gathers, `${n} starts no gather`);
    });
    assert.deepEqual(later[1]!.ring?.members.map((m) => m.split('@')[0]), ['d4']);
    for (const n of KEYED) {
      const s = await status(n);
      assert.deepEqual(s.ring?.members.map((m) => m.split('@')[0]).sort(), KEYED);
      assert.ok((s.counters?.auth?.dropped ?? 0) > 0, `${n} drops d4's datagrams: ${JSON.stringify(s.counters?.auth)}`);
    }
    assertApart();
  });

  it('a daemon without a key does not join the keyed ones, and says its traffic is unauthenticated', async () => {
    await stop('d4');
    const before = (await authCounters('d1'))!.dropped!;
    const d4 = start('d4', confs.noKey);
    await waitUntil(() => lastRing(d4) === 'd4', () => `d4 alone\n${showOutput(d4)}`);
    assert.ok(d4.out.some((l) => /WARNING d4: daemon traffic is unauthenticated/.test(l)), showOutput(d4));
    await sleep(1000); // several probe rounds each way
    const after = (await authCounters('d1'))!.dropped!;
    assert.ok(after > before, `d1 drops d4's unauthenticated datagrams (${before} → ${after})`);
    const s = await status('d4');
    assert.equal(s.counters?.auth, undefined);
    assert.ok((s.counters?.membership?.malformedPackets ?? 0) > 0, `d4 finds the keyed datagrams malformed: ${JSON.stringify(s.counters?.membership)}`);
    assertApart();
    await stop('d4');
  });

  it('tampered and replayed datagrams at the daemons\' ports: tampered ones dropped and counted, the ring keeps delivering', async () => {
    assert.ok(recorded.length > 0, 'the daemons sent d5 something to replay');
    say(`${recorded.length} datagrams recorded at d5`);
    const before = await Promise.all(KEYED.map(authCounters));
    const [a, b, c] = clients;
    const sock = dgram.createSocket('udp4');
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    let seed = 99;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed % n);
    const tampered = KEYED.map(() => 0);
    let replayed = 0;
    const tamper = (orig: Buffer): Buffer => {
      const t = Buffer.from(orig);
      switch (rand(4)) {
        case 0:
          t[rand(t.length)] ^= 1 << rand(8); // one bit flipped
          return t;
        case 1:
          return t.subarray(0, rand(t.length)); // cut short
        case 2:
          return Buffer.concat([t, Buffer.from([rand(256)])]); // one byte more
        default:
          return Buffer.from(Array.from({ length: 1 + rand(200) }, () => rand(256))); // noise
      }
    };
    const timer = setInterval(() => {
      KEYED.forEach((_, i) => {
        for (let k = 0; k < 2; k++) {
          sock.send(recorded[rand(recorded.length)]!, port, ADDRS[i]);
          replayed++;
          sock.send(tamper(recorded[rand(recorded.length)]!), port, ADDRS[i]);
          tampered[i]!++;
        }
      });
    }, 5);
    try {
      for (const cl of [a!, b!, c!]) cl.got.length = 0;
      for (let i = 0; i < 3000; i++) await a!.session.multicast('g', `r#${i}`);
      await waitUntil(() => [a!, b!, c!].every((cl) => cl.got.length >= 3000), () => `deliveries: ${[a!, b!, c!].map((cl) => cl.got.length).join(', ')}`);
    } finally {
      clearInterval(timer);
    }
    await sleep(200);
    sock.close();
    for (const cl of [a!, b!, c!]) assert.deepEqual(cl.got, Array.from({ length: 3000 }, (_, i) => `r#${i}`));
    const after = await Promise.all(KEYED.map(authCounters));
    KEYED.forEach((n, i) => {
      const dropped = after[i]!.dropped! - before[i]!.dropped!;
      // Every tampered datagram that reached the daemon (the kernel may drop some under load) is counted.
      assert.ok(dropped <= tampered[i]! && dropped >= tampered[i]! / 2, `${n}: ${dropped} dropped of ${tampered[i]} tampered sent`);
    });
    say(`sent ${replayed} replayed and ${tampered.reduce((s, x) => s + x, 0)} tampered datagrams during the flood`);
    for (const n of KEYED) assert.equal(lastRing(daemons.get(n)!), 'd1 d2 d3');
    assertApart();
  });
});
