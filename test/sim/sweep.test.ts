import { strict as assert } from 'node:assert';
import { failureReason, runSimulation } from '../../src/sim/run';
import { sweepOptions } from '../../src/sim/sweep';

// shared/design/invariants.md 1–5 and 9 over many seeds; each seed picks its own ring size,
// faults, services and sizes (src/sim/sweep.ts). A seed that fails goes to regressions.test.ts.
const SEEDS = Number(process.env.RINGCAST_SWEEP_SEEDS ?? 320);

describe(`ring core seed sweep (${SEEDS} seeds)`, function () {
  this.timeout(900_000);

  it('covers 3–7 daemons, 0–20% loss, duplication, reordering, every service, 1 B to 1 MiB', () => {
    const all = Array.from({ length: SEEDS }, (_, i) => sweepOptions(i + 1));
    assert.deepEqual([...new Set(all.map((o) => o.daemons))].sort(), [3, 4, 5, 6, 7]);
    assert.ok(all.some((o) => o.loss === 0) && Math.max(...all.map((o) => o.loss ?? 0)) >= 0.15);
    assert.ok(all.some((o) => (o.dup ?? 0) > 0) && all.some((o) => (o.reorder ?? 0) > 0));
    const services = new Set(all.map((o) => o.service));
    for (const s of ['UNRELIABLE', 'RELIABLE', 'FIFO', 'CAUSAL', 'AGREED', 'SAFE', 'mixed']) assert.ok(services.has(s as never), s);
    assert.ok(all.some((o) => o.size === '1') && all.some((o) => String(o.size).endsWith('1048576')));
  });

  it('every checked invariant holds for every seed', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const opts = sweepOptions(seed);
      const why = failureReason(runSimulation(opts).summary);
      if (why) failures.push(`seed ${seed} ${JSON.stringify(opts)}: ${why}`);
    }
    assert.deepEqual(failures, []);
  });
});
