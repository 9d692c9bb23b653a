import { strict as assert } from 'node:assert';
import type { ConfEntry, LogEntry } from '../../src/sim/deliveryLog';
import { failureReason, runSimulation } from '../../src/sim/run';
import type { SimOptions } from '../../src/sim/simulator';

// Membership scenarios one by one, with faults at chosen times; every run is also checked
// against all ten invariants.
function run(opts: Partial<SimOptions>) {
  const r = runSimulation({ messages: 600, rate: 0.2, size: '1-2000', service: 'mixed', ...opts });
  assert.equal(failureReason(r.summary), undefined);
  return r;
}

function confs(log: LogEntry[] | undefined, kind?: 'regular' | 'transitional'): ConfEntry[] {
  return (log ?? []).filter((e): e is ConfEntry => e.t === 'conf' && (kind === undefined || e.kind === kind));
}

const last = <T>(xs: T[]): T => xs[xs.length - 1];

describe('membership', () => {
  it('forms one ring of every daemon at a cold start', () => {
    const r = run({ daemons: 5, messages: 100 });
    for (const [name, log] of r.logs) {
      const first = confs(log)[0];
      assert.deepEqual(first.members, ['d1', 'd2', 'd3', 'd4', 'd5'], name);
      assert.equal(first.kind, 'regular');
    }
  });

  it('installs a transitional then a regular configuration without a crashed daemon', () => {
    const r = run({ daemons: 4, schedule: [{ time: 800, kind: 'crash', daemon: 3 }] });
    for (const name of ['d1', 'd2', 'd4']) {
      const cs = confs(r.logs.get(name));
      const trans = cs.find((c) => c.kind === 'transitional')!;
      assert.deepEqual(trans.members, ['d1', 'd2', 'd4'], name);
      assert.deepEqual(last(cs).members, ['d1', 'd2', 'd4'], name);
    }
  });

  it('re-forms at once when a daemon leaves cleanly, not after the token timeout', () => {
    const crash = run({ daemons: 4, messages: 300, schedule: [{ time: 800, kind: 'crash', daemon: 2 }] });
    const stop = run({ daemons: 4, messages: 300, schedule: [{ time: 800, kind: 'stop', daemon: 2 }] });
    const firstWithout = (r: typeof crash) => {
      const log = r.logs.get('d1')!;
      return log.findIndex((e) => e.t === 'conf' && e.kind === 'regular' && !e.members.includes('d2'));
    };
    assert.ok(firstWithout(crash) > 0 && firstWithout(stop) > 0);
    // Fewer of d1's own messages pile up waiting while the ring re-forms after a clean leave.
    assert.ok(stop.summary.simTimeMs <= crash.summary.simTimeMs, `${stop.summary.simTimeMs} vs ${crash.summary.simTimeMs}`);
  });

  it('splits into two rings in a partition and merges them when it heals', () => {
    const r = run({
      daemons: 5,
      schedule: [
        { time: 600, kind: 'partition', index: 0, sides: [[1, 2], [3, 4, 5]] },
        { time: 2000, kind: 'heal', index: 0 },
      ],
    });
    const d1 = confs(r.logs.get('d1'), 'regular').map((c) => c.members.join(','));
    const d4 = confs(r.logs.get('d4'), 'regular').map((c) => c.members.join(','));
    assert.ok(d1.includes('d1,d2'), `d1 saw ${d1}`);
    assert.ok(d4.includes('d3,d4,d5'), `d4 saw ${d4}`);
    assert.equal(last(d1), 'd1,d2,d3,d4,d5');
    assert.equal(last(d4), 'd1,d2,d3,d4,d5');
  });

  it('takes a restarted daemon back as a new incarnation', () => {
    const r = run({
      daemons: 3,
      schedule: [
        { time: 500, kind: 'crash', daemon: 2 },
        { time: 1500, kind: 'restart', daemon: 2 },
      ],
    });
    assert.ok(r.logs.has('d2@2'), 'the second life logs on its own');
    assert.deepEqual(last(confs(r.logs.get('d1'))).members, ['d1', 'd2@2', 'd3']);
    assert.deepEqual(last(confs(r.logs.get('d2@2'))).members, ['d1', 'd2@2', 'd3']);
  });

  it('keeps an isolated daemon serving on a ring of its own', () => {
    const r = run({
      daemons: 3,
      schedule: [
        { time: 500, kind: 'partition', index: 0, sides: [[1, 2], [3]] },
        { time: 3000, kind: 'heal', index: 0 },
      ],
    });
    const d3 = confs(r.logs.get('d3'), 'regular').map((c) => c.members.join(','));
    assert.ok(d3.includes('d3'), `d3 saw ${d3}`);
    // d3 delivered its own messages while alone.
    const log = r.logs.get('d3')!;
    const alone = log.findIndex((e) => e.t === 'conf' && e.kind === 'regular' && e.members.join() === 'd3');
    const next = log.findIndex((e, i) => i > alone && e.t === 'conf');
    assert.ok(log.slice(alone, next).some((e) => e.t === 'msg' && e.id.startsWith('d3#')));
  });

  it('survives overlapping partitions, a crash inside one, and one-way loss', () => {
    run({
      daemons: 6,
      loss: 0.05,
      schedule: [
        { time: 400, kind: 'partition', index: 0, sides: [[1, 2, 3], [4, 5, 6]] },
        { time: 700, kind: 'partition', index: 1, sides: [[1, 4], [2, 3, 5, 6]] },
        { time: 900, kind: 'crash', daemon: 5 },
        { time: 1000, kind: 'lossy', from: 2, to: 3, loss: 0.6 },
        { time: 1800, kind: 'heal', index: 0 },
        { time: 2300, kind: 'lossless', from: 2, to: 3 },
        { time: 2500, kind: 'heal', index: 1 },
        { time: 2600, kind: 'restart', daemon: 5 },
      ],
    });
  });

  it('gives the same logs for the same seed', () => {
    const opts = { daemons: 4, seed: 5, crashes: 1, restarts: 1, partitions: 1, loss: 0.05 };
    const a = run(opts);
    const b = run(opts);
    assert.deepEqual([...a.logs.entries()], [...b.logs.entries()]);
  });
});
