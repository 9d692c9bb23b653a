import { strict as assert } from 'node:assert';
import { failureReason, runSimulation } from '../../src/sim/run';
import { faultSweepOptions } from '../../src/sim/sweep';

// All ten invariants of shared/design/invariants.md under crashes, restarts, overlapping
// partitions and asymmetric loss (src/sim/sweep.ts picks each seed's faults).
const SEEDS = Number(process.env.RINGCAST_FAULT_SEEDS ?? 1000);

describe(`membership seed sweep with faults (${SEEDS} seeds)`, function () {
  this.timeout(1_800_000);

  it('covers crashes, restarts, partitions and asymmetric loss', () => {
    const all = Array.from({ length: Math.min(SEEDS, 200) }, (_, i) => faultSweepOptions(i + 1));
    assert.ok(all.some((o) => (o.crashes ?? 0) > 0 && (o.restarts ?? 0) > 0));
    assert.ok(all.some((o) => (o.partitions ?? 0) >= 2), 'overlapping partitions');
    assert.ok(all.some((o) => (o.asymmetric ?? 0) > 0));
    assert.ok(Math.max(...all.map((o) => o.loss ?? 0)) >= 0.2);
  });

  it('every invariant holds for every seed', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const opts = faultSweepOptions(seed);
      const why = failureReason(runSimulation(opts).summary);
      if (why) failures.push(`seed ${seed} ${JSON.stringify(opts)}: ${why}`);
    }
    assert.deepEqual(failures, []);
  });
});
