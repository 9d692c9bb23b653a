// Client access control and resource bounds with real daemons: three `ringcast daemon` processes
// (the built CLI) on 127.0.0.1/.2/.3 with a spread.conf that sets the Unix socket's mode, the IP
// auth method as required (IpAllow = 127.0.0.1 only), and small limits. Checked: the socket's
// mode; no client listener beyond the configured addresses; IP auth by the client's source
// address; MaxSessions with connections that never finish their handshake, closed after
// ClientHandshakeTimeout; MaxGroupsPerSession and a flood of joins and leaves; and memory while a
// client floods, a member of the group never reads, and one daemon is stopped (SIGSTOP) for
// less, then more than the token timeout — the others' peak RSS (the kernel's VmHWM) and heap must stay
// under generous bounds. Needs `npx tsc -p .` first (it runs bin/ringcast.js, which loads dist/).
// RINGCAST_IT_VERBOSE=1 prints the memory figures.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/client/connect';
import type { Session } from '../../src/client/session';
import { requestStatus } from '../../src/client/statusProtocol';
import type { StatusReport } from '../../src/wire/status';
import { MessageType, encodeAuthChoice, encodeConnect } from '../../src/wire/client';
import { RawClient } from '../unit/sessionFixtures';
import { freeUdpPort, repoRoot, showOutput, socketTo, tcpReach, watchDaemon, type WatchedDaemon } from '../support/repo';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const NAMES = ['d1', 'd2', 'd3'];
const BIN = path.join(repoRoot(), 'bin', 'ringcast.js');
const VERBOSE = !!process.env.RINGCAST_IT_VERBOSE;
const MAX_SESSIONS = 30;
const MAX_GROUPS = 50;
const MAX_READER_LAG = 10_000;
const MAX_SESSION_MESSAGES = 20_000;
/** Generous: a daemon here idles at about 60–80 MB RSS; an unbounded queue during the stop would pass this within seconds. */
const RSS_BOUND_MB = 400;
const HEAP_BOUND_MB = 200;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (line: string): void => {
  if (VERBOSE) process.stderr.write(`      [limits] ${line}\n`);
};

async function waitFor(test: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** VmRSS and VmHWM (peak RSS) of a process, in MB, from /proc. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

describe('client access control and resource bounds on three real daemons', function () {
  this.timeout(180_000);
  let tmp: string;
  let port: number;
  const daemons: WatchedDaemon[] = [];
  const sockets: net.Socket[] = [];
  const sessions: Session[] = [];

  const daemonAddress = (i: number) => `${port}@${ADDRS[i]}`;
  const open = async (i: number, name: string): Promise<Session> => {
    const s = await connect({ daemon: daemonAddress(i), name, authMethods: ['IP'] });
    sessions.push(s);
    return s;
  };
  const statusOf = async (i: number): Promise<StatusReport> => {
    const s = await connect({ daemon: daemonAddress(i), authMethods: ['IP'], membership: false });
    try {
      const report = await requestStatus(s, 5000);
      assert.ok(report, `status of ${NAMES[i]}`);
      return report;
    } finally {
      await s.disconnect();
    }
  };
  const raw = async (i: number, localAddress?: string): Promise<RawClient> => {
    const socket = await socketTo({ host: ADDRS[i]!, port, ...(localAddress ? { localAddress } : {}) });
    sockets.push(socket);
    return new RawClient(socket);
  };

  before(async function () {
    if (!fs.existsSync(path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npx tsc -p .` first: the daemons run from dist/');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-limits-'));
    port = await freeUdpPort(ADDRS, true);
    const conf = path.join(tmp, 'limits.conf');
    fs.writeFileSync(
      conf,
      [
        `Spread_Segment 127.0.0.255:${port} {`,
        ...NAMES.map((n, i) => `    ${n} ${ADDRS[i]}`),
        '}',
        `ClientSocketDir = ${tmp}`,
        'ClientSocketMode = 0640',
        'AllowedAuthMethods = "NULL IP"',
        'RequiredAuthMethods = "IP"',
        'IpAllow = { 127.0.0.1 }',
        `MaxSessions = ${MAX_SESSIONS}`,
        `MaxGroupsPerSession = ${MAX_GROUPS}`,
        'ClientHandshakeTimeout = 1000',
        // Above the reader's lag (MAX_READER_LAG): only the client that never reads is dropped.
        `MaxSessionMessages = ${MAX_SESSION_MESSAGES}`,
        // A daemon stopped for less than this stalls the ring; for longer, the others re-form without it.
        'TokenTimeout = 3000',
        '',
      ].join('\n'),
    );
    for (const name of NAMES) {
      const proc = spawn(process.execPath, [BIN, 'daemon', '-c', conf, '-n', name, '--incarnation', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      daemons.push(watchDaemon(name, proc));
    }
    await waitFor(() => daemons.every((d) => d.out.some((l) => /regular configuration \S+: (\S+ ){2}\S+$/.test(l))), 'a ring of three');
  });

  after(async function () {
    for (const s of sockets) s.destroy();
    await Promise.all(sessions.map((s) => s.disconnect().catch(() => undefined)));
    for (const d of daemons) {
      if (d.exit) continue;
      d.proc.kill('SIGCONT');
      d.proc.kill('SIGTERM');
    }
    await Promise.race([Promise.all(daemons.map((d) => d.exited)), sleep(5000)]);
    for (const d of daemons) if (!d.exit) d.proc.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('creates each Unix socket with ClientSocketMode, owned by the daemon\'s user', function () {
    for (const name of NAMES) {
      const st = fs.statSync(path.join(tmp, `${port}-${name}`));
      assert.ok(st.isSocket(), name);
      assert.equal(st.mode & 0o777, 0o640, name);
      assert.equal(st.uid, process.getuid!(), name);
    }
  });

  it('accepts TCP clients only on the configured addresses', async function () {
    assert.equal(await tcpReach(ADDRS[0]!, port), 'connected');
    assert.equal(await tcpReach('127.0.0.9', port), 'ECONNREFUSED', 'no daemon listens on any other address');
  });

  it('IP auth: in from 127.0.0.1, REJECT_AUTH from 127.0.0.9 or without choosing IP', async function () {
    const denied = await raw(0, '127.0.0.9');
    denied.write(Buffer.concat([encodeConnect({ name: 'far', membership: true }), encodeAuthChoice(['IP'])]));
    assert.equal((await denied.closed()).toString('hex'), '084e554c4c20495020f7');
    const nullOnly = await raw(0, '127.0.0.1');
    nullOnly.write(Buffer.concat([encodeConnect({ name: 'nul', membership: true }), encodeAuthChoice(['NULL'])]));
    assert.equal((await nullOnly.closed()).toString('hex'), '084e554c4c20495020f7');
    await assert.rejects(connect({ daemon: daemonAddress(0), name: 'lib' }), { code: 'REJECT_AUTH' });
    const ok = await open(0, 'near');
    assert.equal(ok.privateGroup, '#near#d1');
    await ok.disconnect();
    // The Unix socket is local: IP lets it in.
    const viaUnix = await connect({ daemon: path.join(tmp, `${port}-d1`), authMethods: ['IP'] });
    await viaUnix.disconnect();
    const st = await statusOf(0);
    assert.ok((st.counters?.sessions?.rejected ?? 0) >= 3, JSON.stringify(st.counters?.sessions));
  });

  it('MaxSessions: connections that never finish their handshake count, the rest get REJECT_QUOTA, and they are closed after ClientHandshakeTimeout', async function () {
    const idle: RawClient[] = [];
    for (let i = 0; i < MAX_SESSIONS + 10; i++) idle.push(await raw(1));
    await waitFor(() => idle.filter((c) => c.ended).length >= 10, 'REJECT_QUOTA for the connections beyond MaxSessions');
    const quota = idle.filter((c) => c.ended);
    assert.ok(quota.every((c) => c.buffered.toString('hex') === 'fd'), 'each got the one byte REJECT_QUOTA');
    await waitFor(() => idle.every((c) => c.ended), 'the daemon to close the idle connections');
    const st = await statusOf(1);
    assert.ok((st.counters?.sessions?.handshakeTimeouts ?? 0) >= MAX_SESSIONS, JSON.stringify(st.counters?.sessions));
    assert.equal(st.sessions?.local, 1, 'only the status session itself');
  });

  it('MaxGroupsPerSession, and a flood of joins and leaves that leaves no group behind anywhere', async function () {
    const s = await open(2, 'joiner');
    const rejects: number[] = [];
    const joined = new Set<string>();
    s.on('reject', (m) => rejects.push(m.rejectedType));
    s.on('membership', (m) => {
      if (m.kind === 'regular' && m.cause === 'JOIN') joined.add(m.group);
    });
    for (let i = 0; i < MAX_GROUPS + 20; i++) void s.join(`j${i}`);
    await waitFor(() => rejects.length === 20, '20 joins sent back');
    assert.ok(rejects.every((t) => t === MessageType.CAUSED_BY_JOIN));
    for (let i = 0; i < MAX_GROUPS; i++) void s.leave(`j${i}`);
    for (let i = 0; i < 5000; i++) {
      void s.join(`f${i}`);
      void s.leave(`f${i}`);
    }
    // Requests are delivered in the order sent: once this join is back, all before it are through.
    void s.join('last');
    await waitFor(() => joined.has('last'), 'the last join');
    await waitFor(async () => (await statusOf(0)).groupCount === 1, 'no group left at d1 but the last one');
    const st = await statusOf(2);
    assert.equal(st.counters?.sessions?.joinsRefused, 20);
    assert.ok((st.counters?.memory?.heapUsed ?? Infinity) < HEAP_BOUND_MB * 1024 * 1024, JSON.stringify(st.counters?.memory));
    await s.disconnect();
  });

  it('memory stays bounded while a client floods, a member never reads, and a daemon is stopped for a while', async function () {
    const [d1, d2, d3] = daemons as [WatchedDaemon, WatchedDaemon, WatchedDaemon];
    const sender = await open(0, 'sender');
    const reader = await open(2, 'reader');
    let read = 0;
    reader.on('message', () => read++);
    let readerClosed: unknown = null;
    reader.on('close', (e: unknown) => (readerClosed = e ?? 'closed'));
    reader.on('membership', () => {});
    await reader.join('flood');
    // A member of the group that never reads: its daemon must let it go, not hold its backlog.
    const slow = await raw(2);
    await slow.connect('slow', { auth: ['IP'] });
    slow.send(MessageType.JOIN_MESS, ['flood']);
    slow.pause();

    let sending = true;
    let sent = 0;
    const payload = Buffer.alloc(1000, 7);
    const flood = (async () => {
      while (sending) {
        // The reader shares this process with the sender: never let it fall so far behind that
        // its daemon takes it for a client that does not read (MaxSessionMessages below). Without
        // this, a pause of this process late in a full run (the sender's socket buffer still
        // feeding d1) once got the reader dropped, and the test waited for it in vain.
        while (sent - read > MAX_READER_LAG && sending) await sleep(5);
        await sender.multicast('flood', payload, { service: 'AGREED', selfDiscard: true });
        sent++;
      }
    })();
    let floodError: unknown = null;
    flood.catch((e: unknown) => (floodError = e));
    // What the daemons say when the flood does not go: their sessions and ring counters.
    const diagnose = async (): Promise<string> => {
      const lines = [`read ${read}, sent ${sent}`];
      if (readerClosed) lines.push(`the reader's session ended: ${String(readerClosed)}`);
      if (floodError) lines.push(`the sender failed: ${String(floodError)}`);
      for (const i of [0, 2]) {
        const st = await statusOf(i).catch((e: Error) => e);
        lines.push(`${NAMES[i]}: ${st instanceof Error ? st.message : JSON.stringify(st.counters)}`);
      }
      return lines.join('\n');
    };
    /** waitFor, and on a timeout what the daemons, the reader and the sender saw. */
    const waitOrDiagnose = (test: () => boolean, what: string): Promise<void> =>
      waitFor(test, what, 60_000).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await diagnose()}`);
      });
    const peaks = new Map<string, number>();
    const sample = setInterval(() => {
      for (const d of [d1, d3]) peaks.set(d.name, Math.max(peaks.get(d.name) ?? 0, memoryOf(d.proc.pid!).rss));
    }, 50);
    try {
      const started = Date.now();
      await waitOrDiagnose(() => read > 20_000, 'the flood under way');
      say(`flood under way after ${Date.now() - started} ms: ${sent} sent, ${read} read`);
      // Shorter than TokenTimeout: the ring stalls and goes on; longer: it re-forms without d2,
      // which merges back when it runs again.
      for (const stopMs of [2000, 4500]) {
        const before = { sent, read };
        d2.proc.kill('SIGSTOP');
        await sleep(stopMs);
        d2.proc.kill('SIGCONT');
        say(`d2 stopped for ${stopMs} ms: meanwhile ${sent - before.sent} sent, ${read - before.read} read; d1 ${memoryOf(d1.proc.pid!).rss.toFixed(0)} MB, d3 ${memoryOf(d3.proc.pid!).rss.toFixed(0)} MB`);
        const resumed = read;
        // Generous: a merge on a loaded CI machine can take a few seconds.
        await waitOrDiagnose(() => read > resumed + 20_000, `the flood going on after d2 is back (read ${resumed} then)`);
      }
    } finally {
      sending = false;
      clearInterval(sample);
    }
    await flood;
    const st1 = await statusOf(0);
    const st3 = await statusOf(2);
    for (const [d, st] of [
      [d1, st1],
      [d3, st3],
    ] as const) {
      const m = memoryOf(d.proc.pid!);
      say(`${d.name}: peak RSS ${m.peak.toFixed(0)} MB (sampled ${peaks.get(d.name)?.toFixed(0)} MB), now ${m.rss.toFixed(0)} MB, heapUsed ${((st.counters?.memory?.heapUsed ?? 0) / 2 ** 20).toFixed(0)} MB, stored packets ${st.counters?.memory?.storedPackets}`);
      assert.ok(m.peak < RSS_BOUND_MB, `${d.name}: peak RSS ${m.peak} MB\n${showOutput(d)}`);
      assert.ok((st.counters?.memory?.heapUsed ?? Infinity) < HEAP_BOUND_MB * 2 ** 20, JSON.stringify(st.counters?.memory));
    }
    assert.ok((st3.counters?.sessions?.tooSlow ?? 0) >= 1, `d3 dropped the client that never reads: ${JSON.stringify(st3.counters?.sessions)}`);
    await slow.closed(10_000).catch(() => undefined);
    assert.equal(d1.exit, undefined, 'd1 still runs');
    assert.equal(d3.exit, undefined, 'd3 still runs');
  });
});
