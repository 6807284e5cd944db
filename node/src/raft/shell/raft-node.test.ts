import assert from 'node:assert/strict';
import { type NodeId, logIndex, nodeId, term } from '../core/types.js';
import { RaftNotLeaderError, ProposalDroppedError, ProposalRejectedError } from './errors.js';
import type { ProposeOutcome } from './proposal-tracker.js';
import type { RaftNode } from './raft-node.js';
import { COMPACTING_LOG, type MemoryCluster } from './testing/memory-cluster.js';
import { useMemoryCluster } from './testing/use-memory-cluster.js';
import { atLeader } from './testing/at-leader.js';
import { enc, dec } from './testing/text.js';

/** Every record of a node's log as "index/term/type/value". */
function dump(n: RaftNode, from?: number): string[] {
  const log = n.storage.log;
  const out: string[] = [];
  for (let i = from ?? log.lowestOffset; i < log.nextOffset;) {
    const recs = log.readRange(i);
    for (const r of recs) out.push(`${r.offset}/${r.term}/${r.type}/${dec(r.value)}`);
    i = (recs.at(-1)?.offset ?? i) + 1;
  }
  return out;
}

/**
 * Proposes every value at the leader of the moment, retrying a value refused as not-leader
 * (not appended) or dropped as indeterminate (it may be appended twice: only for tests that
 * compare logs whole) at the next leader, until it commits (bounded). The memory cluster ticks
 * every 20 ms of real time, so on a loaded machine a long fsync can cost the leader its
 * leadership in the middle of a batch (a stress run saw "not the leader; leader hint: n2").
 */
async function proposeAll(c: MemoryCluster, values: readonly string[]): Promise<ProposeOutcome[]> {
  return Promise.all(
    values.map((v) =>
      atLeader(
        () => c.leader(),
        (l) => l.propose(enc(v)),
      ),
    ),
  );
}

describe('raft shell: a 3-node cluster on real logs and the memory transport', function () {
  this.timeout(30_000);
  const cluster = useMemoryCluster();

  it('elects a leader, commits many proposals with dense offsets, and all logs are identical', async () => {
    const c = await cluster();
    const leader = await c.leader();
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => leader.propose(enc(`r${i}`))));
    assert.deepEqual(
      results.map((r) => r.dataOffset),
      Array.from({ length: 300 }, (_, i) => i),
      'dense user offsets 0..299 in proposal order',
    );
    const last = Math.max(...results.map((r) => r.index));
    await c.allApplied(last);
    const logs = c.ids.map((id) => dump(c.node(id)));
    assert.deepEqual(logs[1], logs[0]);
    assert.deepEqual(logs[2], logs[0]);
    for (const id of c.ids) assert.equal(dec(c.node(id).storage.log.readData(299).value), 'r299');
    const st = leader.status();
    assert.equal(st.role, 'leader');
    assert.equal(st.members.length, 3);
    assert.ok(st.members.filter((m) => m.id !== leader.id).every((m) => m.match !== undefined));
    assert.ok(st.fsync.rounds < 300, `group commit: ${st.fsync.rounds} fsync rounds for 300 proposals`);
  });

  it('refuses proposals on a follower with RaftNotLeaderError carrying the leader hint', async () => {
    const c = await cluster();
    const leader = await c.leader();
    await assert.rejects(
      leader.propose(new Uint8Array(leader.storage.log.config.maxRecordBytes + 1)),
      ProposalRejectedError,
    );
    // Ticks are 10 ms of real time, so on a busy machine a starved follower can start an
    // election between two statements. The rule under test is that a follower which knows the
    // leader names it: ask a follower of the currently agreed leader until one names it
    // (bounded); a hint that is never set, or a wrong one, fails at the deadline.
    const deadline = Date.now() + 20_000;
    for (let attempt = 1; ; attempt++) {
      const current = await c.leader(20_000);
      const follower = c.ids.map((id) => c.node(id)).find((n) => n !== current) as RaftNode;
      const err = await follower.propose(enc('x')).then(
        () => new Error('a follower accepted a proposal'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RaftNotLeaderError, `a follower refuses with RaftNotLeaderError, got ${String(err)}`);
      if (err.leaderHint === current.id) break;
      assert.ok(
        Date.now() < deadline,
        `after ${attempt} attempts a follower still names ${String(err.leaderHint)}, not the leader ${current.id}`,
      );
      await new Promise((r) => setTimeout(r, 10)); // poll interval while the cluster settles
    }
    const leaderNow = await c.leader(20_000);
    const follower = c.ids.map((id) => c.node(id)).find((n) => n !== leaderNow) as RaftNode;
    const r = await leaderNow.propose(enc('before the read'));
    await follower.readIndex();
    assert.ok(follower.appliedIndex >= r.index, 'a follower read barrier covers every write acknowledged before it');
  });

  it('restarts a stopped node from disk and it catches up', async () => {
    const c = await cluster();
    let leader = await c.leader();
    await proposeAll(
      c,
      Array.from({ length: 50 }, (_, i) => `a${i}`),
    );
    const victim = await c.stopFollower(await c.leader());
    const more = await proposeAll(
      c,
      Array.from({ length: 50 }, (_, i) => `b${i}`),
    );
    await c.start(victim, true);
    leader = await c.leader();
    await c.allApplied(Math.max(...more.map((r) => r.index)));
    assert.deepEqual(dump(c.node(victim)), dump(leader));
  });

  it('a node far behind a compacted leader catches up through a snapshot with the same retained records and dense offsets', async () => {
    const c = await cluster({ logConfig: COMPACTING_LOG });
    let leader = await c.leader();
    const victim = await c.stopFollower(leader);
    let last = 0;
    for (let k = 0; k < 6; k++) {
      const rs = await proposeAll(
        c,
        Array.from({ length: 40 }, (_, i) => `v${k}-${i}-${'x'.repeat(20)}`),
      );
      last = Math.max(...rs.map((r) => r.index));
    }
    leader = await c.leader();
    const deadline = Date.now() + 20_000;
    while (leader.storage.firstIndex() <= 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const first = leader.storage.firstIndex();
    assert.ok(first > 2, `leader compacted: firstIndex ${first}`);
    await c.start(victim, true);
    leader = await c.leader();
    await c.node(victim).waitForApplied(last, 10_000);
    const v = c.node(victim);
    assert.ok(v.status().node.snapshotsInstalled >= 1, 'caught up through a snapshot');
    const from = Math.max(v.storage.log.lowestOffset, leader.storage.log.lowestOffset);
    assert.deepEqual(dump(v, from), dump(leader, from));
    assert.equal(v.storage.log.lowestOffset, v.storage.firstIndex());
    assert.equal(v.storage.log.nextDataOffset, leader.storage.log.nextDataOffset);
    assert.equal(v.storage.log.lowestDataOffset, v.storage.log.toDataOffset(v.storage.log.lowestOffset));
    for (let d = v.storage.log.lowestDataOffset; d < v.storage.log.nextDataOffset; d += 17) {
      assert.equal(dec(v.storage.log.readData(d).value), dec(leader.storage.log.readData(d).value));
    }
  });

  it('adds a learner, promotes it once caught up, transfers leadership to it, and removes a member', async () => {
    const c = await cluster();
    const leader = await c.leader();
    await Promise.all(Array.from({ length: 30 }, (_, i) => leader.propose(enc(`m${i}`))));
    const n3 = nodeId('n3');
    const joiner = await c.start(n3);
    await leader.addLearner(n3, 'memory');
    await joiner.waitForApplied(leader.appliedIndex, 20_000);
    assert.deepEqual(
      leader.status().members.map((m) => `${m.id}:${m.suffrage}`),
      ['n0:voter', 'n1:voter', 'n2:voter', 'n3:learner'],
    );
    // Promote only once the leader sees the learner caught up (the core refuses earlier).
    for (let t = Date.now(); (leader.status().members.find((m) => m.id === n3)?.lag ?? 1) > 0;) {
      assert.ok(Date.now() - t < 20_000, "learner caught up in the leader's view");
      await new Promise((r) => setTimeout(r, 10));
    }
    await leader.promote(n3);
    await leader.transferLeadership(n3);
    const newLeader = await c.leader();
    assert.equal(newLeader.id, n3);
    const gone = c.ids.find((id) => id !== leader.id) as NodeId;
    // Straight after the transfer: the shell waits for the new leader's own entry to commit.
    await newLeader.removeMember(gone);
    assert.deepEqual(
      newLeader
        .status()
        .members.map((m) => m.id)
        .sort(),
      c.ids
        .filter((id) => id !== gone)
        .concat(n3)
        .sort(),
    );
    const r = await newLeader.propose(enc('after changes'));
    assert.equal(r.dataOffset, 30);
    // A quorum has it; the other members catch up within a heartbeat or two.
    await Promise.all([joiner.waitForApplied(r.index, 20_000), leader.waitForApplied(r.index, 20_000)]);
    assert.deepEqual(dump(joiner), dump(leader));
  });

  it('refuses messages from another cluster id and counts them', async () => {
    const c = await cluster();
    const leader = await c.leader();
    const intruder = c.net.transport(nodeId('x'), 'another-cluster');
    intruder.send([
      { type: 'heartbeat', from: nodeId('x'), to: leader.id, term: term(1000), commit: logIndex(0), readSeq: 0 },
    ]);
    for (const deadline = Date.now() + 20_000; leader.status().node.foreignClusterMessages === 0;) {
      assert.ok(Date.now() < deadline, 'the leader received the foreign message within 20 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(leader.status().node.foreignClusterMessages, 1);
    assert.ok(leader.isLeader, 'a foreign higher term did not depose the leader');
  });

  it("gives an isolated leader's proposal an indeterminate outcome instead of hanging, and the cluster moves on", async () => {
    const c = await cluster({ requestTimeoutMs: 400 });
    // The premise is a leader that appends the proposal and is then cut off. On a loaded
    // machine leadership can move between c.leader() and the proposal reaching the core
    // (a helper's run at load 25 saw RaftNotLeaderError here): that proposal was refused, not
    // appended, so the premise did not hold: heal and try again with the new leader (bounded).
    let old: RaftNode | undefined;
    for (let attempt = 1; old === undefined; attempt++) {
      const ld = await c.leader();
      c.net.isolate(ld.id);
      const outcome = await ld.propose(enc('stranded')).then(
        () => new Error('an isolated leader committed a proposal'),
        (e: unknown) => e,
      );
      if (outcome instanceof RaftNotLeaderError && attempt < 5) {
        c.net.heal();
        continue;
      }
      assert.ok(
        outcome instanceof ProposalDroppedError && !outcome.lost && outcome.code === 'RAFT_PROPOSAL_INDETERMINATE',
        `expected an indeterminate outcome, got ${String(outcome)}`,
      );
      old = ld;
    }
    c.net.heal();
    // The 400 ms timeout that makes the stranded proposal fail fast also applies to the proposal
    // after the heal: on a loaded machine its commit can take longer (CI saw "proposal at index 3
    // was not applied within 400 ms"). "The cluster moves on" means some proposal commits: retry
    // indeterminate or not-leader outcomes until one does (bounded; a duplicate is harmless here,
    // the logs are compared whole).
    let r: Awaited<ReturnType<RaftNode['propose']>> | undefined;
    let leader = await c.leader();
    for (const deadline = Date.now() + 20_000; r === undefined;) {
      try {
        r = await leader.propose(enc('after heal'));
      } catch (e) {
        if (!(e instanceof ProposalDroppedError || e instanceof RaftNotLeaderError) || Date.now() > deadline) throw e;
        leader = await c.leader();
      }
    }
    await c.allApplied(r.index);
    assert.deepEqual(dump(old), dump(leader));
  });

  it('treats an fsync failure as fatal: the node stops serving and callers get the error, nothing is acknowledged', async () => {
    // One voter: its leadership cannot move, so the only way a proposal can fail is the fsync
    // error under test. (With three, a starved event loop on a busy machine let a follower
    // campaign between c.leader() and propose(), and the proposal failed as RaftNotLeaderError.)
    const c = await cluster({ size: 1 });
    const leader = await c.leader();
    const eio = Object.assign(new Error('EIO: fsync failed'), { code: 'EIO' });
    leader.storage.sync = () => Promise.reject(eio);
    await assert.rejects(leader.propose(enc('never acknowledged')), (e: unknown) => e === eio);
    await assert.rejects(leader.propose(enc('refused after death')), (e: unknown) => e === eio);
  });
});
