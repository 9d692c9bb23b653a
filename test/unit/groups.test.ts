// GroupsCore against the Spread 5.0.1 captures: the scenarios' client requests go through the
// ring in a plausible total order and every session must receive exactly the frames the real
// daemon sent it. Daemon ids are Spread's (daemonVid of the daemon names) and ring sequence
// numbers are chosen so that ring time = the captures' membership time, so group ids match
// too; the only normalization is the padding after the NUL of 32-byte name fields.
import { strict as assert } from 'node:assert';
import { daemonVid } from '../../src/config/hash';
import { findVectors, loadScenarios, type Scenario } from './clientWireFixtures';
import {
  Cluster,
  assertSameFrames,
  captureFrame,
  expectedFrames,
  regular,
  sentFrames,
  transitional,
} from './groupsFixtures';

const vectors = findVectors();

describe('GroupsCore against the Spread 5.0.1 captures', function () {
  let scenarios: Map<string, Scenario>;

  before(function () {
    if (!vectors.dir) this.skip();
    scenarios = new Map(loadScenarios(vectors.dir!).map((s) => [s.name, s]));
  });

  /** Sends the next capture frame of `conn` (in its c2s order). */
  function sender(cluster: Cluster, scenario: Scenario, daemon: number, conn: string, privateGroup: string): (kind: string) => void {
    const files = sentFrames(scenario, conn);
    let next = 0;
    return (kind: string) => {
      const file = files[next++];
      assert.ok(file && file.includes(kind), `${conn}: next frame ${file} is not ${kind}`);
      cluster.sendFrame(daemon, privateGroup, captureFrame(scenario, file, privateGroup));
    };
  }

  it('s1_basic: join, join, SAFE, leave (self-leave), leave, disconnect', function () {
    const s = scenarios.get('s1_basic')!;
    const sp1 = daemonVid('sp1');
    assert.equal(sp1, 4254043461);
    const cluster = new Cluster([sp1]);
    cluster.configure([sp1], regular(1795306493, sp1, [sp1]));
    for (const pg of ['#alice#sp1', '#bob#sp1', '#r9838-9#sp1', '#dup#sp1']) cluster.openSession(sp1, pg);
    const alice = sender(cluster, s, sp1, 'alice', '#alice#sp1');
    const bob = sender(cluster, s, sp1, 'bob', '#bob#sp1');
    alice('JOIN');
    bob('JOIN');
    alice('SAFE');
    bob('LEAVE');
    alice('LEAVE');
    alice('KILL');
    bob('KILL');
    sender(cluster, s, sp1, 'anon', '#r9838-9#sp1')('KILL');
    sender(cluster, s, sp1, 'dup1', '#dup#sp1')('KILL');
    assertSameFrames(cluster.frames('#alice#sp1'), expectedFrames(s, 'alice'), 'alice');
    assertSameFrames(cluster.frames('#bob#sp1'), expectedFrames(s, 'bob'), 'bob');
    assert.deepEqual(cluster.frames('#r9838-9#sp1'), []);
    assert.deepEqual(cluster.released, ['#alice#sp1', '#bob#sp1', '#r9838-9#sp1', '#dup#sp1']);
    assert.deepEqual(cluster.core(sp1).snapshot(), []);
  });

  it('s2_burst_multigroup_disconnect: 10 FIFO, CAUSED_BY_DISCONNECT, one delivery to two groups', function () {
    const s = scenarios.get('s2_burst_multigroup_disconnect')!;
    const sp1 = daemonVid('sp1');
    const cluster = new Cluster([sp1]);
    cluster.configure([sp1], regular(1795306493, sp1, [sp1]));
    cluster.openSession(sp1, '#alice#sp1');
    cluster.openSession(sp1, '#carol#sp1');
    const alice = sender(cluster, s, sp1, 'alice', '#alice#sp1');
    const carol = sender(cluster, s, sp1, 'carol', '#carol#sp1');
    alice('JOIN');
    alice('JOIN');
    carol('JOIN');
    for (let i = 0; i < 10; i++) carol('FIFO');
    carol('KILL');
    alice('SAFE');
    alice('KILL');
    assertSameFrames(cluster.frames('#alice#sp1'), expectedFrames(s, 'alice'), 'alice');
    assertSameFrames(cluster.frames('#carol#sp1'), expectedFrames(s, 'carol'), 'carol');
  });

  it('s3_ring_kill_d3: 3 daemons, SAFE, d3 dies: TRANSITION_MESS then CAUSED_BY_NETWORK', function () {
    const s = scenarios.get('s3_ring_kill_d3')!;
    const [d1, d2, d3] = ['d1', 'd2', 'd3'].map(daemonVid) as [number, number, number];
    assert.deepEqual([d1, d2, d3], [1552775919, 348480928, 4014350958]);
    const cluster = new Cluster([d1, d2, d3]);
    // The daemons' first ring: they exchange their (empty) groups state.
    cluster.configure([d1, d2, d3], regular(1795307741, d1, [d1, d2, d3]));
    for (const id of [d1, d2, d3]) assert.equal(cluster.core(id).state, 'operational');
    cluster.openSession(d1, '#alice#d1');
    cluster.openSession(d2, '#bob#d2');
    cluster.openSession(d3, '#carol#d3');
    sender(cluster, s, d1, 'd1_alice', '#alice#d1')('JOIN');
    sender(cluster, s, d2, 'd2_bob', '#bob#d2')('JOIN');
    const carol = sender(cluster, s, d3, 'd3_carol', '#carol#d3');
    carol('JOIN');
    carol('SAFE');
    cluster.kill(d3);
    cluster.configure([d1, d2], transitional(1795307779, d1, [d1, d2]));
    cluster.configure([d1, d2], regular(1795307779, d1, [d1, d2]));
    assertSameFrames(cluster.frames('#alice#d1'), expectedFrames(s, 'd1_alice'), 'alice');
    assertSameFrames(cluster.frames('#bob#d2'), expectedFrames(s, 'd2_bob'), 'bob');
    assertSameFrames(cluster.frames('#carol#d3'), expectedFrames(s, 'd3_carol'), 'carol');
  });
});
