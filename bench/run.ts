// Runs the benchmarks and prints one Markdown section (stdout); progress goes to stderr.
//
//   node dist/bench/run.js [--only micro|core|e2e[,…]] [--quick] [--write]
//
// --quick  fewer iterations and messages (a smoke run; figures are noisier)
// --write  also append the section to bench/RESULTS.md
import { execSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coreMarkdown, runCore } from './core';
import { e2eMarkdown, profileE2e, runE2e, snapshotBuild } from './e2e';
import { progress } from './format';
import { microMarkdown, runMicro } from './micro';

const BENCHES = ['micro', 'core', 'e2e'] as const;
type BenchName = (typeof BENCHES)[number];

const RESULTS_FILE = path.resolve(__dirname, '../../bench/RESULTS.md');
const RESULTS_HEADER = `# ringcast benchmark results

Each section is one run of \`npm run bench -- --write\` (or \`node dist/bench/run.js --write\` after
\`npx tsc -p .\`), appended with the date, the machine, the commit and the exact command. Sources: bench/.

- **Codecs** (bench/micro.ts): benchmark.js on the daemon packet encoders/decoders; ops/s ± relative
  margin of error at 95% confidence.
- **Ordering core** (bench/core.ts): RingCore instances in one process, no sockets, no loss;
  messages ordered per CPU second = distinct messages delivered in total order at every daemon ÷
  process CPU time (user + system). Two harnesses: a direct FIFO ("core only") and the simulator.
- **End to end** (bench/e2e.ts): three daemon processes on 127.0.0.1–3 over UDP, each generating its
  own traffic; throughput at the receivers, latency (submit → own delivery) at the senders. A 1 KB
  three-sender run with one daemon under \`node --cpu-prof\` says where its time goes
  (bench/profile.ts sums self time per function).

Figures are for comparison between runs on the same machine; the load average at the start is given
because other work on the machine skews them, the end-to-end runs most: with more daemons than
cores, a daemon waiting for a CPU holds up the token for the whole ring. The end-to-end daemons run
a copy of dist/src taken when the run starts, so a rebuild meanwhile cannot mix versions.
`;

interface Flags {
  only: BenchName[];
  quick: boolean;
  write: boolean;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { only: [...BENCHES], quick: false, write: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') flags.quick = true;
    else if (a === '--write') flags.write = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const names = (v ?? '').split(',').filter(Boolean);
      const bad = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
      if (names.length === 0 || bad.length > 0) usage(`--only takes ${BENCHES.join('|')} (comma-separated), not "${v ?? ''}"`);
      flags.only = names as BenchName[];
    } else usage(`unknown argument "${a}"`);
  }
  return flags;
}

function usage(problem: string): never {
  process.stderr.write(`bench: ${problem}\nusage: node dist/bench/run.js [--only micro|core|e2e] [--quick] [--write]\n`);
  process.exit(2);
}

/** The command as the user typed it, near enough to paste again. */
function commandLine(argv: string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  const script = path.relative(process.cwd(), process.argv[1]) || process.argv[1];
  return `node ${script}${args ? ` ${args}` : ''}`;
}

function commit(): string {
  try {
    const cwd = path.resolve(__dirname, '../..');
    const rev = execSync('git rev-parse --short HEAD', { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${rev} + uncommitted changes` : rev;
  } catch {
    return 'unknown';
  }
}

function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return (
    `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}; load average at start ${load}`
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv);
  const started = new Date();
  // Taken now, when this process has loaded the codecs and the core it measures in-process.
  const build = flags.only.includes('e2e') ? snapshotBuild() : undefined;
  try {
    await runAll(flags, argv, started, build?.launcher);
  } finally {
    build?.remove();
  }
}

async function runAll(flags: Flags, argv: string[], started: Date, launcher: string | undefined): Promise<void> {
  const header = [
    `## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC${flags.quick ? ' (quick)' : ''}`,
    '',
    `- Machine: ${machine()}`,
    `- Commit: ${commit()}`,
    `- Command: \`${commandLine(argv)}\``,
  ];
  const body: string[] = [];
  if (flags.only.includes('micro')) body.push(microMarkdown(await runMicro({ quick: flags.quick })));
  if (flags.only.includes('core')) body.push(coreMarkdown(runCore({ quick: flags.quick })));
  if (flags.only.includes('e2e')) {
    const results = await runE2e({ quick: flags.quick, launcher });
    const prof = await profileE2e({ quick: flags.quick, launcher });
    body.push(e2eMarkdown(results, prof));
  }
  const minutes = (Date.now() - started.getTime()) / 60_000;
  header.push(`- Took ${minutes.toFixed(1)} min`);
  const section = [...header, '', ...body.flatMap((b) => [b, ''])].join('\n');

  process.stdout.write(section);
  if (flags.write) {
    const existing = fs.existsSync(RESULTS_FILE) ? fs.readFileSync(RESULTS_FILE, 'utf8') : RESULTS_HEADER;
    fs.writeFileSync(RESULTS_FILE, `${existing.trimEnd()}\n\n${section}`);
    progress(`appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
