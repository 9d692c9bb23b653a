// Membership timings of real daemons against the targets of the membership issue: three
// `ringcast daemon` processes with the default timeouts, inside a network namespace this
// benchmark creates (127.0.0.1/.2/.3 on its own loopback; partitions are nftables rules there).
//
//   npx tsc -p . && node dist/bench/membership.js [--rounds N] [--flood SECONDS] [--write]
//
// (a) cold start: spawning the first of three processes (all at once) → the last daemon logs a
//     3-member regular configuration;
// (b) kill -9 of one daemon → the last survivor logs the 2-member ring;
// (c) restart of that daemon (new incarnation) → the last daemon logs the 3-member ring;
// (d) partition heal: one daemon cut off by nftables until the 2+1 split is installed, then
//     the rule deleted → the last daemon logs the 3-member ring;
// (e) a full-speed flood (3 senders, 1 KB AGREED, --generate large) for 60 s: configuration
//     changes after the first 3-member ring (should be none).
// (a)–(d) are repeated --rounds times (default 5), each round with fresh daemons. Times are this
// process's clock (hrtime) when a daemon's stdout line arrives. Needs root (namespace, nft) and
// `nft` (apt-get install nftables). --write appends the Markdown section to bench/RESULTS.md.
import { execSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { markdownTable, num, progress } from './format';
import { repoRoot } from '../test/support/repo';

const ROOT = repoRoot();
const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md');
const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const HOSTS = ['d1', 'd2', 'd3'];
const NS = `rc-bench-${process.pid}`;
const WAIT_MS = 15_000;

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  return r.stdout;
}

/** Runs a command without blocking the event loop (so stdout lines keep their arrival times). */
function shAsync(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.trim()}`))));
    p.stdin.end(input ?? '');
  });
}

// ---------------------------------------------------------------------------------------
// the daemons

/** A copy of dist/src, so that rebuilds by others during the run do not change what runs. */
let launcher = '';
let snapshotDir = '';
function snapshot(): void {
  const distSrc = path.join(ROOT, 'dist', 'src');
  if (!fs.existsSync(path.join(distSrc, 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
  snapshotDir = fs.mkdtempSync(path.join(ROOT, 'dist', '.bench-membership-'));
  fs.cpSync(distSrc, path.join(snapshotDir, 'src'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
  launcher = path.join(snapshotDir, 'ringcast.js');
  fs.writeFileSync(launcher, "require('./src/cli/main.js').main(process.argv.slice(2));\n");
}

interface Regular {
  ring: string;
  members: string[];
  /** hrtime (ms) when the line arrived. */
  at: number;
}

interface Life {
  name: string;
  proc: ChildProcess;
  spawnedAt: number;
  listeningAt?: number;
  regular?: Regular;
  /** Every configuration line (regular and transitional) with its arrival time. */
  confs: { kind: string; ring: string; members: string[]; at: number }[];
  out: string[];
  err: string[];
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited: Promise<void>;
}

const CONF_LINE = / \S+: (regular|transitional) configuration (\S+):(.*)$/; // after the log's stamp and level
const lives = new Set<Life>();
let wake: (() => void) | undefined;

function startDaemon(conf: string, host: string, incarnation: number, extra: string[] = []): Life {
  const name = incarnation === 1 ? host : `${host}@${incarnation}`;
  const spawnedAt = nowMs();
  const proc = spawn('ip', ['netns', 'exec', NS, process.execPath, launcher, 'daemon', '-c', conf, '-n', host, '--incarnation', String(incarnation), ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const l: Life = { name, proc, spawnedAt, confs: [], out: [], err: [], exited: Promise.resolve() };
  l.exited = new Promise((resolve) =>
    proc.once('exit', (code, signal) => {
      l.exit = { code, signal };
      lives.delete(l);
      wake?.();
      resolve();
    }),
  );
  readline.createInterface({ input: proc.stderr! }).on('line', (x) => l.err.push(x));
  readline.createInterface({ input: proc.stdout! }).on('line', (x) => {
    const at = nowMs();
    if (l.out.length < 200) l.out.push(x);
    const m = CONF_LINE.exec(x);
    if (m) {
      const members = m[3].trim().split(/\s+/).filter(Boolean);
      l.confs.push({ kind: m[1], ring: m[2], members, at });
      if (m[1] === 'regular') l.regular = { ring: m[2], members, at };
      wake?.();
    } else if (l.listeningAt === undefined && x.includes(': listening on ')) {
      l.listeningAt = at;
    }
  });
  lives.add(l);
  return l;
}

/** Every life of `group` has installed the same regular configuration, of exactly `group`. */
function together(group: Life[]): boolean {
  const r = group[0].regular;
  if (!r || r.members.length !== group.length) return false;
  return group.every((l) => l.regular?.ring === r.ring && r.members.includes(l.name));
}

/** Resolves with the arrival time of the last line that made every group `together`. */
async function waitTogether(groups: Life[][], what: string): Promise<number> {
  const deadline = nowMs() + WAIT_MS;
  while (!groups.every(together)) {
    if (nowMs() > deadline) {
      const state = groups.flat().map((l) => `${l.name}: ${l.regular ? `${l.regular.ring} [${l.regular.members.join(' ')}]` : '-'}`).join('; ');
      throw new Error(`no ${what} within ${WAIT_MS / 1000} s (${state})`);
    }
    await new Promise<void>((r) => {
      const t = setTimeout(r, 50);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
    wake = undefined;
  }
  return Math.max(...groups.flat().map((l) => l.regular!.at));
}

async function stopAll(): Promise<void> {
  const all = [...lives];
  for (const l of all) l.proc.kill('SIGTERM');
  const t = setTimeout(() => all.forEach((l) => l.exit || l.proc.kill('SIGKILL')), 3000);
  await Promise.all(all.map((l) => l.exited));
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------
// the measurements

interface Round {
  coldStart: number;
  /** Spawn → last "listening" line: process start-up, included in coldStart. */
  coldStartup: number;
  /** Last "listening" line → 3-member ring: the protocol's part of coldStart. */
  coldProtocol: number;
  kill: number;
  restart: number;
  restartStartup: number;
  restartProtocol: number;
  split: number;
  heal: number;
}

const PARTITION = `table inet rcbench {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${ADDRS[2]} ip daddr { ${ADDRS[0]}, ${ADDRS[1]} } drop
    ip saddr { ${ADDRS[0]}, ${ADDRS[1]} } ip daddr ${ADDRS[2]} drop
  }
}
`;

async function round(conf: string): Promise<Round> {
  // (a) cold start
  const t0 = nowMs();
  const [d1, d2, d3] = HOSTS.map((h) => startDaemon(conf, h, 1));
  const tA = await waitTogether([[d1, d2, d3]], '3-member ring after the cold start');
  const lastListening = Math.max(...[d1, d2, d3].map((l) => l.listeningAt ?? NaN));
  if (tA - lastListening > 300) {
    // a slow formation: say what happened, for the record
    for (const l of [d1, d2, d3]) {
      const rel = (t: number) => `+${Math.round(t - t0)} ms`;
      progress(`  ${l.name}: listening ${rel(l.listeningAt ?? NaN)}; ${l.confs.map((c) => `${rel(c.at)} ${c.kind} ${c.ring} [${c.members.join(' ')}]`).join('; ')}`);
    }
  }
  await sleep(500);

  // (b) kill -9 of d3
  const tKill = nowMs();
  d3.proc.kill('SIGKILL');
  const tB = await waitTogether([[d1, d2]], '2-member ring after kill -9');
  await d3.exited;
  await sleep(500);

  // (c) restart
  const d3b = startDaemon(conf, 'd3', 2);
  const tC = await waitTogether([[d1, d2, d3b]], '3-member ring after the restart');
  const restartListening = d3b.listeningAt ?? NaN;
  await sleep(500);

  // (d) partition until the split is installed, then heal
  const tCut = nowMs();
  await shAsync('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], PARTITION);
  const tSplit = await waitTogether([[d1, d2], [d3b]], '2+1 split');
  await sleep(500);
  const tHeal = nowMs(); // before the command: its own run time counts against us
  await shAsync('ip', ['netns', 'exec', NS, 'nft', 'delete', 'table', 'inet', 'rcbench']);
  const tD = await waitTogether([[d1, d2, d3b]], '3-member ring after the heal');

  await stopAll();
  return {
    coldStart: tA - t0,
    coldStartup: lastListening - t0,
    coldProtocol: tA - lastListening,
    kill: tB - tKill,
    restart: tC - d3b.spawnedAt,
    restartStartup: restartListening - d3b.spawnedAt,
    restartProtocol: tC - restartListening,
    split: tSplit - tCut,
    heal: tD - tHeal,
  };
}

interface FloodResult {
  seconds: number;
  /** Regular and transitional configuration lines per daemon after the first 3-member ring. */
  changes: Record<string, number>;
  changeLines: string[];
  udpMB: number;
  udpPackets: number;
  firstRingMs: number;
  /** CPU time (user + system) per daemon during the flood, as a share of one core. */
  cpu: Record<string, number>;
}

/** utime + stime of a process in ms (Linux /proc). */
function cpuMs(pid: number | undefined): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // fields 14, 15; USER_HZ = 100
  } catch {
    return NaN;
  }
}

async function flood(conf: string, seconds: number): Promise<FloodResult> {
  sh('ip', ['netns', 'exec', NS, 'nft', '-f', '-'], 'table inet rcstat {\n  chain output {\n    type filter hook output priority 0; policy accept;\n    meta l4proto udp counter\n  }\n}\n');
  const args = ['--generate', '100000000', '--expect', '1000000000', '--size', '1000', '--service', 'AGREED'];
  const t0 = nowMs();
  const ds = HOSTS.map((h) => startDaemon(conf, h, 1, args));
  await waitTogether([ds], '3-member ring before the flood');
  const firstRingMs = nowMs() - t0;
  const marks = ds.map((l) => l.confs.length);
  const resetCounter = () => sh('ip', ['netns', 'exec', NS, 'nft', 'reset', 'counters', 'table', 'inet', 'rcstat']);
  resetCounter();
  const tStart = nowMs();
  const cpu0 = ds.map((l) => cpuMs(l.proc.pid));
  for (let s = 0; s < seconds; s += 10) {
    await sleep(Math.min(10, seconds - s) * 1000);
    const dead = ds.filter((l) => l.exit);
    if (dead.length) throw new Error(`daemon ${dead[0].name} exited during the flood: ${dead[0].err.slice(-5).join(' | ')}`);
    progress(`flood: ${Math.min(seconds, s + 10)} s of ${seconds}, configuration lines since the first ring: ${ds.map((l, i) => l.confs.length - marks[i]).join('/')}`);
  }
  const cpu1 = ds.map((l) => cpuMs(l.proc.pid));
  const elapsed = (nowMs() - tStart) / 1000;
  const cpu: Record<string, number> = {};
  ds.forEach((l, i) => (cpu[l.name] = (cpu1[i] - cpu0[i]) / (elapsed * 1000)));
  const listing = sh('ip', ['netns', 'exec', NS, 'nft', 'list', 'table', 'inet', 'rcstat']);
  const m = /counter packets (\d+) bytes (\d+)/.exec(listing);
  const changes: Record<string, number> = {};
  const changeLines: string[] = [];
  ds.forEach((l, i) => {
    const extra = l.confs.slice(marks[i]);
    changes[l.name] = extra.length;
    for (const c of extra) changeLines.push(`${l.name} +${((c.at - tStart) / 1000).toFixed(2)} s: ${c.kind} ${c.ring} [${c.members.join(' ')}]`);
  });
  await stopAll();
  sh('ip', ['netns', 'exec', NS, 'nft', 'delete', 'table', 'inet', 'rcstat']);
  return { seconds: elapsed, changes, changeLines, udpMB: m ? Number(m[2]) / 1e6 : NaN, udpPackets: m ? Number(m[1]) : NaN, firstRingMs, cpu };
}

// ---------------------------------------------------------------------------------------
// report

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.floor(s.length / 2);
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
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

function markdown(rounds: Round[], fl: FloodResult | undefined, started: Date, argv: string[], loadAtStart: string): string {
  const cpus = os.cpus();
  const ms = (x: number) => `${num(x)} ms`;
  const row = (what: string, key: keyof Round, target: number, note: string) => {
    const xs = rounds.map((r) => r[key]);
    const max = Math.max(...xs);
    return [what, ms(median(xs)), ms(max), `≤ ${num(target)} ms`, max <= target ? 'met' : median(xs) <= target ? 'median met, max not' : '**not met**', note];
  };
  const mdS = (key: keyof Round) => `${num(median(rounds.map((r) => r[key])))} ms`;
  const lines = [
    `## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC — membership (bench/membership.ts)`,
    '',
    `- Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}; load average at start ${loadAtStart}`,
    `- Commit: ${commit()}`,
    `- Command: \`npx tsc -p . && node dist/bench/membership.js${argv.length ? ` ${argv.join(' ')}` : ''}\` (as root)`,
    `- Took ${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min`,
    '',
    `Three \`ringcast daemon\` processes, default timeouts (Token 500, Join 30, Gather 200, Form 400, Alive 150, Hurry 20 ms), in a network namespace made for the run (127.0.0.1–3 on its loopback); partitions are nftables rules dropping the traffic between 127.0.0.3 and the other two. Times are the benchmark's clock when a daemon's stdout line arrives; ${rounds.length} rounds, fresh daemons each round, no test traffic in (a)–(d). Cold start and restart include starting node (spawn → "listening" line: median ${mdS('coldStartup')} for the slowest of three started together, ${mdS('restartStartup')} for one). Heal is timed from just before the \`nft delete table\` command starts.`,
    '',
    markdownTable(
      ['measure', '>median', '>max', '>target', 'result', 'notes'],
      [
        row('(a) cold start → one 3-member ring', 'coldStart', 1000, 'spawn of the three processes → last daemon logs the 3-member regular configuration'),
        ['(a′) of which the protocol', ms(median(rounds.map((r) => r.coldProtocol))), ms(Math.max(...rounds.map((r) => r.coldProtocol))), '', '', 'last daemon\'s "listening" line → last 3-member configuration line'],
        row('(b) kill -9 → new ring at the survivors', 'kill', 1500, 'SIGKILL → last survivor logs the 2-member ring'),
        row('(c) restart → back in a 3-member ring', 'restart', 1000, 'spawn of the new incarnation → last daemon logs the 3-member ring'),
        ['(c′) of which the protocol', ms(median(rounds.map((r) => r.restartProtocol))), ms(Math.max(...rounds.map((r) => r.restartProtocol))), '', '', 'its "listening" line → last 3-member configuration line'],
        row('(d) partition heal → one 3-member ring', 'heal', 1000, 'rule deleted → last daemon logs the 3-member ring'),
        [
          '(for reference) partition → 2+1 split',
          ms(median(rounds.map((r) => r.split))),
          ms(Math.max(...rounds.map((r) => r.split))),
          '',
          '',
          'rule added → last daemon logs its side of the split (token loss)',
        ],
      ],
    ),
    '',
    `Per round (ms): ${rounds.map((r, i) => `#${i + 1} ${[r.coldStart, r.kill, r.restart, r.heal].map((x) => num(x)).join('/')}`).join(', ')} (a/b/c/d).`,
  ];
  if (fl) {
    const total = Object.values(fl.changes).reduce((a, b) => a + b, 0);
    lines.push(
      '',
      `(e) Flood: 3 senders (\`--generate 100000000 --size 1000 --service AGREED\`, default --in-flight), ${fl.seconds.toFixed(0)} s after the first 3-member ring (${num(fl.firstRingMs)} ms after spawning). UDP sent in the namespace meanwhile (nftables counter: data, tokens and retransmissions): ${num(fl.udpMB / fl.seconds, 1)} MB/s in ${num(fl.udpPackets / fl.seconds)} datagrams/s; every 1 KB message goes to two peers, so at most ≈ ${num((fl.udpMB * 1e6) / fl.seconds / 2000)} messages/s were ordered. CPU per daemon (user + system, share of one core): ${Object.entries(fl.cpu).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', ')}.`,
      '',
      markdownTable(
        ['measure', '>result', '>target', 'result'],
        [[`(e) configuration changes during a ${fl.seconds.toFixed(0)} s full-speed flood`, `${total} (${Object.entries(fl.changes).map(([k, v]) => `${k} ${v}`).join(', ')})`, '0', total === 0 ? 'met' : '**not met**']],
      ),
    );
    if (fl.changeLines.length) lines.push('', 'Configuration lines during the flood:', '', ...fl.changeLines.slice(0, 20).map((x) => `    ${x}`));
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------

let nsMade = false;
function cleanup(): void {
  for (const l of lives) if (!l.exit) l.proc.kill('SIGKILL');
  if (nsMade) spawnSync('ip', ['netns', 'del', NS]);
  nsMade = false;
  if (snapshotDir) fs.rmSync(snapshotDir, { recursive: true, force: true });
  snapshotDir = '';
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let rounds = 5;
  let floodSeconds = 60;
  let write = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds') rounds = Number(argv[++i]);
    else if (a === '--flood') floodSeconds = Number(argv[++i]);
    else if (a === '--write') write = true;
    else throw new Error(`unknown argument "${a}" (usage: node dist/bench/membership.js [--rounds N] [--flood SECONDS] [--write])`);
  }
  if (!(rounds >= 1) || !(floodSeconds >= 0)) throw new Error('--rounds ≥ 1 and --flood ≥ 0 (seconds; 0 skips the flood)');
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) throw new Error('needs root (a network namespace and nftables rules)');
  if (spawnSync('sh', ['-c', 'command -v nft']).status !== 0) throw new Error('needs nft: apt-get install -y nftables');
  const started = new Date();
  const loadAtStart = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  process.once('exit', cleanup);
  snapshot();
  // namespaces of earlier runs that were killed (their pid is gone)
  for (const m of sh('ip', ['netns', 'list']).matchAll(/^rc-bench-(\d+)\b/gm)) {
    if (!fs.existsSync(`/proc/${m[1]}`)) sh('ip', ['netns', 'del', `rc-bench-${m[1]}`]);
  }
  sh('ip', ['netns', 'add', NS]);
  nsMade = true;
  sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-bench-membership-'));
  try {
    const conf = path.join(tmp, 'spread.conf');
    fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:4803 {\n${HOSTS.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('')}}\n`);
    const results: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await round(conf);
      results.push(r);
      progress(
        `round ${i + 1}/${rounds}: cold start ${num(r.coldStart)} ms (start-up ${num(r.coldStartup)}, protocol ${num(r.coldProtocol)}), kill ${num(r.kill)} ms, restart ${num(r.restart)} ms (start-up ${num(r.restartStartup)}, protocol ${num(r.restartProtocol)}), split ${num(r.split)} ms, heal ${num(r.heal)} ms`,
      );
      await sleep(300);
    }
    let fl: FloodResult | undefined;
    if (floodSeconds > 0) {
      fl = await flood(conf, floodSeconds);
      progress(`flood: ${JSON.stringify(fl.changes)} configuration lines; ${(fl.udpMB / fl.seconds).toFixed(1)} MB/s UDP; CPU ${JSON.stringify(fl.cpu)}`);
    }
    const section = markdown(results, fl, started, argv, loadAtStart);
    process.stdout.write(section);
    if (write) {
      const existing = fs.existsSync(RESULTS_FILE) ? fs.readFileSync(RESULTS_FILE, 'utf8') : '# ringcast benchmark results\n';
      fs.writeFileSync(RESULTS_FILE, `${existing.trimEnd()}\n\n${section}`);
      progress(`appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
    }
  } finally {
    await stopAll();
    cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/membership: ${err instanceof Error ? err.message : String(err)}\n`);
  cleanup();
  process.exitCode = 1;
});
