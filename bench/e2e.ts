// End to end: three real daemon processes on 127.0.0.1–3 over UDP, each making its own test
// traffic (`ringcast daemon --generate N --expect M`) and printing one "done" line with its
// throughput and latency figures once it has delivered M messages from all senders.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markdownTable, num, progress, sizeLabel } from './format';
import { findProfile, summarizeProfile, type ProfileSummary, type SelfTime } from './profile';
import { freeUdpPort } from '../test/support/repo';
import { writeAuthKey } from '../src/config/authKey';

const DIST_SRC = path.resolve(__dirname, '../src');
/** The CLI as installed (bin/ringcast.js loads dist/src/cli/main.js). */
const BIN = path.resolve(__dirname, '../../bin/ringcast.js');
const DAEMONS = [
  { name: 'd1', address: '127.0.0.1' },
  { name: 'd2', address: '127.0.0.2' },
  { name: 'd3', address: '127.0.0.3' },
];
const RUN_TIMEOUT_MS = 60_000;
const KILL_GRACE_MS = 2_000;

export interface E2eCase {
  size: number;
  service: 'AGREED' | 'SAFE';
  senders: 1 | 3;
  /** Messages in total, over all senders; every daemon expects all of them. */
  messages: number;
  /** Authenticated daemon traffic (AuthKeyFile), encrypted too with 'encrypt'; default none. */
  auth?: 'mac' | 'encrypt';
}

/** The daemon's `{"event":"done",…}` line (src/daemon/trafficGenerator.ts). */
interface DoneReport {
  daemon: string;
  sent: number;
  delivered: number;
  elapsedMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The daemon's RingCore counters when it reported (a subset is used). */
  counters?: { rotations: number; retransmitsSent: number; tokenRetransmits: number; packetsSent: number };
}

export interface E2eResult extends E2eCase {
  reports: DoneReport[];
  /** Mean over the daemons that did not send (all three when all send). */
  msgsPerSec: number;
  mbPerSec: number;
  /** Mean of the senders' percentiles; max is the largest of theirs. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Token rotations per second, counted by the ring's leader over its whole run: approximate. */
  rotationsPerSec: number;
  /** Data packets sequenced per rotation, all daemons together. */
  packetsPerRotation: number;
  /** Data packets retransmitted and tokens retransmitted, summed over daemons. */
  retransmits: number;
  tokenRetransmits: number;
  /** Empty when all three daemons reported. */
  problem: string;
}

export function e2eCases(quick: boolean): E2eCase[] {
  const scale = quick ? 10 : 1;
  return [
    { size: 1024, service: 'AGREED', senders: 1, messages: 100_000 / scale },
    { size: 1024, service: 'AGREED', senders: 3, messages: 100_000 / scale },
    { size: 1024, service: 'SAFE', senders: 1, messages: 100_000 / scale },
    { size: 1024, service: 'SAFE', senders: 3, messages: 100_000 / scale },
    { size: 100, service: 'AGREED', senders: 3, messages: 300_000 / scale },
    { size: 8192, service: 'AGREED', senders: 3, messages: 30_000 / scale },
  ];
}

// Live daemons of every run, so an exiting bench process never leaves one behind.
const live = new Set<ChildProcess>();
const snapshots = new Set<string>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of snapshots) fs.rmSync(dir, { recursive: true, force: true });
});

export interface BuildSnapshot {
  /** A script that runs the snapshot's CLI, like bin/ringcast.js. */
  launcher: string;
  remove(): void;
}

/**
 * Copies dist/src so every daemon of a bench run runs the same build even if dist/ is rebuilt
 * meanwhile (others compile in this tree while benchmarks run). The copy lives under dist/ so
 * the daemons still find node_modules.
 */
export function snapshotBuild(): BuildSnapshot {
  const dir = fs.mkdtempSync(path.join(path.dirname(DIST_SRC), '.bench-snapshot-'));
  snapshots.add(dir);
  fs.cpSync(DIST_SRC, path.join(dir, 'src'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
  const launcher = path.join(dir, 'ringcast.js');
  fs.writeFileSync(launcher, "require('./src/cli/main.js').main(process.argv.slice(2));\n");
  return {
    launcher,
    remove: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      snapshots.delete(dir);
    },
  };
}

function writeConfig(dir: string, port: number, auth?: E2eCase['auth']): string {
  const file = path.join(dir, 'spread.conf');
  const hosts = DAEMONS.map((d) => `    ${d.name} ${d.address}`).join('\n');
  let options = '';
  if (auth) {
    writeAuthKey(path.join(dir, 'authkey'));
    options = `AuthKeyFile = authkey\nEncryption = ${auth === 'encrypt' ? 'on' : 'off'}\n`;
  }
  fs.writeFileSync(file, `# written by bench/e2e.ts for one run\n${options}Spread_Segment 127.0.0.255:${port} {\n${hosts}\n}\n`);
  return file;
}

/** SIGTERM, then SIGKILL if it has not exited after the grace period. */
function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      live.delete(child);
      return resolve();
    }
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(killer);
      live.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface RunOptions {
  /** The CLI script to run daemons with (default bin/ringcast.js, the live build). */
  launcher?: string;
  /** Profile this daemon with node --cpu-prof; the profile is written when it exits. */
  profileDaemon?: string;
}

interface RawRun {
  reports: DoneReport[];
  problem: string;
  profile?: ProfileSummary;
}

async function runOnce(c: E2eCase, opts: RunOptions = {}): Promise<RawRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-bench-'));
  const children: ChildProcess[] = [];
  const reports = new Map<string, DoneReport>();
  let problem = '';
  try {
    const conf = writeConfig(dir, await freeUdpPort(DAEMONS.map((d) => d.address), true), c.auth);
    const profDir = path.join(dir, 'prof');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        problem = `timed out after ${RUN_TIMEOUT_MS / 1000} s (${reports.size}/3 daemons reported)`;
        resolve();
      }, RUN_TIMEOUT_MS);
      const finish = (why = '') => {
        if (why && !problem) problem = why;
        clearTimeout(timer);
        resolve();
      };
      DAEMONS.forEach((d, i) => {
        // One sender: d1 sends everything. Three: each sends a third (the first ones take the remainder).
        const share = c.senders === 1 ? (i === 0 ? c.messages : 0) : Math.floor(c.messages / 3) + (i < c.messages % 3 ? 1 : 0);
        const nodeFlags = opts.profileDaemon === d.name ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
        const args = [
          ...nodeFlags, opts.launcher ?? BIN, 'daemon', '-c', conf, '-n', d.name,
          '--generate', String(share), '--expect', String(c.messages),
          '--size', String(c.size), '--service', c.service,
        ];
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        live.add(child);
        let stderr = '';
        let pending = '';
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            if (!line.startsWith('{')) continue; // the daemon's own log lines
            let msg: { event?: string } & DoneReport;
            try {
              msg = JSON.parse(line) as { event?: string } & DoneReport;
            } catch {
              continue;
            }
            if (msg.event !== 'done') continue;
            reports.set(d.name, msg);
            if (reports.size === DAEMONS.length) finish();
          }
        });
        child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.once('exit', (code, signal) => {
          if (!reports.has(d.name)) finish(`${d.name} exited (${signal ?? code}) before reporting: ${stderr.trim().split('\n').pop() ?? ''}`);
        });
      });
    });
    await Promise.all(children.map(stop));
    let profile: ProfileSummary | undefined;
    if (opts.profileDaemon) {
      const file = findProfile(profDir);
      if (file) profile = summarizeProfile(file, 25);
      else if (!problem) problem = `no .cpuprofile from ${opts.profileDaemon} (killed before it could write one?)`;
    }
    return { reports: DAEMONS.map((d) => reports.get(d.name)).filter((r): r is DoneReport => !!r), problem, profile };
  } finally {
    await Promise.all(children.map(stop));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mean = (xs: number[]) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

export async function runE2eCase(c: E2eCase, launcher?: string): Promise<E2eResult> {
  const { reports, problem } = await runOnce(c, { launcher });
  // Throughput as a receiver sees it: with one sender, the two daemons that only receive;
  // with three, every daemon both sends and receives, so all of them.
  const receivers = c.senders === 1 ? reports.filter((r) => r.sent === 0) : reports;
  const senders = reports.filter((r) => r.sent > 0);
  // Only the ring's leader counts rotations; which daemon leads is membership's choice.
  const leader = reports.reduce<DoneReport | undefined>((best, r) => ((r.counters?.rotations ?? 0) > (best?.counters?.rotations ?? 0) ? r : best), undefined);
  const rotations = leader?.counters?.rotations ?? NaN;
  const sum = (pick: (r: DoneReport) => number | undefined) => reports.reduce((n, r) => n + (pick(r) ?? NaN), 0);
  return {
    ...c,
    reports,
    msgsPerSec: mean(receivers.map((r) => r.msgsPerSec)),
    mbPerSec: mean(receivers.map((r) => r.mbPerSec)),
    latencyMs: {
      p50: mean(senders.map((r) => r.latencyMs.p50)),
      p90: mean(senders.map((r) => r.latencyMs.p90)),
      p99: mean(senders.map((r) => r.latencyMs.p99)),
      max: Math.max(...senders.map((r) => r.latencyMs.max)),
    },
    rotationsPerSec: leader ? rotations / (leader.elapsedMs / 1000) : NaN,
    packetsPerRotation: sum((r) => r.counters?.packetsSent) / rotations,
    retransmits: sum((r) => r.counters?.retransmitsSent),
    tokenRetransmits: sum((r) => r.counters?.tokenRetransmits),
    problem,
  };
}

export async function runE2e(opts: { quick: boolean; launcher?: string }): Promise<E2eResult[]> {
  const results: E2eResult[] = [];
  for (const c of e2eCases(opts.quick)) {
    progress(`e2e: ${caseLabel(c)}, ${num(c.messages)} messages…`);
    const r = await runE2eCase(c, opts.launcher);
    results.push(r);
    progress(`e2e: ${caseLabel(c)}: ${num(r.msgsPerSec)} msgs/s, ${r.mbPerSec.toFixed(1)} MB/s${r.problem ? ` — ${r.problem}` : ''}`);
  }
  return results;
}

/** One 1 KB AGREED three-sender run with d2 under node --cpu-prof (figures of that run are not reported). */
export async function profileE2e(opts: { quick: boolean; launcher?: string }): Promise<{ daemon: string; summary?: ProfileSummary; problem: string }> {
  const daemon = 'd2';
  const c: E2eCase = { size: 1024, service: 'AGREED', senders: 3, messages: 100_000 / (opts.quick ? 10 : 1) };
  progress(`e2e: profiling ${daemon} in ${caseLabel(c)}…`);
  const r = await runOnce(c, { launcher: opts.launcher, profileDaemon: daemon });
  if (r.profile) logProfile(r.profile);
  return { daemon, summary: r.profile, problem: r.problem };
}

function caseLabel(c: E2eCase): string {
  return `${sizeLabel(c.size)} ${c.service}, ${c.senders} sender${c.senders > 1 ? 's' : ''}${c.auth ? `, auth ${c.auth}` : ''}`;
}

export function e2eMarkdown(results: E2eResult[], prof?: Awaited<ReturnType<typeof profileE2e>>): string {
  const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  const rows = results.map((r) => [
    sizeLabel(r.size),
    r.service,
    r.senders,
    num(r.messages),
    r.problem ? `failed: ${r.problem}` : num(r.msgsPerSec),
    r.problem ? '' : f1(r.mbPerSec),
    r.problem ? '' : `${f1(r.latencyMs.p50)} / ${f1(r.latencyMs.p90)} / ${f1(r.latencyMs.p99)} / ${f1(r.latencyMs.max)}`,
    r.problem ? '' : num(r.rotationsPerSec),
    r.problem ? '' : f1(r.packetsPerRotation),
    r.problem ? '' : `${num(r.retransmits)} / ${num(r.tokenRetransmits)}`,
  ]);
  const parts = [
    '### End to end: 3 daemons on 127.0.0.1–3, UDP',
    '',
    'Each daemon generates its share of the messages itself (`ringcast daemon --generate --expect`, at most 2000 of ' +
      'its own undelivered at a time) and times from its first delivery to its last. **msgs/s**, **MB/s** (10⁶ bytes of ' +
      'payload): mean over the daemons that do not send (one sender) or over all three (three senders). **Latency**: ' +
      'submit to own delivery at the senders, mean of their percentiles (max: the largest); with 2000 messages in ' +
      'flight per sender it is mostly queueing, a throughput-mode figure, not an idle-ring one. **rotations/s**: token ' +
      'rotations counted by the leader ÷ its measured time (approximate: the count includes start-up); **packets/rot.**: ' +
      'data packets sequenced per rotation, all daemons; **rtx**: data packets / tokens retransmitted, all daemons.',
    '',
    markdownTable(
      ['size', 'service', '>senders', '>messages', '>msgs/s', '>MB/s', '>latency p50 / p90 / p99 / max (ms)', '>rotations/s', '>packets/rot.', '>rtx'],
      rows,
    ),
  ];
  if (prof) parts.push('', profileMarkdown(prof));
  return parts.join('\n');
}

function profileMarkdown(prof: Awaited<ReturnType<typeof profileE2e>>): string {
  if (!prof.summary) return `Profile of ${prof.daemon}: not available (${prof.problem || 'no profile written'}).`;
  const s = prof.summary;
  const busyPct = s.totalMs > 0 ? (100 * s.busyMs) / s.totalMs : 0;
  const list = (xs: SelfTime[], n: number) =>
    xs
      .slice(0, n)
      .map((t) => `${t.fn.replace(/\|/g, '\\|')} ${t.pct.toFixed(1)}%`)
      .join(', ');
  return (
    `**Where the time goes** (node --cpu-prof on ${prof.daemon} in a separate 1 KB AGREED 3-sender run, busy ` +
    `${busyPct.toFixed(0)}% of ${(s.totalMs / 1000).toFixed(1)} s sampled; self time as a share of busy time). ` +
    `By area: ${list(s.areas, 7)}.\nTop functions: ${list(s.top, 10)}.`
  );
}

/** The whole summary, for the log of the run (stderr). */
function logProfile(s: ProfileSummary): void {
  progress(`profile: sampled ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms`);
  for (const t of s.areas) progress(`profile area: ${t.pct.toFixed(1).padStart(5)}% ${t.ms.toFixed(0).padStart(6)} ms  ${t.fn}`);
  for (const t of s.top) progress(`profile fn:   ${t.pct.toFixed(1).padStart(5)}% ${t.ms.toFixed(0).padStart(6)} ms  ${t.fn}`);
}
