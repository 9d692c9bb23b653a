import { strict as assert } from 'node:assert';
import { failureReason, runSimulation } from '../../src/sim/run';
import { faultSweepOptions, sweepOptions } from '../../src/sim/sweep';

// Every seed that once failed, with what it caught. They stay here for good.
const FAULT_SEEDS: [number, string][] = [
  [3, 'self delivery: a singleton ring never formed (the lone commit token was taken for a duplicate)'],
  [8, 'joins sent before the commit token sent members back to gather, over and over'],
  [14, 'FIFO: a message delivered in a transitional configuration without its sender, then one after it rejoined'],
  [17, 'a ring installed by its leader alone (the others failed while it formed): first-message FIFO'],
  [20, 'self delivery after two crashes and a partition'],
  [37, 'a restarted daemon reusing its first life\'s message ids'],
  [40, 'messages sent before the first configuration'],
  [103, 'FIFO gap in the transitional configuration: messages after a hole from daemons that left'],
  [183, 'safe delivery: a member left recovery before installing (DONE markers are now SAFE)'],
  [215, 'FIFO gap: a fragmented SAFE message incomplete after a partition'],
  [405, 'flapping singleton rings, then a transitional configuration without the sender'],
  [173, 'reliability: a ring its leader installed alone, then crashed'],
  [1009, 'liveness: two daemons failing each other in turn, forming singleton rings for ever'],
  [166, 'liveness: two rings with the same number never merging'],
  [3049, 'safe delivery: a member left a completed recovery, then filtered the old ring with fewer companions'],
  [3282, 'safe delivery: the same, seven daemons'],
  [7638, 'safe delivery: the same, with restarts'],
  [675, 'safe delivery: the same, after a restart'],
  [9984, 'safe delivery: the same, after three partitions'],
];
const RING_SEEDS: [number, string][] = [];

describe('regression seeds', () => {
  for (const [seed, what] of FAULT_SEEDS) {
    it(`fault seed ${seed}: ${what}`, () => {
      const why = failureReason(runSimulation(faultSweepOptions(seed)).summary);
      assert.equal(why, undefined);
    });
  }
  for (const [seed, what] of RING_SEEDS) {
    it(`ring seed ${seed}: ${what}`, () => {
      assert.equal(failureReason(runSimulation(sweepOptions(seed)).summary), undefined);
    });
  }
});
