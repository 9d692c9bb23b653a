// Clients against real daemons: three `ringcast daemon` processes (the built CLI) on
// 127.0.0.1/.2/.3, one port shared by all, and clients of the TypeScript library in this process
// (a@d1, b@d2, x@d2, c@d3). They join two groups, multicast every service type to both groups
// and to one, x disconnects, d3 is killed with SIGKILL while a, b and c keep sending. Each
// client writes its delivery log as `ringcast flood --log` does (ClientDeliveryRecorder over a
// LogWriter; conf lines = group g's memberships); the logs must pass the invariant checker
// (client mode; c crashed with its daemon), and the membership messages must be Spread's:
// CAUSED_BY_JOIN per join with the joiner as the one vs_set, CAUSED_BY_DISCONNECT for x, then
// for the dead daemon TRANSITION_MESS followed by CAUSED_BY_NETWORK with a new group id (from the
// new ring) and one vs_set of the members that came through together.
// Bad input (garbage, truncated frames, oversized lengths, illegal group names, too many groups,
// garbage in the handshake) is sent to the real daemons over TCP: that session is closed without
// a reply, as Spread does, and its group sees it disconnect; other sessions and the ring go on.
// `ringcast status --json` is asked along the way.
// Needs `npx tsc -p .` first (it runs bin/ringcast.js, which loads dist/).
// RINGCAST_IT_VERBOSE=1 prints the phases; RINGCAST_IT_KEEP=1 keeps the temp dir (logs, daemon output).
import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { connect } from '../../src/client/connect';
import { ClientDeliveryRecorder } from '../../src/client/deliveryRecorder';
import { allocFloodPayload, readFloodPayload, stampFloodPayload } from '../../src/client/floodPayload';
import { compareGroupIdStrings, formatGroupId, type MembershipMessage, type RegularMembershipMessage } from '../../src/client/received';
import type { Session } from '../../src/client/session';
import type { StatusOutput } from '../../src/cli/status';
import type { ServiceName } from '../../src/core/service';
import { checkLogs, formatReport } from '../../src/sim/checker';
import { LogWriter, readLogFile } from '../../src/sim/logFiles';
import type { LogEntry } from '../../src/sim/deliveryLog';
import { MessageType } from '../../src/wire/client';
import { summarize } from '../unit/groupsFixtures';
import { RawClient } from '../unit/sessionFixtures';
import { repoRoot } from '../support/repo';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const HOSTS = ['d1', 'd2', 'd3'];
const SERVICES: readonly ServiceName[] = ['UNRELIABLE', 'RELIABLE', 'FIFO', 'CAUSAL', 'AGREED', 'SAFE'];
const VERBOSE = !!process.env.RINGCAST_IT_VERBOSE;
const KEEP = !!process.env.RINGCAST_IT_KEEP;

const BIN = path.join(repoRoot(), 'bin', 'ringcast.js');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (line: string): void => {
  if (VERBOSE) process.stderr.write(`      [clients] ${line}\n`);
};

async function waitUntil(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(10);
  }
}

function free(bind: (done: (ok: boolean) => void) => void): Promise<boolean> {
  return new Promise((resolve) => bind(resolve));
}
const udpFree = (address: string, port: number) =>
  free((done) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => (s.close(), done(false)));
    s.bind(port, address, () => s.close(() => done(true)));
  });
const tcpFree = (address: string, port: number) =>
  free((done) => {
    const s = net.createServer();
    s.once('error', () => done(false));
    s.listen(port, address, () => s.close(() => done(true)));
  });

/** A port in 20000–40000 free for the ring (UDP port, port+1) and the clients (TCP) on all three addresses. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (const a of ADDRS) ok = ok && (await udpFree(a, port)) && (await udpFree(a, port + 1)) && (await tcpFree(a, port));
    if (ok) return port;
  }
  throw new Error('no free port in 20000–40000');
}

interface DaemonProc {
  name: string;
  proc: ChildProcess;
  out: string[];
  exited: Promise<void>;
  dead: boolean;
}

/** Regular configurations a daemon printed ("… regular configuration <ring>: <members>"). */
function regulars(d: DaemonProc): string[][] {
  return d.out.flatMap((l) => {
    const m = /: regular configuration \S+: (.*)$/.exec(l);
    return m ? [m[1]!.trim().split(/\s+/)] : [];
  });
}

/** One library client writing its delivery log the way `ringcast flood --log` does. */
class Client {
  readonly memberships: MembershipMessage[] = [];
  /** Ids delivered, in order. */
  readonly delivered: string[] = [];
  readonly recorder: ClientDeliveryRecorder;
  readonly writer: LogWriter;
  sent = 0;
  closedWith: Error | undefined;
  ended = false;

  constructor(
    readonly name: string,
    readonly session: Session,
    logFile: string,
  ) {
    this.writer = new LogWriter(logFile);
    this.recorder = new ClientDeliveryRecorder(this.writer, 'g');
    session.on('membership', (m) => {
      this.recorder.membership(m);
      this.memberships.push(m);
    });
    session.on('message', (m) => {
      const p = readFloodPayload(m.data);
      if (!p) return;
      const id = `${m.sender}#${p.n}`;
      this.recorder.delivered(id, m.service, m.groups, m.data.length);
      this.delivered.push(id);
    });
    void session.closed.then((e) => {
      this.closedWith = e;
      this.ended = true;
    });
  }

  get pg(): string {
    return this.session.privateGroup;
  }

  async send(groups: readonly string[], service: ServiceName, size: number): Promise<void> {
    const n = ++this.sent;
    this.recorder.sent(`${this.pg}#${n}`, service);
    this.writer.flush(); // on disk before it can be delivered anywhere
    await this.session.multicast(groups, stampFloodPayload(allocFloodPayload(size), n, Date.now()), { service });
  }

  /** This client's memberships of one group, summarized. */
  of(group: string): string[] {
    return this.memberships.filter((m) => m.group === group).map(summary);
  }

  finish(): void {
    this.session.removeAllListeners('membership').removeAllListeners('message');
    this.recorder.finish();
    this.writer.close();
  }
}

function summary(m: MembershipMessage): string {
  if (m.kind === 'transitional') return `TRANSITION ${m.group}`;
  if (m.kind === 'self-leave') return `SELF-LEAVE ${m.group}`;
  const vs = m.vsSets.map((s, i) => `${i === m.localVsSetIndex ? '*' : ''}[${s.join(' ')}]`).join('');
  return `${m.cause} ${m.group} [${m.members.join(' ')}] vs=${vs}`;
}

function lastRegular(c: Client, group: string): RegularMembershipMessage | undefined {
  return c.memberships.filter((m): m is RegularMembershipMessage => m.group === group && m.kind === 'regular').pop();
}

/** `ringcast status --json` against one daemon. */
function status(port: number, address: string): Promise<StatusOutput> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'status', '--daemon', `${port}@${address}`, '--json'], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ringcast status: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as StatusOutput);
    });
  });
}

/** A 48-byte header as a little-endian client writes it. */
function header(type: number, sender: string, numGroups: number, dataLen: number): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32LE((type | 0x80000080) >>> 0, 0);
  b.write(sender, 4, 'latin1');
  b.writeInt32LE(numGroups, 36);
  b.writeUInt32LE(0x80000080, 40);
  b.writeInt32LE(dataLen, 44);
  return b;
}
function groupName(name: string): Buffer {
  const b = Buffer.alloc(32);
  b.write(name, 0, 'latin1');
  return b;
}

describe('clients on three real daemons: groups, every service, a disconnect, a killed daemon, bad input', function () {
  this.timeout(40_000);
  let tmp: string;
  let port: number;
  const daemons: DaemonProc[] = [];
  const clients = new Map<string, Client>();
  const raw: RawClient[] = [];
  const logDir = () => path.join(tmp, 'logs');
  const cl = (name: string): Client => clients.get(name)!;

  before(async function () {
    if (!fs.existsSync(path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
    for (const a of ADDRS.slice(1)) {
      if (!(await udpFree(a, 0))) {
        this.skip(); // no 127.0.0.2/.3 on this host's loopback
      }
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-clients-'));
    fs.mkdirSync(logDir());
    port = await freePort();
    const conf = path.join(tmp, 'spread.conf');
    fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n${HOSTS.map((h, i) => `    ${h} ${ADDRS[i]}\n`).join('')}}\n`);
    for (const name of HOSTS) {
      const proc = spawn(process.execPath, [BIN, 'daemon', '-c', conf, '-n', name, '--socket', 'none', '--incarnation', '1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const d: DaemonProc = { name, proc, out: [], dead: false, exited: new Promise((r) => proc.once('exit', () => r())) };
      void d.exited.then(() => (d.dead = true));
      readline.createInterface({ input: proc.stdout! }).on('line', (l) => d.out.push(l));
      readline.createInterface({ input: proc.stderr! }).on('line', (l) => d.out.push(`stderr: ${l}`));
      daemons.push(d);
    }
    await waitUntil(
      () => daemons.every((d) => regulars(d).some((m) => m.length === 3) && d.out.some((l) => l.includes(': clients: '))),
      15_000,
      () => `a ring of three:\n${daemons.map((d) => `${d.name}: ${d.out.slice(-5).join('\n    ')}`).join('\n')}`,
    );
    say(`ring of three on port ${port}`);
  });

  after(async function () {
    for (const c of raw) c.stream.destroy();
    for (const c of clients.values()) {
      c.session.removeAllListeners();
      if (!c.ended) await c.session.disconnect().catch(() => undefined);
      try {
        c.finish();
      } catch {
        /* closed already */
      }
    }
    for (const d of daemons) if (!d.dead) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    if (this.currentTest?.state === 'failed' || VERBOSE) {
      for (const d of daemons) say(`${d.name} output:\n        ${d.out.slice(-15).join('\n        ')}`);
    }
    if (tmp) {
      if (KEEP) process.stderr.write(`      kept ${tmp}\n`);
      else fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('joins two groups: CAUSED_BY_JOIN with the joiner as the vs_set, same group ids everywhere', async function () {
    const at = { a: 0, b: 1, x: 1, c: 2 } as const;
    for (const name of ['a', 'b', 'c', 'x'] as const) {
      const session = await connect({ daemon: `${port}@${ADDRS[at[name]]}`, name, membership: true });
      clients.set(name, new Client(name, session, path.join(logDir(), `${name}.jsonl`)));
    }
    const plan: Array<[string, string]> = [
      ['a', 'g'],
      ['a', 'g2'],
      ['b', 'g'],
      ['c', 'g'],
      ['c', 'g2'],
      ['x', 'g'],
      ['x', 'g2'],
    ];
    const membersOf = new Map<string, string[]>();
    for (const [who, group] of plan) {
      const joiner = cl(who);
      await joiner.session.join(group);
      const members = [...(membersOf.get(group) ?? []), who];
      membersOf.set(group, members);
      await waitUntil(
        () => members.every((m) => lastRegular(cl(m), group)?.members.includes(joiner.pg) === true),
        5000,
        () => `${who}'s join of ${group} at ${members.join(', ')}`,
      );
    }
    const A = cl('a').pg;
    const B = cl('b').pg;
    const C = cl('c').pg;
    const X = cl('x').pg;
    assert.deepEqual([A, B, C, X], ['#a#d1', '#b#d2', '#c#d3', '#x#d2']);
    // Members in the daemons' order (d1, d2, d3), then by name: x (at d2) comes before c.
    assert.deepEqual(cl('a').of('g'), [
      `JOIN g [${A}] vs=*[${A}]`,
      `JOIN g [${A} ${B}] vs=*[${B}]`,
      `JOIN g [${A} ${B} ${C}] vs=*[${C}]`,
      `JOIN g [${A} ${B} ${X} ${C}] vs=*[${X}]`,
    ]);
    assert.deepEqual(cl('a').of('g2'), [`JOIN g2 [${A}] vs=*[${A}]`, `JOIN g2 [${A} ${C}] vs=*[${C}]`, `JOIN g2 [${A} ${X} ${C}] vs=*[${X}]`]);
    assert.deepEqual(cl('b').of('g'), [`JOIN g [${A} ${B}] vs=*[${B}]`, `JOIN g [${A} ${B} ${C}] vs=*[${C}]`, `JOIN g [${A} ${B} ${X} ${C}] vs=*[${X}]`]);
    assert.deepEqual(cl('b').of('g2'), []);
    assert.deepEqual(cl('x').of('g'), [`JOIN g [${A} ${B} ${X} ${C}] vs=*[${X}]`]);
    // One group id per membership, the per-group counter going up by one per change.
    for (const group of ['g', 'g2']) {
      const ids = [...clients.values()].map((c) => lastRegular(c, group)).filter((m) => m !== undefined).map((m) => formatGroupId(m.groupId));
      assert.equal(new Set(ids).size, 1, `${group}: ${ids.join(' ')}`);
      const seq = cl('a').memberships.filter((m): m is RegularMembershipMessage => m.group === group && m.kind === 'regular').map((m) => m.groupId.index);
      assert.deepEqual(seq, seq.map((_, i) => seq[0]! + i));
    }
    // The status service sees the same: 4 sessions in groups, per daemon.
    const st = await status(port, ADDRS[1]!);
    assert.ok(st.status, 'd2 answers status');
    assert.deepEqual([...(st.status.ring?.members ?? [])].sort(), ['d1', 'd2', 'd3']); // in ring order
    assert.deepEqual(st.status.sessions?.perDaemon, { d1: 1, d2: 2, d3: 1 });
    assert.equal(st.status.sessions?.local, 3); // b, x and the status client itself
    assert.deepEqual(
      st.status.groups?.map((g) => [g.name, g.members, g.id]),
      [
        ['g', 4, formatGroupId(lastRegular(cl('a'), 'g')!.groupId)],
        ['g2', 3, formatGroupId(lastRegular(cl('a'), 'g2')!.groupId)],
      ],
    );
    assert.equal(st.status.linksNote?.startsWith('link status not available'), true);
  });

  it('multicasts every service type to two groups and to one: every client delivers all, in one order', async function () {
    const senders = ['a', 'b', 'c', 'x'].map(cl);
    const perSender = 48;
    await Promise.all(
      senders.map(async (c, k) => {
        for (let i = 0; i < perSender; i++) {
          const groups = i % 3 === 0 ? ['g'] : i % 3 === 1 ? ['g', 'g2'] : ['g2', 'g'];
          await c.send(groups, SERVICES[(i + k) % SERVICES.length]!, i === 7 ? 60_000 : 100 + 37 * i);
        }
      }),
    );
    const total = perSender * senders.length;
    await waitUntil(
      () => senders.every((c) => c.delivered.length >= total),
      10_000,
      () => senders.map((c) => `${c.name} ${c.delivered.length}/${total}`).join(', '),
    );
    // The ring orders every service totally: one sequence for everyone.
    for (const c of senders.slice(1)) assert.deepEqual(c.delivered, senders[0]!.delivered, `${c.name} and a`);
    assert.equal(new Set(senders[0]!.delivered).size, total);
  });

  it('bad input closes only that session, with no reply; its group sees it go; the ring is undisturbed', async function () {
    const rawClient = async (d: number, name: string): Promise<RawClient> => {
      const socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: ADDRS[d]!, port }, () => resolve(s));
        s.once('error', reject);
      });
      const c = new RawClient(socket);
      raw.push(c);
      if (name !== '') await c.connect(name);
      return c;
    };
    const next = async (c: RawClient): Promise<string> => summarize([await c.frameBytes()])[0]!;
    const configurations = daemons.map((d) => regulars(d).length);
    // A bystander at d2 in the group the bad sessions join (theirs are at d1 and d3).
    const bystander = await rawClient(1, 'bys');
    bystander.send(MessageType.JOIN_MESS, ['bq']);
    assert.match(await next(bystander), /^CAUSED_BY_JOIN\|REG_MEMB_MESS bq \[#bys#d2\]/);

    const cases: Array<[string, (pg: string) => Buffer, boolean]> = [
      ['garbage', () => Buffer.alloc(300, 0xff), false],
      ['a truncated frame, then the end of input', (pg) => Buffer.concat([header(MessageType.AGREED_MESS, pg, 1, 100), groupName('g'), Buffer.alloc(10)]), true],
      ['an oversized data length', (pg) => Buffer.concat([header(MessageType.AGREED_MESS, pg, 1, 0x7fffffff), groupName('g')]), false],
      ['a negative group count', (pg) => header(MessageType.AGREED_MESS, pg, -7, 0), false],
      ['a JOIN of an illegal group name', (pg) => Buffer.concat([header(MessageType.JOIN_MESS, pg, 1, 0), groupName('bad name')]), false],
      ['a group name without its NUL', (pg) => Buffer.concat([header(MessageType.AGREED_MESS, pg, 1, 0), Buffer.alloc(32, 0x61)]), false],
      ['too many groups (101)', (pg) => Buffer.concat([header(MessageType.AGREED_MESS, pg, 101, 0), ...Array.from({ length: 101 }, (_, i) => groupName(`g${i}`))]), false],
      // Past the daemon's MaxMessageSize (4 MiB by default): refused on its header.
      ['a message over the size limit', (pg) => Buffer.concat([header(MessageType.AGREED_MESS, pg, 1, 5 << 20), groupName('g'), Buffer.alloc(65_536)]), false],
    ];
    let k = 0;
    for (const [what, bytes, thenEnd] of cases) {
      const d = k % 2 === 0 ? 0 : 2;
      const bad = await rawClient(d, `bad${k++}`);
      bad.send(MessageType.JOIN_MESS, ['bq']);
      await next(bad);
      const members = d === 0 ? `${bad.privateGroup} #bys#d2` : `#bys#d2 ${bad.privateGroup}`; // d1, d2, d3 order
      assert.equal(await next(bystander), `CAUSED_BY_JOIN|REG_MEMB_MESS bq [${members}] vs=*[${bad.privateGroup}] #${2 * k}`, what);
      bad.write(bytes(bad.privateGroup));
      if (thenEnd) bad.stream.end();
      assert.equal((await bad.closed(5000)).length, 0, `${what}: closed with no reply`);
      assert.equal(await next(bystander), `CAUSED_BY_DISCONNECT|REG_MEMB_MESS bq [#bys#d2] vs=*[${bad.privateGroup}] #${2 * k + 1}`, what);
    }
    // Garbage in place of the handshake: a one-byte reject, then the end. (Spread reads the version
    // bytes as signed chars: 0xff is version −1, below 3.1: REJECT_VERSION.)
    const early = await rawClient(0, '');
    early.write(Buffer.alloc(64, 0xff));
    assert.deepEqual([...(await early.closed(5000))], [0xf9], 'REJECT_VERSION');
    // A connection that says nothing at all and goes away.
    const silent = await rawClient(2, '');
    silent.stream.end();
    await silent.closed(5000);

    // The bystander and the ring carry on: no new configuration anywhere, traffic flows.
    bystander.send(MessageType.SAFE_MESS, ['bq'], 'still here');
    assert.equal(await next(bystander), 'SAFE #bys#d2 -> bq: still here');
    daemons.forEach((d, i) => assert.equal(regulars(d).length, configurations[i], `${d.name} installed no new configuration`));
    const senders = ['a', 'b', 'c', 'x'].map(cl);
    const before = senders.map((c) => c.delivered.length);
    await Promise.all(senders.map((c) => c.send(['g'], 'AGREED', 200)));
    await waitUntil(() => senders.every((c, i) => c.delivered.length === before[i]! + 4), 5000, () => 'the round after bad input');
    const st = await status(port, ADDRS[0]!);
    assert.equal(st.status?.counters?.sessions?.badFrames, 4);
    assert.equal(st.status?.counters?.sessions?.rejected, 1);
    bystander.send(MessageType.KILL_MESS, [bystander.privateGroup]);
    await bystander.closed(5000);

  });

  it('x disconnects: CAUSED_BY_DISCONNECT in both groups; d3 is killed: TRANSITION_MESS, then CAUSED_BY_NETWORK with a new group id', async function () {
    const [a, b, c, x] = ['a', 'b', 'c', 'x'].map(cl) as [Client, Client, Client, Client];
    const [A, B, C, X] = [a.pg, b.pg, c.pg, x.pg];
    await x.session.disconnect();
    x.finish();
    await waitUntil(
      () => [a, b, c].every((m) => lastRegular(m, 'g')?.cause === 'DISCONNECT') && [a, c].every((m) => lastRegular(m, 'g2')?.cause === 'DISCONNECT'),
      5000,
      () => 'the disconnect at every member',
    );
    for (const m of [a, b, c]) assert.equal(m.of('g').at(-1), `DISCONNECT g [${A} ${B} ${C}] vs=*[${X}]`);
    for (const m of [a, c]) assert.equal(m.of('g2').at(-1), `DISCONNECT g2 [${A} ${C}] vs=*[${X}]`);
    const oldG = lastRegular(a, 'g')!.groupId;
    const seenBefore = new Map([a, b].map((m) => [m, m.memberships.length]));

    // a, b and c keep sending while d3 dies.
    let stop = false;
    const streams = [a, b, c].map(async (m, k) => {
      for (let i = 0; !stop && !m.ended; i++) {
        try {
          await m.send(i % 2 === 0 ? ['g', 'g2'] : ['g'], i % 3 === k % 3 ? 'SAFE' : 'AGREED', 300);
        } catch {
          return; // c: its daemon is gone
        }
        await sleep(2);
      }
    });
    await sleep(300);
    const killedAt = Date.now();
    daemons[2]!.proc.kill('SIGKILL');
    await daemons[2]!.exited;
    await waitUntil(
      () => lastRegular(a, 'g')?.cause === 'NETWORK' && lastRegular(b, 'g')?.cause === 'NETWORK' && lastRegular(a, 'g2')?.cause === 'NETWORK',
      15_000,
      () => `the network membership (a: ${a.of('g').at(-1)}, b: ${b.of('g').at(-1)})`,
    );
    say(`new membership ${Date.now() - killedAt} ms after the kill`);
    await sleep(200);
    stop = true;
    await Promise.all(streams);
    await waitUntil(() => c.ended, 5000, () => "c's session to end with its daemon");
    assert.equal((c.closedWith as { code?: string } | undefined)?.code, 'CONNECTION_CLOSED');

    // Spread's order: TRANSITION_MESS (the old id), then the regular membership by NETWORK, vs_set = the survivors.
    for (const m of [a, b]) {
      const after = m.memberships.slice(seenBefore.get(m)).filter((e) => e.group === 'g');
      assert.deepEqual(after.map(summary), ['TRANSITION g', `NETWORK g [${A} ${B}] vs=*[${A} ${B}]`], m.name);
      assert.deepEqual((after[0] as { groupId: unknown }).groupId, oldG);
    }
    assert.deepEqual(a.of('g2').slice(-2), ['TRANSITION g2', `NETWORK g2 [${A}] vs=*[${A}]`]);
    const newG = lastRegular(a, 'g')!.groupId;
    assert.deepEqual(lastRegular(b, 'g')!.groupId, newG);
    assert.equal(newG.index, 1);
    assert.ok(compareGroupIdStrings(formatGroupId(oldG), formatGroupId(newG))! < 0, 'the new id is newer');
    // The new id comes from the new ring: its representative and sequence (status of d1).
    const st = await status(port, ADDRS[0]!);
    const ring = st.status!.ring!;
    assert.deepEqual([...ring.members].sort(), ['d1', 'd2']);
    const [seq, rep] = ring.id.split('.') as [string, string];
    assert.equal(newG.time, Number(BigInt(seq) % 2n ** 32n));
    const repId = rep === 'd1' ? st.status!.daemon.id : (await status(port, ADDRS[1]!)).status!.daemon.id;
    assert.equal(newG.daemonId, repId);
    assert.equal(st.status!.groups!.find((g) => g.name === 'g')!.id, formatGroupId(newG));
    assert.deepEqual(st.status!.sessions?.perDaemon, { d1: 1, d2: 1 }, JSON.stringify(st.status!.groups));

    // The survivors still talk: a last round, everything a and b sent is delivered at both.
    await Promise.all([a.send(['g'], 'SAFE', 100), b.send(['g', 'g2'], 'AGREED', 100)]);
    const own = (m: Client) => Array.from({ length: m.sent }, (_, i) => `${m.pg}#${i + 1}`);
    await waitUntil(
      () => [a, b].every((m) => [...own(a), ...own(b)].every((id) => m.delivered.includes(id))),
      5000,
      () => 'the survivors to deliver all they sent',
    );
    await sleep(100);
  });

  it("the clients' delivery logs pass the invariant checker (client mode; c crashed with d3)", async function () {
    // Logs end before a and b disconnect (each would see the other go).
    for (const name of ['a', 'b']) cl(name).finish();
    for (const name of ['a', 'b']) await cl(name).session.disconnect();
    cl('c').finish();
    const logs = new Map<string, LogEntry[]>();
    for (const name of ['a', 'b', 'c', 'x']) logs.set(name, readLogFile(path.join(logDir(), `${name}.jsonl`), { tolerateTruncatedTail: true }));
    const report = checkLogs(logs, { crashed: ['c'], liveProcesses: ['a', 'b'], ringOrder: compareGroupIdStrings, label: 'clients on real daemons' });
    assert.equal(report.ok, true, formatReport(report));
    const counts = [...logs].map(([n, l]) => `${n}: ${l.filter((e) => e.t === 'msg').length} msgs, ${l.filter((e) => e.t === 'conf').length} confs`);
    say(counts.join('; '));
    // Each log holds a transitional configuration only where its client lived through d3's death.
    assert.ok(logs.get('a')!.some((e) => e.t === 'conf' && e.kind === 'transitional'));
    assert.ok(!logs.get('x')!.some((e) => e.t === 'conf' && e.kind === 'transitional'));
  });
});
