import assert from 'node:assert/strict';
import { PROMOTE_MAX_LAG, RemovedMembers, nextMembershipStep } from './membership.js';

const peer = (raftId: string, role = 'voter'): { raftId: string; rpcAddr: string; role: string } => ({ raftId, rpcAddr: `${raftId}:8400`, role });

describe('membership: the one next change from gossip and the Raft configuration', () => {
  it('adds an alive gossip member that is not in the configuration as a learner (never straight to voter)', () => {
    assert.deepEqual(nextMembershipStep([{ id: 'a', suffrage: 'voter' }], [peer('b')]), { type: 'add-learner', id: 'b', rpcAddr: 'b:8400' });
  });

  it('makes one change at a time: additions first, in name order', () => {
    const step = nextMembershipStep([{ id: 'a', suffrage: 'voter' }, { id: 'c', suffrage: 'learner', lag: 0 }], [peer('d'), peer('b'), peer('c')]);
    assert.deepEqual(step, { type: 'add-learner', id: 'b', rpcAddr: 'b:8400' });
  });

  it('promotes a learner only once it is nearly caught up and asks to be a voter', () => {
    const members = [{ id: 'a', suffrage: 'voter' as const }, { id: 'b', suffrage: 'learner' as const, lag: PROMOTE_MAX_LAG + 1 }];
    assert.deepEqual(nextMembershipStep(members, [peer('b')]), { type: 'none' });
    assert.deepEqual(nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner' }], [peer('b')]), { type: 'none' }, 'lag unknown (not the leader view)');
    assert.deepEqual(nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner', lag: PROMOTE_MAX_LAG }], [peer('b')]), { type: 'promote', id: 'b' });
    assert.deepEqual(nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner', lag: 0 }], [peer('b')]), { type: 'promote', id: 'b' });
    assert.deepEqual(nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner', lag: 0 }], [peer('b', 'learner')]), { type: 'none' });
  });

  it('never removes a member, whatever gossip says (a failed or absent member stays)', () => {
    const members = [{ id: 'a', suffrage: 'voter' as const }, { id: 'b', suffrage: 'voter' as const }, { id: 'c', suffrage: 'learner' as const, lag: 0 }];
    assert.deepEqual(nextMembershipStep(members, []), { type: 'none' });
  });
});

describe('membership: removed members are learned from the configuration', () => {
  it('an id that leaves the observed configuration is remembered as removed until forgotten', () => {
    const r = new RemovedMembers();
    assert.deepEqual(r.observe(['a', 'b', 'c']), [], 'the first observation removes nobody');
    assert.deepEqual(r.observe(['a', 'b', 'c', 'd']), [], 'an addition is not a removal');
    assert.deepEqual(r.observe(['a', 'b', 'd']), ['c']);
    assert.ok(r.has('c'));
    r.forget('c');
    assert.ok(!r.has('c'));
    assert.deepEqual(r.observe(['a', 'b', 'd']), [], 'an unchanged configuration does not remember it again');
  });
});
