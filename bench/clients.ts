// End to end through the client protocol: three `ringcast daemon` processes on 127.0.0.1–3
// (one port, TCP clients) and `ringcast flood` clients, against the Spread 5.0.1 figures of the
// daemon issue (same kind of machine: ≈ 52–56k msgs/s with one sender, 61–80k with three, ping
// through the ring ≈ 0.38 ms).
//
//   npx tsc -p . && node dist/bench/clients.js [--count N] [--rounds R] [--pings N] [--quick] [--write]
//
// (1) one sender at d1 and two readers (at d2, d3), 1 KB AGREED, N messages (default 100,000);
// (2) three senders, one per daemon, 1 KB AGREED, N/3 messages each (every client delivers N);
// each R times (default 3) on the same ring, a fresh group per round; the table gives the median
// round (by msgs/s) and the range. msgs/s and MB/s (10⁶ bytes) are each client's deliveries ÷ its
// time from the start of sending (senders) or its first delivery (readers) to its last delivery,
// averaged over the clients; latency is send → own delivery at the senders, with --window 1000
// messages in flight (a throughput-mode figure, mostly queueing); daemon CPU is each daemon's
// user + system time over the round's wall time (Linux /proc), averaged.
// (3) ping: one client, one message in flight (`flood --window 1`, 100 B AGREED), --pings times
// (default 1000, after 200 not counted), send → own delivery: on a ring of one daemon, and from d1
// on the ring of three.
// --write appends the Markdown section to bench/RESULTS.md. Daemons and clients run a copy of
// dist/src taken at the start (snapshotBuild), so a rebuild meanwhile cannot mix versions.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { snapshotBuild } from './e2e';
import { markdownTable, num, progress } from './format';
import { freeUdpPort } from '../test/support/repo';

const ROOT = path.resolve(__dirname, '../..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md');
const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const HOSTS = ['d1', 'd2', 'd3'];
const SIZE = 1000;
const PING_SIZE = 100;
const PING_WARMUP = 200;
const RING_WAIT_MS = 15_000;
const FLOOD_TIMEOUT_MS = 180_000;

interface Latency {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** `ringcast flood --json` (src/cli/flood.ts floodJson). */
interface FloodJson {
  msgsPerSec: number;
  mbPerSec: number;
  latencyMs: Latency | null;
  messages: number;
  seconds: number;
  complete: boolean;
  privateGroup: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Ring {
  port: number;
  daemons: ChildProcess[];
  /** CPU seconds (user + system) each daemon has used so far (Linux /proc). */
  cpu(): number[];
  /** The daemons' last output lines (for errors). */
  tail(): string;
  stop(): Promise<void>;
}

function cpuSeconds(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** Starts `n` daemons (d1…dn) and waits for their n-member ring. */
async function startRing(launcher: string, dir: string, n: number): Promise<Ring> {
  const port = await freeUdpPort(ADDRS, true);
  const conf = path.join(dir, `spread-${n}.conf`);
  fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n${HOSTS.slice(0, n).map((h, i) => `    ${h} ${ADDRS[i]}\n`).join('')}}\n`);
  const ready = new Set<string>();
  const out: string[] = [];
  const daemons = HOSTS.slice(0, n).map((name) => {
    const child = spawn(process.execPath, [launcher, 'daemon', '-c', conf, '-n', name, '--socket', 'none', '--incarnation', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', (code, signal) => {
      live.delete(child);
      out.push(`${name} exited (${code ?? signal})`);
    });
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      out.push(`${name}: ${l}`);
      const m = /: regular configuration \S+: (.*)$/.exec(l);
      if (m && m[1]!.trim().split(/\s+/).length === n) ready.add(name);
    });
    readline.createInterface({ input: child.stderr! }).on('line', (l) => out.push(`${name} stderr: ${l}`));
    return child;
  });
  const t0 = Date.now();
  while (ready.size < n) {
    if (Date.now() - t0 > RING_WAIT_MS) throw new Error(`no ${n}-member ring within ${RING_WAIT_MS} ms:\n${out.slice(-10).join('\n')}`);
    await sleep(20);
  }
  await sleep(200);
  return {
    port,
    daemons,
    cpu: () => daemons.map((d) => cpuSeconds(d.pid)),
    tail: () => out.slice(-12).join('\n'),
    stop: async () => {
      await Promise.all(
        daemons.map(
          (d) =>
            new Promise<void>((resolve) => {
              if (d.exitCode !== null || d.signalCode !== null) return resolve();
              d.once('exit', () => resolve());
              d.kill('SIGTERM');
              setTimeout(() => d.kill('SIGKILL'), 3000).unref();
            }),
        ),
      );
    },
  };
}

/** Runs one `ringcast flood --json` client; resolves with its report. */
function flood(launcher: string, args: string[]): Promise<FloodJson> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [launcher, 'flood', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), FLOOD_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as FloodJson;
        if (code !== 0 || !r.complete) throw new Error(`exit ${code ?? signal}`);
        resolve(r);
      } catch (e) {
        reject(new Error(`ringcast flood ${args.join(' ')}: ${(e as Error).message}\n${stderr.trim()}\n${stdout.trim()}`));
      }
    });
  });
}

/** The `sessions` counters of a daemon's status, as one line. */
function sessionCounters(launcher: string, daemon: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [launcher, 'status', '--daemon', daemon, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', () => {
      try {
        const s = (JSON.parse(out) as { status: { counters: { sessions: Record<string, number> } } }).status.counters.sessions;
        resolve(`${daemon}: ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      } catch {
        resolve(`${daemon}: no status`);
      }
    });
  });
}

interface Round {
  msgsPerSec: number;
  mbPerSec: number;
  /** Mean of the senders' percentiles (max: the largest). */
  latency: Latency;
  /** Mean daemon CPU share of one core over the round. */
  daemonCpu: number;
}

function meanOf(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function meanLatency(ls: Latency[]): Latency {
  const m = (k: keyof Latency) => meanOf(ls.map((l) => l[k]));
  return { count: ls.reduce((a, l) => a + l.count, 0), min: Math.min(...ls.map((l) => l.min)), mean: m('mean'), p50: m('p50'), p90: m('p90'), p99: m('p99'), p999: m('p999'), max: Math.max(...ls.map((l) => l.max)) };
}

async function measured(ring: Ring, run: () => Promise<FloodJson[]>): Promise<{ reports: FloodJson[]; daemonCpu: number }> {
  const cpu0 = ring.cpu();
  const t0 = Date.now();
  const reports = await run();
  const wall = (Date.now() - t0) / 1000;
  const cpu1 = ring.cpu();
  return { reports, daemonCpu: meanOf(cpu1.map((c, i) => (c - cpu0[i]!) / wall)) };
}

/** One sender at d1 (waits for the two readers), readers at d2 and d3. */
async function oneSender(launcher: string, ring: Ring, count: number, group: string): Promise<Round> {
  const common = ['--group', group, '--size', String(SIZE), '--service', 'AGREED', '--count', String(count)];
  const { reports, daemonCpu } = await measured(ring, () =>
    Promise.all([
      flood(launcher, ['--daemon', `${ring.port}@${ADDRS[0]}`, '--senders', '1', '--members', '3', ...common]),
      flood(launcher, ['--daemon', `${ring.port}@${ADDRS[1]}`, '--senders', '1', '--read-only', ...common]),
      flood(launcher, ['--daemon', `${ring.port}@${ADDRS[2]}`, '--senders', '1', '--read-only', ...common]),
    ]),
  );
  return {
    msgsPerSec: meanOf(reports.map((r) => r.msgsPerSec)),
    mbPerSec: meanOf(reports.map((r) => r.mbPerSec)),
    latency: reports[0]!.latencyMs!,
    daemonCpu,
  };
}

/** Three senders, one per daemon, `count` messages each. */
async function threeSenders(launcher: string, ring: Ring, count: number, group: string): Promise<Round> {
  const common = ['--group', group, '--size', String(SIZE), '--service', 'AGREED', '--count', String(count), '--senders', '3'];
  const { reports, daemonCpu } = await measured(ring, () => Promise.all(ADDRS.map((a) => flood(launcher, ['--daemon', `${ring.port}@${a}`, ...common]))));
  return {
    msgsPerSec: meanOf(reports.map((r) => r.msgsPerSec)),
    mbPerSec: meanOf(reports.map((r) => r.mbPerSec)),
    latency: meanLatency(reports.map((r) => r.latencyMs!)),
    daemonCpu,
  };
}

async function ping(launcher: string, ring: Ring, pings: number, group: string): Promise<Latency> {
  const args = ['--daemon', `${ring.port}@${ADDRS[0]}`, '--senders', '1', '--window', '1', '--size', String(PING_SIZE), '--service', 'AGREED'];
  await flood(launcher, [...args, '--group', `${group}w`, '--count', String(PING_WARMUP)]);
  return (await flood(launcher, [...args, '--group', group, '--count', String(pings)])).latencyMs!;
}

function median<T>(rounds: T[], key: (t: T) => number): T {
  return [...rounds].sort((a, b) => key(a) - key(b))[Math.floor((rounds.length - 1) / 2)]!;
}

function commit(): string {
  try {
    const rev = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${rev} + uncommitted changes` : rev;
  } catch {
    return 'unknown';
  }
}

function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}; load average at start ${load}`;
}

interface Options {
  count: number;
  rounds: number;
  pings: number;
  write: boolean;
  quick: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { count: 100_000, rounds: 3, pings: 1000, write: false, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${a} takes a positive whole number`);
      return v;
    };
    if (a === '--count') o.count = value();
    else if (a === '--rounds') o.rounds = value();
    else if (a === '--pings') o.pings = value();
    else if (a === '--write') o.write = true;
    else if (a === '--quick') o.quick = true;
    else throw new Error(`unknown argument "${a}" (usage: node dist/bench/clients.js [--count N] [--rounds R] [--pings N] [--quick] [--write])`);
  }
  if (o.quick) {
    o.count = Math.min(o.count, 20_000);
    o.rounds = 1;
    o.pings = Math.min(o.pings, 300);
  }
  return o;
}

const ms = (x: number): string => num(x, 2);
const lat = (l: Latency): string => `${num(l.p50, 1)} / ${num(l.p90, 1)} / ${num(l.p99, 1)} / ${num(l.max, 1)}`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseArgs(argv);
  const started = new Date();
  const header = [
    `## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC — clients (bench/clients.ts)${o.quick ? ' (quick)' : ''}`,
    '',
    `- Machine: ${machine()}`,
    `- Commit: ${commit()}`,
    `- Command: \`npx tsc -p . && node dist/bench/clients.js${argv.length > 0 ? ` ${argv.join(' ')}` : ''}\``,
  ];
  const build = snapshotBuild();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-bench-clients-'));
  const one: Round[] = [];
  const three: Round[] = [];
  let ping3: Latency;
  let ping1: Latency;
  try {
    const ring = await startRing(build.launcher, dir, 3);
    try {
      progress(`ring of three on port ${ring.port}`);
      try {
        for (let r = 1; r <= o.rounds; r++) {
          one.push(await oneSender(build.launcher, ring, o.count, `one${r}`));
          progress(`round ${r}: one sender ${num(one.at(-1)!.msgsPerSec)} msgs/s`);
          three.push(await threeSenders(build.launcher, ring, Math.round(o.count / 3), `three${r}`));
          progress(`round ${r}: three senders ${num(three.at(-1)!.msgsPerSec)} msgs/s`);
        }
      } catch (e) {
        // What the daemons say of their sessions (a client disconnected for not reading: tooSlow).
        const said = await Promise.all(ADDRS.map((a) => sessionCounters(build.launcher, `${ring.port}@${a}`)));
        throw new Error(`${(e as Error).message}
session counters: ${said.join('; ')}`);
      }
      ping3 = await ping(build.launcher, ring, o.pings, 'ping3');
      progress(`ping through the ring of three: median ${ms(ping3.p50)} ms`);
    } finally {
      await ring.stop();
    }
    const solo = await startRing(build.launcher, dir, 1);
    try {
      ping1 = await ping(build.launcher, solo, o.pings, 'ping1');
      progress(`ping on one daemon: median ${ms(ping1.p50)} ms`);
    } finally {
      await solo.stop();
    }
  } finally {
    build.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const row = (label: string, messages: string, rounds: Round[], spread: string) => {
    const m = median(rounds, (r) => r.msgsPerSec);
    const range = rounds.length > 1 ? ` (${num(Math.min(...rounds.map((r) => r.msgsPerSec)))}–${num(Math.max(...rounds.map((r) => r.msgsPerSec)))})` : '';
    return [label, messages, `${num(m.msgsPerSec)}${range}`, num(m.mbPerSec, 1), lat(m.latency), `${num(m.daemonCpu * 100)}%`, spread];
  };
  const minutes = (Date.now() - started.getTime()) / 60_000;
  header.push(`- Took ${minutes.toFixed(1)} min`);
  const section = [
    ...header,
    '',
    `Three \`ringcast daemon\` processes on 127.0.0.1–3 (one port, \`--socket none\`), clients are \`ringcast flood\` processes over TCP, all on this machine. 1 KB = ${SIZE}-byte AGREED messages, default \`--window 1000\`. **msgs/s** and **MB/s** (10⁶ bytes): deliveries ÷ time, mean over the clients, median of ${o.rounds} round(s) (range in brackets). **Latency**: send → own delivery at the sender(s), in throughput mode (up to 1000 in flight). **daemon CPU**: mean share of one core per daemon over the round (the clients' start-up, ~0.5 s, included). Spread 5.0.1 figures: from the daemon issue (same kind of machine).`,
    '',
    markdownTable(
      ['case', '>messages per client', '>msgs/s', '>MB/s', '>latency p50 / p90 / p99 / max (ms)', '>daemon CPU', '>Spread 5.0.1 msgs/s'],
      [
        row('1 sender (d1) + 2 readers (d2, d3)', num(o.count), one, '≈ 52,000–56,000'),
        row('3 senders (one per daemon)', num(3 * Math.round(o.count / 3)), three, '≈ 61,000–80,000'),
      ],
    ),
    '',
    `Ping: one client, one ${PING_SIZE}-byte AGREED message in flight (\`flood --window 1\`), ${num(o.pings)} times after ${PING_WARMUP} not counted; send → own delivery.`,
    '',
    markdownTable(
      ['ring', '>median (ms)', '>p90', '>p99', '>max', '>Spread 5.0.1'],
      [
        ['one daemon', ms(ping1!.p50), ms(ping1!.p90), ms(ping1!.p99), ms(ping1!.max), ''],
        ['three daemons (client at d1)', ms(ping3!.p50), ms(ping3!.p90), ms(ping3!.p99), ms(ping3!.max), '≈ 0.38 ms'],
      ],
    ),
    '',
  ].join('\n');
  process.stdout.write(section);
  if (o.write) {
    const existing = fs.existsSync(RESULTS_FILE) ? fs.readFileSync(RESULTS_FILE, 'utf8') : '# ringcast benchmark results\n';
    fs.writeFileSync(RESULTS_FILE, `${existing.trimEnd()}\n\n${section}`);
    progress(`appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/clients: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
