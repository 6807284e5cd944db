/**
 * Members' storage ids follow the replicated configuration (issue 12, core/types.ts
 * `ConfState.storage`): a node that was down while a member was replaced — removed, then
 * added again with a new storage id — learns the new id from the log it catches up with, or
 * from the snapshot it installs when the leader compacted the replacement away, whichever
 * batches it applies them in; and keeps it across a restart. Five RaftNodes on real logs and
 * the memory transport: a replacement commits without the one that is down.
 */
import assert from 'node:assert/strict';
import { type NodeId, nodeId } from '../core/types.js';
import type { RaftNode } from './raft-node.js';
import { StableStateCorruptError } from './errors.js';
import { decodeStableState, encodeStableState, freshStableState } from './stable-store.js';
import { COMPACTING_LOG, type MemoryCluster } from './testing/memory-cluster.js';
import { useMemoryCluster } from './testing/use-memory-cluster.js';
import { atLeader } from './testing/at-leader.js';
import { enc } from './testing/text.js';

/**
 * Runs `op` at the leader of the moment, retried while refused for now (no leader, change
 * pending, not caught up); bounded. `without`: a running node that is out of the
 * configuration, so it hears no leader and is not asked to agree on one.
 */
const at = <T>(c: MemoryCluster, op: (leader: RaftNode) => Promise<T>, without?: NodeId): Promise<T> =>
  atLeader(
    () => c.leader(undefined, without === undefined ? undefined : c.ids.filter((id) => id !== without)),
    op,
    30_000,
    { rejected: true },
  );

/** Replaces member `x` as the agent does for a wiped one: remove, add again as a learner with `storage`, promote. */
async function replace(c: MemoryCluster, x: NodeId, storage: string): Promise<void> {
  await at(c, (l) => l.removeMember(x));
  // x still runs, out of the configuration until it is added again: once its election timer
  // fires it knows no leader (under load that came before the add: "no agreed leader").
  await at(c, (l) => l.addLearner(x, 'memory', storage), x);
  await at(c, (l) => l.promote(x));
}

/** The storage id every running node's configuration in force gives `x`. */
const seen = (c: MemoryCluster, x: NodeId): Record<string, string | undefined> =>
  Object.fromEntries([...c.nodes].map(([id, n]) => [id, n.memberStorage(x)]));

describe("raft shell: a member's storage id follows the replicated configuration (issue 12)", function () {
  this.timeout(120_000);
  const cluster = useMemoryCluster();

  /** 5 voters; `x` replaced once with everyone up (storage x-1), `lagging` stopped, `x` replaced again (x-2). */
  async function replacedWhileDown(
    o: Parameters<typeof cluster>[0],
  ): Promise<{ c: MemoryCluster; x: NodeId; lagging: NodeId }> {
    const c = await cluster({ size: 5, ...o });
    const leader = await c.leader();
    const [x, lagging] = c.ids.filter((id) => id !== leader.id) as [NodeId, NodeId];
    assert.equal(leader.memberStorage(x), undefined, 'a bootstrapped member has no storage id');
    await replace(c, x, 'x-1');
    await c.allApplied((await c.leader()).appliedIndex);
    assert.deepEqual(new Set(Object.values(seen(c, x))), new Set(['x-1']), 'every node knows x-1');
    await c.stop(lagging);
    await replace(c, x, 'x-2');
    return { c, x, lagging };
  }

  it('GIVEN a node down while a member is replaced WHEN it comes back and catches up from the log THEN it knows the new storage id, also after a restart', async () => {
    const { c, x, lagging } = await replacedWhileDown({});
    const l = await c.start(lagging);
    await l.waitForApplied((await c.leader()).appliedIndex, 30_000);
    assert.equal(l.memberStorage(x), 'x-2', `${lagging} caught up from the log: ${JSON.stringify(seen(c, x))}`);
    await c.stop(lagging);
    assert.equal((await c.start(lagging)).memberStorage(x), 'x-2', `${lagging} restarted`);
  });

  it('GIVEN a node down while a member is replaced and the leader compacted the replacement away WHEN it comes back through a snapshot THEN it knows the new storage id, also after a restart', async () => {
    const { c, x, lagging } = await replacedWhileDown({ logConfig: COMPACTING_LOG });
    const replacedAt = (await c.leader()).appliedIndex;
    // Records until the leader's log starts after the replacement: only a snapshot can carry it.
    for (let k = 0; (await c.leader()).storage.firstIndex() <= replacedAt; k++) {
      assert.ok(k < 200, `the leader compacted past index ${replacedAt}`);
      await at(c, (l) =>
        Promise.all(Array.from({ length: 20 }, (_, i) => l.propose(enc(`r${k}-${i}-${'x'.repeat(20)}`)))),
      );
    }
    const l = await c.start(lagging);
    await l.waitForApplied((await c.leader()).appliedIndex, 30_000);
    assert.ok(l.status().node.snapshotsInstalled >= 1, `${lagging} caught up through a snapshot`);
    assert.equal(l.memberStorage(x), 'x-2', `${lagging} installed a snapshot: ${JSON.stringify(seen(c, x))}`);
    await c.stop(lagging);
    assert.equal((await c.start(lagging)).memberStorage(x), 'x-2', `${lagging} restarted from its snapshot record`);
  });

  it('GIVEN a member removed THEN no member gives it a storage id any more', async () => {
    const c = await cluster({ size: 3 });
    const leader = await c.leader();
    const x = c.ids.find((id) => id !== leader.id) as NodeId;
    await replace(c, x, 'x-1');
    await at(c, (l) => l.removeMember(x));
    // The members that stay (the removed one is not sent the entry that removes it).
    await c.stop(x);
    await c.allApplied((await c.leader()).appliedIndex);
    assert.deepEqual(new Set(Object.values(seen(c, x))), new Set([undefined]), JSON.stringify(seen(c, x)));
  });

  describe('the stable state keeps them (snapshot record, configuration, history)', () => {
    const conf = { voters: [nodeId('a')], learners: [nodeId('b')], storage: { b: 'sb' } };
    it('round-trips a configuration with storage ids', () => {
      const st = freshStableState('c1', conf);
      assert.deepEqual(decodeStableState(encodeStableState(st), 'f'), st);
    });
    it('decodes a file written before them (no storage ids) and refuses ids of a non-member', () => {
      const old = freshStableState('c1', { voters: [nodeId('a')], learners: [] });
      assert.deepEqual(decodeStableState(encodeStableState(old), 'f').confState, { voters: ['a'], learners: [] });
      const bad = freshStableState('c1', { voters: [nodeId('a')], learners: [], storage: { z: 'sz' } });
      assert.throws(() => decodeStableState(encodeStableState(bad), 'f'), StableStateCorruptError);
    });
  });
});
