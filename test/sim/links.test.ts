import { strict as assert } from 'node:assert';
import { failureReason, runSimulation } from '../../src/sim/run';
import { linkSweepOptions } from '../../src/sim/sweep';
import type { LogEntry } from '../../src/sim/deliveryLog';

// Multipath (issue 5): one ring over 2–4 simulated networks, each daemon's datagrams going
// through a LinkSetCore, with networks going down and up (for all, or one host's interface),
// asymmetric loss per network, and one network delayed by many token rotations. Every
// invariant holds in every seed; where every pair of daemons kept a good network throughout
// (and no daemon restarted), membership never changed.
const SEEDS = Number(process.env.RINGCAST_LINK_SEEDS ?? 500);

/** Regular configurations installed after the first one, over all daemons. */
function membershipChanges(logs: Map<string, LogEntry[]>): number {
  const rings = new Set<string>();
  for (const log of logs.values()) for (const e of log) if (e.t === 'conf' && e.kind === 'regular') rings.add(e.ring);
  return rings.size - 1;
}

describe(`multipath seed sweep (${SEEDS} seeds)`, function () {
  this.timeout(1_800_000);

  it('covers 2–4 links, both modes, downs of a network and of one interface, lossy and delayed links, restarts', () => {
    const all = Array.from({ length: Math.min(SEEDS, 200) }, (_, i) => linkSweepOptions(i + 1));
    assert.deepEqual([...new Set(all.map((o) => o.links))].sort(), [2, 3, 4]);
    assert.ok(all.some((o) => o.linkMode === 'active') && all.some((o) => o.linkMode === 'passive'));
    assert.ok(all.some((o) => (o.linkDowns ?? 0) >= 2));
    assert.ok(all.some((o) => (o.linkLossy ?? 0) > 0));
    assert.ok(all.some((o) => (o.linkDelays ?? 0) > 0 && (o.linkDelayMs ?? 0) >= 200));
    assert.ok(all.some((o) => (o.restarts ?? 0) > 0));
    assert.ok(all.every((o) => (o.linkDowns ?? 0) + (o.linkLossy ?? 0) + (o.linkDelays ?? 0) > 0));
  });

  it('one link of one host down and up, both modes: no membership change, nothing lost', () => {
    for (const linkMode of ['active', 'passive'] as const) {
      const { summary, logs } = runSimulation({
        seed: 7,
        daemons: 3,
        links: 2,
        linkMode,
        messages: 1500,
        rate: 0.5,
        schedule: [
          { time: 500, kind: 'linkDown', link: 0, host: 2 },
          { time: 1500, kind: 'linkUp', link: 0, host: 2 },
          { time: 2000, kind: 'linkDown', link: 0 },
          { time: 2600, kind: 'linkUp', link: 0 },
        ],
      });
      assert.equal(failureReason(summary), undefined, linkMode);
      assert.equal(membershipChanges(logs), 0, linkMode);
      assert.ok(summary.links!.connected && summary.links!.downs > 0 && summary.links!.ups > summary.links!.downs, JSON.stringify(summary.links));
      if (linkMode === 'passive') assert.ok(summary.links!.resent > 0, 'passive failover resent datagrams');
    }
  });

  it('a link delayed by many rotations (300 ms) while the other stays up: copies dropped, nothing confused', () => {
    const { summary, logs } = runSimulation({
      seed: 3,
      daemons: 4,
      links: 2,
      messages: 2000,
      rate: 1,
      size: '1-1500',
      linkTuning: { window: 64 },
      schedule: [
        { time: 200, kind: 'linkDelay', link: 1, ms: 300 },
        { time: 1500, kind: 'linkUndelay', link: 1 },
      ],
    });
    assert.equal(failureReason(summary), undefined);
    assert.equal(membershipChanges(logs), 0);
    assert.ok(summary.links!.tooOld > 0, `copies arrived before the window: ${JSON.stringify(summary.links)}`);
  });

  it('every invariant holds for every seed; no membership change where a good link always connected every pair', () => {
    const failures: string[] = [];
    let stable = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const opts = linkSweepOptions(seed);
      const { summary, logs } = runSimulation(opts);
      const why = failureReason(summary);
      if (why) failures.push(`seed ${seed} ${JSON.stringify(opts)}: ${why}`);
      else if (summary.links!.connected && !opts.crashes) {
        stable++;
        const changes = membershipChanges(logs);
        if (changes !== 0) failures.push(`seed ${seed} ${JSON.stringify(opts)}: ${changes} membership change(s) though a good link connected every pair; faults: ${summary.faults.join('; ')}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(stable >= SEEDS / 3, `only ${stable} seeds kept every pair connected`);
  });
});
