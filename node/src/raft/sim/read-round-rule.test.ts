import assert from 'node:assert/strict';
import { nodeId, type NodeId } from '../core/types.js';
import { SimCluster } from './cluster.js';
import { InvariantViolation } from './invariant-violation.js';
import { ReadRoundRule } from './read-round-rule.js';

const [n1, n2, n3] = ['n1', 'n2', 'n3'].map(nodeId) as [NodeId, NodeId, NodeId];
const voters = [n1, n2, n3];
/** n1's log: entries 1-4 of term 1, then 5-7 of term 2 (its election entry at 5). */
const termAt = (i: number): number | undefined => (i >= 5 ? 2 : i >= 1 ? 1 : 0);

const violates = (e: unknown): boolean => {
  assert.ok(e instanceof InvariantViolation);
  assert.equal(e.invariant, 'read without a fresh quorum');
  assert.match(e.message, /n1 \(leader of term 2\) answered read r1 with voters \(n1,n2,n3\)/);
  return true;
};

/** n1 leads term 2 and sent round-0 heartbeats to n2 and n3 before read r1 arrived; then round 1 went out. */
function roundsAroundARead(): ReadRoundRule {
  const rule = new ReadRoundRule();
  rule.heartbeatSent(n1, 2, n2, 0);
  rule.heartbeatSent(n1, 2, n3, 0);
  rule.asked(n1, 2, 'r1', voters);
  rule.heartbeatSent(n1, 2, n2, 1);
  rule.heartbeatSent(n1, 2, n3, 1);
  return rule;
}

describe('ReadIndex rule (read-round-rule.ts)', () => {
  it('rejects a read answered on a heartbeat answer that left before the read arrived', () => {
    const rule = roundsAroundARead();
    rule.heartbeatAnswered(n1, 2, n2, 0); // n2 answers the old round: proves n1 led before r1 only
    rule.afterAnswer(n1, 2, voters);
    assert.throws(() => rule.answered(n1, 'r1', 6, voters, termAt), violates);
  });

  it('accepts the same read once one follower answered a heartbeat sent after it arrived', () => {
    const rule = roundsAroundARead();
    rule.heartbeatAnswered(n1, 2, n2, 0);
    rule.heartbeatAnswered(n1, 2, n3, 1);
    rule.afterAnswer(n1, 2, voters);
    rule.answered(n1, 'r1', 6, voters, termAt);
    assert.equal(rule.checked, 1);
  });

  it('does not count a round first sent before the read, even when it is sent again after it', () => {
    // A read waiting for the term's first commit keeps the round number; tick heartbeats repeat it.
    const rule = new ReadRoundRule();
    rule.heartbeatSent(n1, 2, n2, 0);
    rule.asked(n1, 2, 'r1', voters);
    rule.heartbeatSent(n1, 2, n2, 0);
    rule.heartbeatAnswered(n1, 2, n2, 0);
    assert.throws(() => rule.answered(n1, 'r1', 6, voters, termAt), violates);
  });

  it("does not count answers to an earlier term's heartbeats", () => {
    const rule = new ReadRoundRule();
    rule.heartbeatSent(n1, 1, n2, 1); // n1 led term 1 and sent round 1
    rule.asked(n1, 2, 'r1', voters); // now leads term 2
    rule.heartbeatSent(n1, 2, n3, 0);
    rule.heartbeatAnswered(n1, 2, n2, 1); // no term-2 heartbeat carried round 1 to n2
    assert.throws(() => rule.answered(n1, 'r1', 6, voters, termAt), violates);
  });

  it("rejects a read index that is not an entry of the leader's term, whatever the quorum", () => {
    const rule = roundsAroundARead();
    rule.heartbeatAnswered(n1, 2, n2, 1);
    rule.heartbeatAnswered(n1, 2, n3, 1);
    assert.throws(
      () => rule.answered(n1, 'r1', 4, voters, termAt),
      (e: unknown) => {
        assert.ok(e instanceof InvariantViolation);
        assert.equal(e.invariant, "read index before the term's commit");
        assert.match(e.message, /n1 \(leader of term 2\) answered read r1 with read index 4, an entry of term 1/);
        return true;
      },
    );
  });

  it('lets a single voter answer at once, and ignores answers to reads it did not see arrive at a leader', () => {
    const rule = new ReadRoundRule();
    rule.asked(n1, 2, 'r1', [n1]);
    rule.answered(n1, 'r1', 6, [n1], termAt);
    rule.answered(n2, 'r9', 6, voters, termAt); // a follower's read state for its forwarded read
    assert.equal(rule.checked, 1);
  });

  it('checks the local and forwarded reads of a real cluster, which a correct core passes', () => {
    const c = new SimCluster({ seed: 3 });
    for (const id of voters) c.addNode(id, { voters, learners: [] });
    c.node('n1').raw?.campaign();
    c.stabilize();
    assert.equal(c.leader()?.id, n1);
    assert.deepEqual(c.readIndex(c.node('n1'), 'local'), { ok: true });
    assert.deepEqual(c.readIndex(c.node('n2'), 'forwarded'), { ok: true });
    c.stabilize();
    assert.equal(c.reads.checked, 2);
  });
});
