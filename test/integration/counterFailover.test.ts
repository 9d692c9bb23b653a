// The counter-failover example (examples/counter-failover) against a real daemon: two
// processes, the active one killed with SIGKILL at random moments (12 times), each killed one
// restarted as the new standby. Over all the numbers every incarnation printed: none is
// skipped, and a number repeats at most once per kill (printed, not yet checkpointed).
// Takeover time (kill → the successor's first number) is reported, not asserted.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { repoRoot } from '../support/repo';
import { startCluster, type Cluster } from '../support/cluster';

const COUNTER = path.join(repoRoot(), 'dist', 'examples', 'counter-failover', 'counter.js');
const KILLS = 12;
const INTERVAL_MS = 20;

interface Counter {
  proc: ChildProcess;
  lines: Array<{ n: number; at: number }>;
  err: string[];
  exited: Promise<unknown>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('integration: counter-failover example under repeated kill -9', function () {
  this.timeout(120_000);
  let cluster: Cluster | undefined;
  const counters: Counter[] = [];

  afterEach(async () => {
    for (const c of counters) c.proc.kill('SIGKILL');
    await Promise.all(counters.map((c) => c.exited));
    await cluster?.stop();
  });

  it('never skips a number and repeats at most one per kill', async () => {
    cluster = await startCluster(1, { label: 'counter' });
    const socket = cluster.daemons.get('d1')!.socket;
    let seq = 0;
    const start = (): Counter => {
      // Names that sort by start order: the newest process is always the standby.
      const name = `c${String(seq++).padStart(3, '0')}`;
      const proc = spawn(process.execPath, [COUNTER, '--daemon', socket, '--interval', String(INTERVAL_MS), '--name', name], { stdio: ['ignore', 'pipe', 'pipe'] });
      const c: Counter = { proc, lines: [], err: [], exited: new Promise((r) => proc.once('exit', r)) };
      readline.createInterface({ input: proc.stdout! }).on('line', (l) => c.lines.push({ n: Number(l.split(' ')[0]), at: Date.now() }));
      readline.createInterface({ input: proc.stderr! }).on('line', (l) => c.err.push(l));
      counters.push(c);
      return c;
    };
    const waitFor = async (cond: () => boolean, what: string, ms = 15_000): Promise<void> => {
      const t0 = Date.now();
      while (!cond()) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}\n${counters.map((c, i) => `counter ${i}: ${c.err.slice(-5).join('\n')}`).join('\n')}`);
        await sleep(5);
      }
    };

    let active = start();
    await waitFor(() => active.lines.length > 0, 'the first number');
    let standby = start();
    await waitFor(() => standby.err.some((l) => l.includes('standby')), 'the standby');
    const takeovers: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await sleep(100 + Math.floor(Math.random() * 300));
      const killedAt = Date.now();
      active.proc.kill('SIGKILL');
      await active.exited;
      const successor = standby;
      await waitFor(() => successor.lines.some((l) => l.at >= killedAt), `the standby taking over after kill ${k + 1}`);
      takeovers.push(successor.lines.find((l) => l.at >= killedAt)!.at - killedAt);
      active = successor;
      standby = start();
      await waitFor(() => standby.err.some((l) => l.includes('standby')), 'the restarted standby');
    }
    await sleep(100);

    const all = counters.flatMap((c) => c.lines.map((l) => l.n));
    const counts = new Map<number, number>();
    for (const n of all) counts.set(n, (counts.get(n) ?? 0) + 1);
    const max = Math.max(...all);
    for (let n = 1; n <= max; n++) assert.ok(counts.has(n), `number ${n} was skipped`);
    let repeats = 0;
    for (const [n, c] of counts) {
      assert.ok(c <= 2, `number ${n} printed ${c} times`);
      repeats += c - 1;
    }
    assert.ok(repeats <= KILLS, `${repeats} repeats for ${KILLS} kills`);
    takeovers.sort((a, b) => a - b);
    console.log(`    ${max} numbers, ${KILLS} kills, ${repeats} repeated; takeover median ${takeovers[takeovers.length >> 1]} ms, max ${takeovers.at(-1)} ms`);
  });
});
