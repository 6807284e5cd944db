import assert from 'node:assert/strict';
import { simulateRaftNodes } from './raft-node-sim.js';

// The production loop under the simulator (issue 13 item 3, first step): RaftNode itself on
// virtual time, stalled disks, power cuts and a lossy network (raft-node-sim.ts). A failure
// names its seed; replay one with SEEDS=<seed> npx mocha node/src/raft/sim/raft-node-sim.test.ts.

const seeds = process.env.SEEDS?.split(',').map(Number) ?? [1, 2, 3, 4, 5];

describe('simulator: the production RaftNode loop on virtual time keeps the invariants', function () {
  this.timeout(120_000);
  for (const seed of seeds) {
    it(`seed ${seed}: stalled disks, power cuts and a lossy network break no invariant, and the cluster converges`, async () => {
      // GIVEN three RaftNodes on one manual clock WHEN the seeded schedule runs THEN no invariant breaks and all converge
      const r = await simulateRaftNodes(seed);
      assert.ok(r.acked > 0, `seed ${seed}: no proposal was acknowledged (${JSON.stringify(r)})`);
    });
  }
});
