/**
 * A wiped node refilled from index 1 catches up with a leader that was itself replaced
 * earlier in the log, and is then counted (issue 12; the chaos tier's seed 14, which made the
 * first attempt of storage ids in the configuration revert). Three RaftNodes over TCP + mutual
 * TLS, hearing each other by the storage ids of their configuration in force
 * (testing/storage-nodes.ts, as the agent wires them).
 *
 * The trap: the refilled node replays the early configurations, in which the leader still has
 * the storage id it had before its own replacement, while the leader's hello carries its new
 * one. Checking the leader's appends against that configuration dropped all of them — the
 * node never caught up, and was never promoted. Only what is counted is checked now (votes,
 * answers: transport-tcp-inbound.ts `isCountedMessage`); a leader's messages always pass.
 * Small append batches (2 entries) make the refill cross those early configurations one
 * batch at a time, as a long log does.
 */
import assert from 'node:assert/strict';
import { type NodeId, logIndex, nodeId } from '../core/types.js';
import { decodeConfEntry } from '../core/conf-codec.js';
import { enc } from './testing/text.js';
import { until, useStorageNodes } from './testing/storage-nodes.js';

const ids = ['f0', 'f1', 'f2'].map(nodeId);

describe('raft over TCP: a wiped node refilled from index 1 hears a leader replaced earlier in the log (issue 12, seed 14)', function () {
  this.timeout(600_000); // each bounded wait is at most 120 s; three real nodes on a loaded machine
  const storageNodes = useStorageNodes(ids);

  it('GIVEN a leader X replaced once (its first storage id is in the early log) WHEN a follower Y is wiped and replaced THEN Y catches up from index 1, is promoted, and counts: X and Y alone commit a write', async () => {
    const c = storageNodes('refill-cluster', { raftConfig: { maxEntryBatchCount: 2 } });
    const [f0, f1, f2] = ids as [NodeId, NodeId, NodeId];
    // GIVEN f0 bootstrapped alone, f1 and f2 added with their storage ids (s0): all in the log.
    await c.start(f0, { bootstrap: [f0] });
    await c.start(f1);
    await c.start(f2);
    await c.join(f1);
    await c.join(f2);
    await c.atLeader('a write', (l) => l.node.propose(enc('first')));

    // X (a follower) is wiped and replaced: the log now gives X its second storage id (s1).
    const first = await c.leader();
    const [x, y] = ids.filter((id) => id !== first.node.id) as [NodeId, NodeId];
    await c.wipe(x);
    await c.replace(x);
    await c.atLeader(`leadership to ${x}`, (l) => l.node.transferLeadership(x, 30_000));
    await until(() => c.get(x).node.isLeader, `${x} to lead`);
    const log = c.get(x).node.storage;
    const early = log
      .entries(logIndex(1), logIndex(log.lastIndex() + 1), 1 << 20)
      .filter((e) => e.type === 'config')
      .map((e) => decodeConfEntry(e.data).conf.storage?.[x]);
    assert.ok(early.includes(`${x}-s0`), `the log gives ${x} its old storage id early on: ${JSON.stringify(early)}`);

    // WHEN Y is wiped and replaced by the leader X.
    await c.wipe(y);
    await c.replace(y);

    // THEN Y was refilled from index 1 (through the configurations giving X s0) and is a voter.
    const refilled = c.get(y).node;
    assert.equal(refilled.storage.firstIndex(), 1, `${y} holds the log from index 1`);
    assert.equal(refilled.memberStorage(x), `${x}-s1`, `${y} knows the leader by its new storage id`);
    // Y counts: with the third member stopped, X (or Y) commits a write only with Y's acknowledgement.
    const third = ids.find((id) => id !== x && id !== y) as NodeId;
    await c.stop(third);
    await c.atLeader(`a write committed by ${x} and ${y}`, (l) => l.node.propose(enc('after')), 120_000);
    const leader = await c.leader();
    await c.get(y).node.waitForApplied(leader.node.appliedIndex, 60_000);
  });
});
