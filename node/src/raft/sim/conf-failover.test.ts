import assert from 'node:assert/strict';
import { nodeId, type NodeId } from '../core/types.js';
import type { RaftStatus } from '../core/raw-node.js';
import { ConfFailover, type FailoverView } from './conf-failover.js';

const [n1, n2, n3, n4] = ['n1', 'n2', 'n3', 'n4'].map(nodeId) as [NodeId, NodeId, NodeId, NodeId];
/** A stream that always draws 0: every fault fires. */
const always = (): number => 0;
const view = (now: number, over: Partial<FailoverView> = {}): FailoverView => ({
  now,
  commitOf: () => 0,
  leader: undefined,
  voters: [n1, n2, n3],
  all: [n1, n2, n3, n4],
  ...over,
});

describe('leader failovers in a membership change (conf-failover.ts)', () => {
  it('a promotion: isolates the learner, then power-cuts the leader once the promotion committed and the learner was cut off long enough', () => {
    const f = new ConfFailover(always, 200);
    const act = f.accepted(100, n1, 2, { type: 'promote', node: n4 }, 9, true, true);
    assert.deepEqual(act, { type: 'isolate-learner', learner: n4 });
    assert.equal(f.active, true);
    assert.equal(f.step(view(150, { commitOf: () => 9 })), undefined, 'not before the learner was cut off 200 units');
    assert.equal(f.step(view(300, { commitOf: () => 8 })), undefined, 'not before the promotion committed');
    assert.deepEqual(f.step(view(300, { commitOf: () => 9 })), { type: 'fail-leader', leader: n1, learner: n4 });
    assert.equal(f.active, false);
  });

  it('a change cut off with its leader: the island becomes the new leader and the old one, which rejoins all once its commit covers the entry', () => {
    const f = new ConfFailover(always, 200);
    assert.deepEqual(f.accepted(100, n1, 2, { type: 'addLearner', node: n4 }, 7, true), {
      type: 'cut-off-leader',
      leader: n1,
    });
    assert.equal(f.step(view(120, { leader: { id: n1, term: 2 } })), undefined, 'the old leader still leads its term');
    const swap = f.step(view(130, { leader: { id: n2, term: 3 } }));
    assert.equal(swap?.type, 'swap');
    // 3 voters: a majority is the new leader and the old one; the non-voter n4 goes with them
    assert.deepEqual(swap?.type === 'swap' ? swap.island : [], [n2, n1, n4]);
    assert.equal(f.step(view(140, { commitOf: () => 6 })), undefined);
    assert.deepEqual(f.step(view(150, { commitOf: () => 7 })), { type: 'rejoin', leader: n1 });
  });

  it('gives up when nobody is elected, and starts nothing while another partition runs', () => {
    const f = new ConfFailover(always, 200);
    assert.equal(f.accepted(100, n1, 2, { type: 'remove', node: n3 }, 7, false), undefined);
    f.accepted(100, n1, 2, { type: 'remove', node: n3 }, 7, true);
    assert.equal(f.step(view(600)), undefined);
    assert.equal(f.step(view(900))?.type, 'give-up');
  });

  it('the operator promotes a learner only once it holds everything committed, and never before the leader committed in its term', () => {
    const f = new ConfFailover(always, 200);
    const st = (match: number) =>
      ({
        id: n1,
        commit: 10,
        activeConf: { voters: [n1, n2, n3], learners: [n4] },
        progress: [{ id: n4, match }],
      }) as unknown as RaftStatus;
    assert.equal(f.wantsChange(1, st(10), false), undefined);
    assert.equal(f.wantsChange(1, st(9), true), undefined);
    assert.deepEqual(f.wantsChange(1, st(10), true), { type: 'promote', node: n4 });
  });
});
