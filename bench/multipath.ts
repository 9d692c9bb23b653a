// Multipath (issue 5) on real networks: three hosts in network namespaces made for the run, each
// on two bridged networks (test/integration/netns.ts), one `ringcast daemon` per host flooding
// 1 KB AGREED messages (--generate, three senders).
//
//   npx tsc -p . && node dist/bench/multipath.js [--rounds N] [--count N] [--write]
//
// (1) Throughput: one link (a single D address per host) vs active 2-link vs passive 2-link, no
//     faults; msgs/s as the daemons' generators report it (messages delivered from all senders ÷
//     time from the first delivery to the last), median over the three daemons, then over rounds.
// (2) Delivery gap on link failure, active and passive: during a flood, (a) host h3's link-0
//     interface goes down (`ip link set e0 down` in its namespace) or (b) the whole link-0 network
//     (its bridge) goes down; 1 s later it comes back. Gap = the longest time between two
//     consecutive deliveries at any daemon, from 50 ms before the failure to 1 s after the
//     repair, measured with this process's clock on the delivery logs (read through FIFOs).
//     The same measure over fault-free floods gives the noise floor.
// Needs root (namespaces). --write appends the Markdown section to bench/RESULTS.md.
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { markdownTable, num, progress } from './format';
import { snapshotBuild } from './e2e';
import {
  canUseNetns,
  createLab,
  showLabOutput,
  startLabFlood,
  stopLabDaemons,
  waitDelivered,
  type LabDaemon,
  type NetnsLab,
} from '../test/integration/netns';

const ROOT = path.resolve(__dirname, '../..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md');
const DONE_TIMEOUT_MS = 120_000;

type Mode = 'single' | 'active' | 'passive';
type Failure = 'none' | 'interface' | 'network';

interface FloodResult {
  mode: Mode;
  failure: Failure;
  msgsPerSec: number;
  /** Longest delivery gap in the failure window (or over the whole flood when failure is none). */
  gapMs: number;
  gapAt: string;
  configChanges: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.floor(s.length / 2);
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

async function flood(lab: NetnsLab, bin: string, dir: string, mode: Mode, failure: Failure, count: number): Promise<FloodResult> {
  for (let h = 0; h < 3; h++) for (let k = 0; k < 2; k++) lab.setLink(h, k, true);
  for (let k = 0; k < 2; k++) lab.setNetwork(k, true);
  const runDir = fs.mkdtempSync(path.join(dir, `${mode}-${failure}-`));
  const daemons: LabDaemon[] = startLabFlood(lab, { mode, count, size: 1000, service: 'AGREED', dir: runDir, bin });
  const total = count * 3;
  try {
    let window = { from: -Infinity, to: Infinity };
    if (failure !== 'none') {
      if (!(await waitDelivered(daemons, Math.floor(total * 0.25), 60_000))) throw new Error(`flood did not start\n${daemons.map(showLabOutput).join('\n')}`);
      const down = performance.now();
      if (failure === 'interface') lab.setLink(2, 0, false);
      else lab.setNetwork(0, false);
      while (performance.now() < down + 1000) await new Promise((r) => setTimeout(r, 5));
      const up = performance.now();
      if (failure === 'interface') lab.setLink(2, 0, true);
      else lab.setNetwork(0, true);
      window = { from: down - 50, to: up + 1000 };
    }
    let timer: NodeJS.Timeout | undefined;
    const reports = await Promise.race([
      Promise.all(daemons.map((d) => d.done)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no done line within ${DONE_TIMEOUT_MS / 1000} s\n${daemons.map(showLabOutput).join('\n')}`)), DONE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    const gaps = daemons.map((d) => ({ name: d.name, ...d.log.maxGap(window.from, window.to) }));
    const worst = gaps.reduce((a, b) => (b.ms > a.ms ? b : a));
    const confAfterStart = daemons.map((d) => {
      const lines = fs.readFileSync(d.log.file, 'utf8').split('\n');
      const first = lines.findIndex((l) => l.startsWith('{"t":"msg"'));
      const last = lines.map((l) => l.startsWith('{"t":"msg"')).lastIndexOf(true);
      return lines.slice(first, last).filter((l) => l.startsWith('{"t":"conf"') && l.includes('"regular"')).length;
    });
    return {
      mode,
      failure,
      msgsPerSec: median(reports.map((r) => Number(r.msgsPerSec))),
      gapMs: worst.ms,
      gapAt: worst.name,
      configChanges: confAfterStart.reduce((a, b) => a + b, 0),
    };
  } finally {
    await stopLabDaemons(daemons, 3000);
  }
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

function markdown(results: FloodResult[], started: Date, argv: string[], load: string, rounds: number, count: number): string {
  const cpus = os.cpus();
  const of = (mode: Mode, failure: Failure) => results.filter((r) => r.mode === mode && r.failure === failure);
  const tput = (mode: Mode) => median(of(mode, 'none').map((r) => r.msgsPerSec));
  const single = tput('single');
  const ms = (x: number) => `${num(x, 1)} ms`;
  const changes = (rs: FloodResult[]) => rs.reduce((a, r) => a + r.configChanges, 0);
  const tRows = (['single', 'active', 'passive'] as const).map((m) => {
    const rs = of(m, 'none');
    return [
      m === 'single' ? 'one link (1 D address per host)' : `${m}, 2 links`,
      num(tput(m)),
      rs.map((r) => num(r.msgsPerSec)).join(' / '),
      m === 'single' ? '' : `${num((100 * (tput(m) - single)) / single, 1)}%`,
      ms(median(rs.map((r) => r.gapMs))),
      String(changes(rs)),
    ];
  });
  const target = { active: 50, passive: 300 } as const;
  const gRows: (string | number)[][] = [];
  for (const m of ['active', 'passive'] as const) {
    for (const f of ['interface', 'network'] as const) {
      const rs = of(m, f);
      const med = median(rs.map((r) => r.gapMs));
      const max = Math.max(...rs.map((r) => r.gapMs));
      gRows.push([
        m,
        f === 'interface' ? "h3's link-0 interface down 1 s" : 'whole link-0 network (bridge) down 1 s',
        ms(med),
        ms(max),
        rs.map((r) => `${num(r.gapMs, 0)} (${r.gapAt})`).join(' / '),
        `≤ ${target[m]} ms`,
        max <= target[m] ? 'met' : med <= target[m] ? 'median met, max not' : '**not met**',
        String(changes(rs)),
      ]);
    }
  }
  return [
    `## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC — multipath (bench/multipath.ts)`,
    '',
    `- Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}; load average at start ${load}`,
    `- Commit: ${commit()}`,
    `- Command: \`npx tsc -p . && node dist/bench/multipath.js${argv.length ? ` ${argv.join(' ')}` : ''}\` (as root)`,
    `- Took ${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min`,
    '',
    `Three hosts in network namespaces made for the run, each on two networks (veth pairs into two bridges in a "switch" namespace; 10.99.1.0/24 and 10.99.2.0/24), one \`ringcast daemon\` per host with default timeouts, all three sending (\`--generate ${num(count)} --size 1000 --service AGREED\`, ${num(3 * count)} messages in all per run). ${rounds} rounds; each round runs every row once, fresh daemons each run. **msgs/s** is what the daemons' generators report (deliveries from all senders ÷ first to last delivery), the median of the three daemons, then of the rounds. **Gap** is the longest time between two consecutive deliveries at any daemon, on this process's clock as the delivery logs arrive through FIFOs; with a failure, from 50 ms before it to 1 s after the repair; without, over the whole flood (the noise floor). **Config changes**: regular configurations installed between the first and the last delivery, all daemons and rounds.`,
    '',
    '### Throughput, no faults',
    '',
    markdownTable(['setup', '>msgs/s (median)', '>per round', '>vs one link', '>longest gap (median)', '>config changes'], tRows),
    '',
    '### Delivery gap when link 0 fails during a flood',
    '',
    markdownTable(['mode', 'failure', '>gap median', '>gap max', '>per round, ms (daemon)', '>target', 'result', '>config changes'], gRows),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const rounds = opt('--rounds', 3);
  const count = opt('--count', 30_000);
  const write = argv.includes('--write');
  // --only throughput|gaps: half the table (for quick comparisons; --write wants both).
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : 'all';
  const plan = ([
    ['single', 'none'], ['active', 'none'], ['passive', 'none'],
    ['active', 'interface'], ['passive', 'interface'], ['active', 'network'], ['passive', 'network'],
  ] as const).filter(([, f]) => only === 'all' || (only === 'throughput') === (f === 'none'));
  if (!canUseNetns()) throw new Error('needs root (network namespaces)');
  const started = new Date();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const snap = snapshotBuild();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-bench-mp-'));
  const lab = createLab(3, 2);
  const results: FloodResult[] = [];
  const cleanup = () => {
    lab.destroy();
    snap.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const [mode, failure] of plan) {
        const res = await flood(lab, snap.launcher, dir, mode, failure, count);
        progress(`round ${r}: ${mode}, failure ${failure}: ${num(res.msgsPerSec)} msgs/s, gap ${num(res.gapMs, 1)} ms (${res.gapAt}), ${res.configChanges} config changes`);
        results.push(res);
      }
    }
  } finally {
    cleanup();
  }
  const md = markdown(results, started, argv, load, rounds, count);
  process.stdout.write(md + '\n');
  if (write) {
    fs.appendFileSync(RESULTS_FILE, `\n${md}`);
    progress(`appended to ${RESULTS_FILE}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
