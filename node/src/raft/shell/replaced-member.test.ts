/**
 * A node that was down while a wiped member was replaced hears the replaced member once it
 * is back (issue 12, the known gap of the local records). Five RaftNodes over TCP + mutual
 * TLS hearing each other by the storage ids of their configuration in force, else by a local
 * record renewed only on the nodes that were up during a replacement
 * (testing/storage-nodes.ts, as the agent wires them).
 *
 * With local records only, the node L that was down kept the replaced member X's previous id
 * and dropped X's votes and answers for good: once the others were gone L and X, a quorum of
 * the configuration left, never elected anyone. With the ids in the configuration L learns
 * X's new id from the log it catches up with, or from the snapshot it installs when the
 * leader compacted the replacement away.
 *
 * Five voters: with L down and X wiped, the leader and the two others are a quorum and
 * replace X. Then the two others are stopped and removed (configuration {leader, L, X}) and
 * the leader stopped: L and X must elect a leader and commit a write.
 */
import assert from 'node:assert/strict';
import { type NodeId, nodeId } from '../core/types.js';
import { COMPACTING_LOG } from './testing/memory-cluster.js';
import { type StorageNodeOptions, until, useStorageNodes } from './testing/storage-nodes.js';
import { enc } from './testing/text.js';

const ids = ['m0', 'm1', 'm2', 'm3', 'm4'].map(nodeId);

describe('raft over TCP: a node down while a wiped member was replaced hears the replaced member (issue 12)', function () {
  this.timeout(900_000); // each bounded wait is at most 120 s; five real nodes on a loaded machine
  const storageNodes = useStorageNodes(ids);

  /** The scenario; `snapshot`: L comes back only after the leader's log starts past the replacement. */
  async function lateNodeHearsReplacedMember(o: StorageNodeOptions, snapshot: boolean): Promise<void> {
    const c = storageNodes('replaced-cluster', o);
    const [first, ...rest] = ids as [NodeId, ...NodeId[]];
    await c.start(first, { bootstrap: [first] });
    for (const id of rest) await c.start(id);
    for (const id of rest) await c.join(id);
    const leader = (await c.leader()).node.id;
    const [x, late, ...others] = ids.filter((id) => id !== leader) as [NodeId, NodeId, NodeId, NodeId];

    // X wiped and replaced with everyone up (every node knows s1), then again with L down (s2).
    await c.wipe(x);
    await c.replace(x);
    await c.stop(late);
    await c.wipe(x);
    await c.replace(x);
    const replacedAt = (await c.leader()).node.appliedIndex;
    if (snapshot)
      for (let k = 0; (await c.leader()).node.storage.firstIndex() <= replacedAt; k++) {
        assert.ok(k < 200, `the leader's log starts past the replacement at ${replacedAt}`);
        await c.atLeader('20 writes', (l) =>
          Promise.all(Array.from({ length: 20 }, (_, i) => l.node.propose(enc(`r${k}-${i}-${'x'.repeat(20)}`)))),
        );
      }
    else await c.atLeader('a write', (l) => l.node.propose(enc('after the replacement')));

    // L comes back and catches up: from the log, or through a snapshot.
    const l = (await c.start(late)).node;
    const target = (await c.leader()).node.appliedIndex;
    await l.waitForApplied(target, 120_000);
    if (snapshot) assert.ok(l.status().node.snapshotsInstalled >= 1, `${late} caught up through a snapshot`);
    assert.equal(l.memberStorage(x), `${x}-s2`, `${late} knows ${x} by its new storage id`);

    // The two others go: stopped, then removed; the configuration is {leader, L, X}.
    for (const id of others) {
      await c.stop(id);
      await c.atLeader(`remove ${id}`, (n) => n.node.removeMember(id));
    }
    const three = [leader, late, x].sort();
    await until(
      () =>
        [late, x].every(
          (id) =>
            JSON.stringify(
              c
                .get(id)
                .node.status()
                .members.map((m) => `${m.id}:${m.suffrage}`)
                .sort(),
            ) === JSON.stringify(three.map((v) => `${v}:voter`)),
        ),
      `${late} and ${x} in force with the voters ${three.join(' ')}`,
    );

    // THEN with the leader stopped, L and X are a quorum: they elect a leader and commit a write.
    await c.stop(leader);
    await c.atLeader(`a write committed by ${late} and ${x}`, (n) => n.node.propose(enc('by the two')), 120_000);
  }

  it('GIVEN 5 voters and L down while the wiped X is replaced WHEN L catches up from the log THEN with the others gone L and X elect a leader and commit a write', async () => {
    await lateNodeHearsReplacedMember({}, false);
  });

  it('GIVEN 5 voters and L down while the wiped X is replaced WHEN L catches up through a snapshot taken after the replacement THEN with the others gone L and X elect a leader and commit a write', async () => {
    await lateNodeHearsReplacedMember({ logConfig: COMPACTING_LOG }, true);
  });
});
