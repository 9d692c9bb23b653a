// The services on three real daemons (127.0.0.1–3, Unix client sockets), driven by clients in
// this process:
//   npx tsc -p . && node dist/bench/services.js [--seconds S] [--window W] [--write]
// (1) checkpoint overwrite ops/s, 64 B and 4 KB sections: one client per daemon, each with W
//     requests in flight (default 32) on its own section of a WR_ALL_REPLICAS checkpoint;
// (2) checkpoint read ops/s, the same way;
// (3) events: 10 subscribers spread over the daemons, one publisher per daemon with W publishes
//     in flight; published/s and delivered/s (deliveries to all subscribers together);
// (4) takeover of the counter-failover example: kill -9 of the active process (standby on the
//     same daemon), and kill -9 of the active's daemon (standby on another daemon): time from the
//     kill to the successor's first new number, median and max of 5.
// --write appends the Markdown section to bench/RESULTS.md.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { connect, type Session } from '../src/client';
import type { CheckpointHandle } from '../src/client/checkpoints';
import { markdownTable, num, progress } from './format';
import { startCluster, type Cluster } from '../test/support/cluster';

const ROOT = path.resolve(__dirname, '../..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md');
const COUNTER = path.join(ROOT, 'dist', 'examples', 'counter-failover', 'counter.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options {
  seconds: number;
  window: number;
  write: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { seconds: 5, window: 32, write: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--window') o.window = Number(argv[++i]);
    else if (a === '--write') o.write = true;
    else throw new Error(`unknown argument "${a}" (usage: node dist/bench/services.js [--seconds S] [--window W] [--write])`);
  }
  return o;
}

/** Runs `op` with `window` calls in flight for `seconds`; ops per second. */
async function closedLoop(window: number, seconds: number, op: () => Promise<unknown>): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (Date.now() < end) {
        await op();
        done++;
      }
    }),
  );
  return done / ((Date.now() - t0) / 1000);
}

async function checkpointBench(sessions: Session[], o: Options): Promise<string[][]> {
  const rows: string[][] = [];
  for (const size of [64, 4096]) {
    const name = `bench-${size}`;
    const handles: CheckpointHandle[] = [];
    for (const s of sessions) {
      handles.push(
        await s.checkpoints.open(name, {
          create: true,
          attrs: { creationFlags: ['WR_ALL_REPLICAS'], checkpointSize: 8 * size, maxSections: 8, maxSectionSize: size, maxSectionIdSize: 16 },
        }),
      );
    }
    const data = Buffer.alloc(size, 0x61);
    await Promise.all(handles.map((h, i) => h.createSection(`s${i}`, { data })));
    progress(`checkpoint overwrite ${size} B`);
    const writes = await Promise.all(handles.map((h, i) => closedLoop(o.window, o.seconds, () => h.overwrite(`s${i}`, data))));
    progress(`checkpoint read ${size} B`);
    const reads = await Promise.all(handles.map((h, i) => closedLoop(o.window, o.seconds, () => h.readSection(`s${i}`))));
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
    rows.push([`${size} B`, num(sum(writes), 0), `${((sum(writes) * size) / 1e6).toFixed(1)}`, num(sum(reads), 0)]);
    for (const h of handles) await h.close();
  }
  return rows;
}

async function eventsBench(cluster: Cluster, o: Options): Promise<{ published: number; delivered: number }> {
  const subs: Session[] = [];
  let delivered = 0;
  for (let i = 0; i < 10; i++) {
    const s = await connect({ daemon: cluster.daemons.get(cluster.names[i % cluster.names.length]!)!.socket });
    subs.push(s);
    const c = await s.events.connect({ clientName: `sub${i}`, space: 'ringcast.bench.sub' });
    const sub = await c.subscribe('event_space=ringcast.bench.pub', { queueSize: 100_000 });
    void (async () => {
      for await (const _ of sub) delivered++;
    })().catch(() => {});
  }
  const pubs = await Promise.all(
    cluster.names.map(async (n, i) => {
      const s = await connect({ daemon: cluster.daemons.get(n)!.socket });
      subs.push(s);
      return s.events.connect({ clientName: `pub${i}`, space: 'ringcast.bench.pub', declare: [{ name: 'TICK', severity: 'INFO' }] });
    }),
  );
  progress('events: 3 publishers, 10 subscribers');
  const t0 = Date.now();
  const before = delivered;
  const rates = await Promise.all(pubs.map((p) => closedLoop(o.window, o.seconds, () => p.publish('TICK', { payload: 'x'.repeat(64) }))));
  await sleep(500);
  const published = rates.reduce((a, b) => a + b, 0);
  const result = { published, delivered: (delivered - before) / ((Date.now() - t0 - 500) / 1000) };
  for (const s of subs) await s.disconnect().catch(() => {});
  return result;
}

interface Counter {
  proc: ChildProcess;
  lines: number[];
  err: string[];
  exited: Promise<unknown>;
}

function startCounter(socket: string, name: string): Counter {
  const proc = spawn(process.execPath, [COUNTER, '--daemon', socket, '--interval', '20', '--name', name], { stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Counter = { proc, lines: [], err: [], exited: new Promise((r) => proc.once('exit', r)) };
  readline.createInterface({ input: proc.stdout! }).on('line', () => c.lines.push(Date.now()));
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => c.err.push(l));
  return c;
}

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(2);
  }
}

/** kill → the successor's first number, for a killed process or a killed daemon. */
async function takeover(kind: 'process' | 'daemon', rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const cluster = await startCluster(2, { label: 'takeover' });
    const first = cluster.daemons.get('d1')!.socket;
    const second = kind === 'process' ? first : cluster.daemons.get('d2')!.socket;
    const active = startCounter(first, 'ca');
    let standby: Counter | undefined;
    try {
      await waitFor(() => active.lines.length > 0);
      standby = startCounter(second, 'cb');
      const s = standby;
      await waitFor(() => active.lines.length > 5 && s.err.some((l) => l.includes('standby')));
      const t0 = Date.now();
      if (kind === 'process') active.proc.kill('SIGKILL');
      else cluster.daemons.get('d1')!.proc.kill('SIGKILL');
      await waitFor(() => s.lines.some((at) => at >= t0));
      out.push(s.lines.find((at) => at >= t0)! - t0);
    } finally {
      active.proc.kill('SIGKILL');
      standby?.proc.kill('SIGKILL');
      await Promise.all([active.exited, standby?.exited]);
      await cluster.stop();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const cluster = await startCluster(3, { label: 'bench-services' });
  let ckptRows: string[][];
  let events: { published: number; delivered: number };
  try {
    const sessions = await Promise.all(cluster.names.map((n) => connect({ daemon: cluster.daemons.get(n)!.socket })));
    ckptRows = await checkpointBench(sessions, o);
    for (const s of sessions) await s.disconnect();
    events = await eventsBench(cluster, o);
  } finally {
    await cluster.stop();
  }
  progress('takeover');
  const stats = (a: number[]): string => {
    const s = [...a].sort((x, y) => x - y);
    return `${s[s.length >> 1]} ms / ${s.at(-1)} ms`;
  };
  const proc = await takeover('process', 5);
  const daemon = await takeover('daemon', 5);
  const cpus = os.cpus();
  const section = [
    `## Services (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Command: \`npx tsc -p . && node dist/bench/services.js${o.seconds !== 5 ? ` --seconds ${o.seconds}` : ''}${o.window !== 32 ? ` --window ${o.window}` : ''} --write\``,
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, Node ${process.version}. Three daemons on 127.0.0.1–3, clients on Unix sockets, all in one node process; ${o.window} requests in flight per client, ${o.seconds} s per figure.`,
    '',
    'Checkpoints (WR_ALL_REPLICAS, one client per daemon, each on its own section; every write is applied by all three daemons):',
    '',
    markdownTable(['section', 'overwrite ops/s', 'overwrite MB/s', 'read ops/s'], ckptRows),
    '',
    `Events: 3 publishers (one per daemon), 10 subscribers: ${num(events.published, 0)} events published/s, ${num(events.delivered, 0)} deliveries/s.`,
    '',
    `Takeover of examples/counter-failover (kill -9 → the standby's first new number, median / max of 5): active process killed ${stats(proc)}; active's daemon killed ${stats(daemon)} (membership must first detect the failure: Token timeout 500 ms).`,
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (o.write) {
    const existing = fs.existsSync(RESULTS_FILE) ? fs.readFileSync(RESULTS_FILE, 'utf8') : '# ringcast benchmark results\n';
    fs.writeFileSync(RESULTS_FILE, `${existing.trimEnd()}\n\n${section}`);
    progress(`appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
