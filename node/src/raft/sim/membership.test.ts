import assert from 'node:assert/strict';
import { nodeId } from '../core/types.js';
import { SimCluster } from './cluster.js';

describe('membership changes (simulated cluster)', () => {
  it('refuse to promote a learner that has not caught up, and accept it once it has', () => {
    // GIVEN a 3-node cluster with a learner n4 that is cut off from the leader
    const c = new SimCluster({ seed: 7 });
    const voters = ['n1', 'n2', 'n3'].map(nodeId);
    for (const id of voters) c.addNode(id, { voters, learners: [] });
    c.node('n1').raw?.campaign();
    c.stabilize();
    c.addNode(nodeId('n4'), null);
    c.net.partition([[nodeId('n4')]]);
    const leader = c.node('n1').raw;
    assert.ok(leader);
    assert.equal(leader.proposeConfChange({ type: 'addLearner', node: nodeId('n4') }).ok, true);
    c.stabilize();
    // WHEN the leader is asked to promote it
    const early = leader.proposeConfChange({ type: 'promote', node: nodeId('n4') });
    // THEN it refuses, saying why
    assert.equal(early.ok, false);
    assert.match(!early.ok && early.reason === 'invalid-conf-change' ? early.detail : '', /n4 has not caught up/);
    // AND once the learner is reachable and has caught up, the promotion goes through
    c.net.heal();
    for (let i = 0; i < 3; i++) {
      leader.tick();
      c.stabilize();
    }
    assert.equal(leader.proposeConfChange({ type: 'promote', node: nodeId('n4') }).ok, true);
    c.stabilize();
    assert.deepEqual(c.node('n4').raw?.status().confState.voters, ['n1', 'n2', 'n3', 'n4']);
  });
});
