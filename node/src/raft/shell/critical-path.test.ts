import assert from 'node:assert/strict';
import { MemoryFileSystem } from '../../log/index.js';
import { logIndex, term, type Message } from '../core/types.js';
import type { RaftNode } from './raft-node.js';
import { GatedFileSystem } from './testing/gated-fs.js';
import { ManualLoopClock } from './testing/manual-loop-clock.js';
import { ack, electN1, n1, n2, n3, ScriptedPeers, settle, startN1 } from './testing/scripted-peers.js';

// The critical path of one produce at low concurrency (issue 15, docs/benchmarks.md "Cluster",
// the c=1 trace): nothing on it may wait for an event-loop turn or for work that does not need
// to come first. The disk is a gate on fdatasync, so "the fsync has started" is a count the
// test reads at the moment it cares about, not a race.

const appendOf = (index: number) => (m: Message) => m.type === 'append' && m.entries.some((e) => e.index === index);

describe('raft shell loop: the critical path of one record', function () {
  this.timeout(30_000);
  let node: RaftNode | null = null;
  let fs: GatedFileSystem;
  afterEach(async () => {
    fs.release();
    await node?.stop();
    node = null;
  });

  it("a leader sends a new entry's appends and submits its own fdatasync before propose returns (no event-loop turn in between)", async () => {
    // GIVEN leader n1 of term 1, its disk held
    fs = new GatedFileSystem(new MemoryFileSystem());
    const clock = new ManualLoopClock();
    const peers = new ScriptedPeers();
    node = await startN1(peers, fs, clock);
    const t1 = await electN1(node, peers, clock);
    await settle(); // the loop is idle: the proposal starts it
    fs.hold();
    const heldAtSend: number[] = [];
    peers.onSend = (m) => {
      if (appendOf(2)(m)) heldAtSend.push(fs.held);
    };

    // WHEN a record is proposed
    const proposed = node.propose(new TextEncoder().encode('x'));

    // THEN both followers' appends left first (a follower's answer is what the commit waits
    // for), and n1's own fdatasync already waits at the disk when propose returns
    assert.deepEqual(heldAtSend, [0, 0], 'the appends waited for the leader to write its own copy');
    assert.equal(fs.held, 1, "the leader's fdatasync was left for a later turn");
    // and the record commits only once the leader's own fsync is done and a follower acked
    peers.deliver(ack(n2, t1, 2));
    await settle();
    assert.equal(node.appliedIndex, 1, 'committed before the leader had its own copy durable');
    fs.release();
    assert.equal((await proposed).index, 2);
  });

  it("a follower's fdatasync of an append is submitted before the delivery returns (no event-loop turn in between)", async () => {
    // GIVEN follower n1 of n3 in term 2, holding entry 1 (its data dir's first sync done), its disk then held
    fs = new GatedFileSystem(new MemoryFileSystem());
    const clock = new ManualLoopClock();
    const peers = new ScriptedPeers();
    node = await startN1(peers, fs, clock);
    const t2 = term(2);
    const append = (index: number): Message => ({
      type: 'append',
      from: n3,
      to: n1,
      term: t2,
      prevIndex: logIndex(index - 1),
      prevTerm: index > 1 ? t2 : term(0),
      entries: [{ index: logIndex(index), term: t2, type: 'noop', data: new Uint8Array(0) }],
      commit: logIndex(0),
    });
    const answer = (index: number) =>
      peers.next((m) => m.type === 'appendResp' && m.success && m.index === index, `append response ${index}`);
    const first = answer(1);
    peers.deliver(append(1));
    await first;
    await settle(); // the loop is idle: the next delivery starts it
    fs.hold();
    const second = answer(2);

    // WHEN n3's append of entry 2 arrives
    peers.deliver(append(2));

    // THEN its fdatasync already waits at the disk, and the answer leaves only once it is done
    assert.equal(fs.held, 1, 'the fdatasync was left for a later turn');
    assert.equal(
      peers.sent.some((m) => m.type === 'appendResp' && m.index === 2),
      false,
      'acknowledged before durable',
    );
    fs.release();
    await second;
  });

  it("a leader's appends that only carry the new commit index leave after the committed record's caller has run", async () => {
    // GIVEN leader n1 of term 1 with a record at index 2 appended by both followers' logs
    fs = new GatedFileSystem(new MemoryFileSystem());
    const clock = new ManualLoopClock();
    const peers = new ScriptedPeers();
    node = await startN1(peers, fs, clock);
    const t1 = await electN1(node, peers, clock);
    let answered = false;
    const proposed = node.propose(new TextEncoder().encode('x')).then((o) => {
      answered = true;
      return o;
    });
    await settle();
    const answeredAtSend: boolean[] = [];
    peers.onSend = (m) => {
      if (m.type === 'append' && m.entries.length === 0 && m.commit === 2) answeredAtSend.push(answered);
    };
    const toN3 = peers.next((m) => m.type === 'append' && m.to === n3 && m.commit === 2, 'commit 2 to n3');

    // WHEN n2's ack commits it
    peers.deliver(ack(n2, t1, 2));

    // THEN the caller's continuation ran before the commit index left for the followers, and it did leave
    assert.equal((await proposed).index, 2);
    await toN3;
    assert.deepEqual(answeredAtSend, [true, true], 'the commit-only appends went out before the answer');
  });
});
