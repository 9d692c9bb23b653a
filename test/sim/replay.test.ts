import { strict as assert } from 'node:assert';
import { failureReason, runSimulation, type SimResult } from '../../src/sim/run';
import { replaySweepOptions } from '../../src/sim/sweep';
import type { SimOptions } from '../../src/sim/simulator';

// Authenticated traffic in the simulator (src/wire/auth.ts on every datagram):
// - replay: recorded datagrams (this ring's, earlier rings', earlier lives') sent again to random
//   daemons never break an invariant (src/sim/sweep.ts replaySweepOptions picks each seed's mix);
// - a daemon with another key, or with none, never gets into the others' ring, and theirs runs
//   as if it were not there.
const SEEDS = Number(process.env.RINGCAST_REPLAY_SEEDS ?? 200);

describe(`replay seed sweep (${SEEDS} seeds)`, function () {
  this.timeout(900_000);

  it('covers restarts, partitions, two networks, and mac / encrypt / no authentication', () => {
    const all = Array.from({ length: SEEDS }, (_, i) => replaySweepOptions(i + 1));
    assert.ok(all.some((o) => (o.restarts ?? 0) > 0) && all.some((o) => (o.partitions ?? 0) > 0));
    assert.ok(all.some((o) => o.links === 2) && all.some((o) => o.links === 1));
    for (const a of ['off', 'mac', 'encrypt']) assert.ok(all.some((o) => o.auth === a), a);
    assert.ok(all.every((o) => (o.replay ?? 0) > 0));
  });

  it('every invariant holds for every seed; replays include earlier rings and earlier lives', () => {
    const failures: string[] = [];
    const replays = { sent: 0, earlierRing: 0, earlierLife: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const opts = replaySweepOptions(seed);
      const { summary } = runSimulation(opts);
      const why = failureReason(summary) ?? (summary.auth && summary.auth.dropped + summary.auth.acceptedAcrossKeys > 0 ? `auth ${JSON.stringify(summary.auth)}` : undefined);
      if (why) failures.push(`seed ${seed} ${JSON.stringify(opts)}: ${why}`);
      for (const k of ['sent', 'earlierRing', 'earlierLife'] as const) replays[k] += summary.replays?.[k] ?? 0;
    }
    assert.deepEqual(failures, []);
    assert.ok(replays.earlierRing > SEEDS && replays.earlierLife > SEEDS / 10, JSON.stringify(replays));
  });

  it('regression: a fresh token replayed to a member it was not sent to is dropped (it forked the token)', () => {
    for (const links of [1, 2]) {
      const r = runSimulation({ seed: 1, daemons: 3, links, replay: 0.2, messages: 500, rate: 0.3, size: '1-1000' });
      assert.equal(failureReason(r.summary), undefined, `${links} link(s)`);
    }
  });
});

/** Names a run's daemons log under: "d3", or "d3@2" for a later life. */
const daemonOf = (name: string) => name.split('@')[0]!;

function confs(r: SimResult, name: string) {
  return (r.logs.get(name) ?? []).filter((e): e is Extract<typeof e, { t: 'conf' }> => e.t === 'conf');
}

/** Asserts that `outsiders` never share a configuration with the rest, and the rest keep one ring. */
function assertApart(r: SimResult, outsiders: string[], label: string): void {
  assert.equal(failureReason(r.summary), undefined, label);
  for (const name of r.logs.keys()) {
    const outsider = outsiders.includes(daemonOf(name));
    for (const c of confs(r, name)) {
      const mixed = c.members.some((m) => outsiders.includes(daemonOf(m)) !== outsider);
      assert.ok(!mixed, `${label}: ${name} installs ${c.kind} ${c.ring} with ${c.members.join(' ')}`);
    }
  }
}

describe('daemons with another key, or none', function () {
  this.timeout(300_000);

  const base: Partial<SimOptions> = { daemons: 4, messages: 400, rate: 0.2, size: '1-1500', service: 'mixed' };

  for (const auth of ['mac', 'encrypt'] as const) {
    it(`${auth}: a daemon with the wrong key never joins; 0 of its datagrams accepted; the others install one ring`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const r = runSimulation({ ...base, seed, auth, wrongKey: [4] });
        const label = `seed ${seed}`;
        assertApart(r, ['d4'], label);
        const a = r.summary.auth!;
        assert.equal(a.acceptedAcrossKeys, 0, label);
        assert.ok(a.dropped > 0, `${label}: the stranger's datagrams are dropped (${JSON.stringify(a)})`);
        for (const d of ['d1', 'd2', 'd3']) {
          const regular = confs(r, d).filter((c) => c.kind === 'regular');
          assert.deepEqual(regular.map((c) => c.members), [['d1', 'd2', 'd3']], `${label}: ${d} installs one ring, of the keyed daemons`);
        }
        assert.deepEqual(confs(r, 'd4').map((c) => c.members), [['d4']], `${label}: d4 runs alone`);
      }
    });
  }

  it('with loss, crashes, restarts and replays too: the stranger never joins, the others stay correct', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSimulation({
        ...base,
        seed,
        daemons: 5,
        auth: seed % 2 ? 'mac' : 'encrypt',
        wrongKey: [5],
        crashes: 1,
        restarts: 1,
        loss: 0.02,
        replay: 0.05,
        links: seed % 4 === 0 ? 2 : 1,
      });
      assertApart(r, ['d5'], `seed ${seed}`);
      assert.equal(r.summary.auth!.acceptedAcrossKeys, 0);
    }
  });

  it('a daemon without a key and keyed ones never form one ring', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const r = runSimulation({ ...base, seed, auth: 'mac', noKey: [4], links: seed % 2 ? 1 : 2 });
      assertApart(r, ['d4'], `seed ${seed}`);
      assert.ok(r.summary.auth!.dropped > 0);
    }
  });
});
