import assert from 'node:assert/strict';
import { logIndex, nodeId, term, type Message, type NodeId } from '../core/types.js';
import { SimCluster } from './cluster.js';
import { InvariantViolation } from './invariant-violation.js';
import { LeaseRule } from './lease-rule.js';

const n1 = nodeId('n1');
const n2 = nodeId('n2');
const heartbeat = (t: number): Message => ({
  type: 'heartbeat',
  from: n1,
  to: n2,
  term: term(t),
  commit: logIndex(0),
  readSeq: 0,
});

describe('leader lease rule (lease-rule.ts)', () => {
  it('lets a follower ignore candidates for electionTicks after a leader contact, not one tick longer', () => {
    const rule = new LeaseRule(() => 10);
    rule.delivered(n2, heartbeat(3), 3);
    for (let i = 0; i < 9; i++) rule.ticked(n2);
    rule.ignored(n2, 'n3', 4); // 9 ticks: within the lease
    rule.ticked(n2);
    assert.throws(
      () => rule.ignored(n2, 'n3', 4),
      (e: unknown) => {
        assert.ok(e instanceof InvariantViolation);
        assert.equal(e.invariant, 'leader lease outlived');
        assert.match(
          e.message,
          /n2 ignored the term 4 vote request of n3 .* 10 ticks after it last heard from a leader/,
        );
        return true;
      },
    );
  });

  it('restarts the lease on a leader message of the current term, not on a stale one', () => {
    const rule = new LeaseRule(() => 10);
    for (let i = 0; i < 12; i++) rule.ticked(n2);
    rule.delivered(n2, heartbeat(2), 3); // a deposed leader's heartbeat: refused, no contact
    assert.throws(() => rule.ignored(n2, 'n3', 4), InvariantViolation);
    rule.delivered(n2, heartbeat(3), 3);
    rule.ignored(n2, 'n3', 4);
  });

  it('hears every vote request the core ignores within its lease (the core log line it watches exists)', () => {
    // GIVEN a 3-node cluster with leader n1, counting ticks through SimCluster.tick
    const ids: NodeId[] = [n1, n2, nodeId('n3')];
    const c = new SimCluster({ seed: 1 });
    for (const id of ids) c.addNode(id, { voters: ids, learners: [] });
    c.node('n1').raw?.campaign();
    c.stabilize();
    const seen: string[] = [];
    c.lease.ignored = (id, from) => void seen.push(`${id}<-${String(from)}`);
    // WHEN n2, which just heard from n1, gets n3's pre-vote for the next term
    const st = c.node('n2').raw?.status();
    assert.equal(st?.lead, 'n1');
    c.deliver({
      type: 'preVote',
      from: nodeId('n3'),
      to: n2,
      term: term((st?.term ?? 0) + 1),
      lastIndex: logIndex(9),
      lastTerm: term(1),
    });
    // THEN it ignored it within its lease, and the rule was told
    assert.deepEqual(seen, ['n2<-n3']);
  });
});
