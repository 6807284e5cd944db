import assert from 'node:assert/strict';
import type { LogIndex } from '../core/types.js';
import type { LeaderChange } from './node-status.js';
import { useMemoryCluster } from './testing/use-memory-cluster.js';
import { enc } from './testing/text.js';

describe('raft shell: observing a RaftNode (on* subscriptions, the only way)', function () {
  this.timeout(30_000);
  const cluster = useMemoryCluster();

  it('a subscriber sees applies and fsync rounds until it unsubscribes', async () => {
    const c = await cluster();
    const leader = await c.leader();
    const applied: LogIndex[] = [];
    const fsyncs: number[] = [];
    const offApplied = leader.onApplied((i) => applied.push(i));
    const offFsync = leader.onFsync((ms) => fsyncs.push(ms));
    const r = await leader.propose(enc('seen'));
    assert.ok(applied.includes(r.index), `applied ${applied.join(',')} includes ${r.index}`);
    assert.ok(fsyncs.length > 0 && fsyncs.every((ms) => ms >= 0), `fsync rounds reported: ${fsyncs.join(',')}`);
    offApplied();
    offFsync();
    const [a, f] = [applied.length, fsyncs.length];
    await leader.propose(enc('unseen'));
    assert.deepEqual([applied.length, fsyncs.length], [a, f], 'nothing reported after unsubscribing');
  });

  it('a node restarted and subscribed at once reports the leader it learns, with its role and term', async () => {
    const c = await cluster();
    const leader = await c.leader();
    const follower = await c.stopFollower(leader);
    const node = await c.start(follower);
    const changes: LeaderChange[] = [];
    node.onLeaderChange((e) => changes.push(e));
    const known = (): LeaderChange | undefined => changes.find((e) => e.leader !== null);
    for (const deadline = Date.now() + 20_000; known() === undefined;) {
      assert.ok(Date.now() < deadline, `the restarted node reported a leader within 20 s: ${JSON.stringify(changes)}`);
      await new Promise((r) => setTimeout(r, 10)); // poll interval while it hears from the leader
    }
    const e = known() as LeaderChange;
    assert.equal(e.role, e.leader === node.id ? 'leader' : 'follower', JSON.stringify(e));
    assert.ok(e.term > 0 && e.term <= node.status().term, `term ${e.term} of the change, now ${node.status().term}`);
  });

  it('onFatal fires once on a fatal storage error, and at once for a subscriber that comes later', async () => {
    const c = await cluster();
    const leader = await c.leader();
    const early: Error[] = [];
    leader.onFatal((e) => early.push(e));
    const eio = Object.assign(new Error('EIO: fsync failed'), { code: 'EIO' });
    leader.storage.sync = () => Promise.reject(eio);
    await assert.rejects(leader.propose(enc('never acknowledged')), (e: unknown) => e === eio);
    assert.deepEqual(early, [eio]);
    const late: Error[] = [];
    leader.onFatal((e) => late.push(e));
    assert.deepEqual(late, [eio], 'a subscription after the failure is told at once');
    assert.deepEqual(early, [eio], 'the first subscriber is not told twice');
  });
});
