import assert from 'node:assert/strict';
import { MemoryFileSystem } from '../../log/index.js';
import { logIndex, term, type Message } from '../core/types.js';
import { LoopInputs, type TickedCore } from './loop-inputs.js';
import type { RaftNode } from './raft-node.js';
import { GatedFileSystem } from './testing/gated-fs.js';
import { ManualLoopClock } from './testing/manual-loop-clock.js';
import {
  ack,
  describe1,
  ELECTION_TICKS,
  electN1,
  isCampaign,
  n1,
  n2,
  n3,
  ScriptedPeers,
  settle,
  startN1,
} from './testing/scripted-peers.js';

// Messages before ticks (README.md "Ticks after a stall"): while a node's loop awaits a
// persist, its tick timer keeps firing and its peers' messages keep arriving. When the
// persist completes the loop must read the messages first and then at most one heartbeat
// interval of ticks, or a load-induced stall turns into a spurious election or a leader lost
// for nothing. Time here is a ManualLoopClock (ticks fire when the test says) and the slow
// disk is a gate on fdatasync: nothing depends on how fast this machine is.

describe('raft shell loop: messages that arrived during a slow persist are read before the ticks that piled up', function () {
  this.timeout(30_000);
  let node: RaftNode | null = null;
  let fs: GatedFileSystem;
  afterEach(async () => {
    fs.release();
    await node?.stop();
    node = null;
  });

  it("a follower held in a persist for three election timeouts does not campaign when its leader's heartbeat is in its inbox", async () => {
    // GIVEN follower n1 (pre-vote and check-quorum on, 10-tick elections) appending n2's entry of term 2, its fdatasync held
    fs = new GatedFileSystem(new MemoryFileSystem());
    const clock = new ManualLoopClock();
    const peers = new ScriptedPeers();
    node = await startN1(peers, fs, clock);
    fs.hold();
    const t2 = term(2);
    peers.deliver({
      type: 'append',
      from: n2,
      to: n1,
      term: t2,
      prevIndex: logIndex(0),
      prevTerm: term(0),
      entries: [{ index: logIndex(1), term: t2, type: 'noop', data: new Uint8Array(0) }],
      commit: logIndex(0),
    });
    await fs.whenHeld();

    // WHEN three election timeouts of ticks fire and n2's heartbeat arrives while the persist is held, then the disk answers
    clock.tick(3 * ELECTION_TICKS);
    peers.deliver({ type: 'heartbeat', from: n2, to: n1, term: t2, commit: logIndex(1), readSeq: 1 });
    const first = peers.next((m) => m.type === 'heartbeatResp' || isCampaign(m), 'heartbeat response or campaign');
    fs.release();

    // THEN n1 answers the heartbeat and campaigns for nobody: it is n2's follower in term 2
    const m = await first;
    assert.equal(m.type, 'heartbeatResp', `n1 campaigned (${describe1(m)}) with its leader's heartbeat in its inbox`);
    await settle();
    const campaigns = peers.sent.filter(isCampaign).map(describe1);
    assert.deepEqual(campaigns, [], 'no pre-vote or vote request was sent');
    const s = node.status();
    assert.equal(s.role, 'follower');
    assert.equal(s.term, 2);
    assert.equal(s.leader, n2);
    // the default heartbeatTicks is 2: two of the thirty ticks were fed, the rest dropped and counted
    assert.equal(s.node.ticksDropped, 3 * ELECTION_TICKS - 2);
  });

  it("a leader held in a persist for three check-quorum intervals does not step down when its followers' acks are in its inbox", async () => {
    // GIVEN n1 elected leader of term 1 by n2's votes, its no-op acknowledged by n2 and n3
    fs = new GatedFileSystem(new MemoryFileSystem());
    const clock = new ManualLoopClock();
    const peers = new ScriptedPeers();
    node = await startN1(peers, fs, clock);
    const t1 = await electN1(node, peers, clock);
    assert.equal(node.isLeader, true);
    let steppedDown: string | null = null;
    node.onLeaderChange(({ role, term: t }) => {
      if (role !== 'leader') steppedDown ??= `n1 became ${role} in term ${t}`;
    });

    // WHEN a proposal's fdatasync is held while three check-quorum intervals of ticks fire and both followers acknowledge it
    fs.hold();
    const proposed = node.propose(new TextEncoder().encode('x'));
    await fs.whenHeld();
    clock.tick(3 * ELECTION_TICKS);
    peers.deliver(ack(n2, t1, 2));
    peers.deliver(ack(n3, t1, 2));
    const lost = new Promise<string>((resolve) => {
      node?.onLeaderChange(({ role }) => role !== 'leader' && resolve(steppedDown ?? role));
    });
    fs.release();

    // THEN the proposal commits and n1 is still the leader of term 1
    const outcome = await Promise.race([proposed.then((o) => `committed at ${o.index}`), lost]);
    assert.equal(outcome, 'committed at 2', `${outcome} with both followers' acks in its inbox`);
    await settle();
    assert.equal(steppedDown, null);
    assert.equal(node.isLeader, true);
    assert.equal(node.status().term, t1);
  });

  it('a proposal made as an apply resolves its caller reaches the core at once, with no tick to wake the loop', async () => {
    // GIVEN leader n1 whose no-op apply just resolved waitForApplied (from inside the loop's run)
    fs = new GatedFileSystem(new MemoryFileSystem());
    const clock = new ManualLoopClock();
    const peers = new ScriptedPeers();
    node = await startN1(peers, fs, clock);
    const sent = peers.next((m) => m.type === 'append' && m.entries.some((e) => e.index === 2), 'append of entry 2');

    // WHEN it proposes in that continuation, and no tick ever fires again
    await electN1(node, peers, clock, () => void node?.propose(new TextEncoder().encode('y')).catch(() => {}));

    // THEN the entry goes out to the followers anyway
    const m = await sent;
    assert.equal(m.type, 'append');
  });
});

describe('raft shell loop: the feeding order between two Readys (LoopInputs)', () => {
  const recorder = (): TickedCore & { calls: string[] } => {
    const calls: string[] = [];
    return { calls, tick: () => calls.push('tick'), step: (m) => calls.push(`step ${m.type}`) };
  };
  const hb: Message = { type: 'heartbeat', from: n2, to: n1, term: term(1), commit: logIndex(0), readSeq: 0 };

  it('feeds the messages first, then at most the cap of ticks, then the requests, and counts the dropped ticks', () => {
    // GIVEN five ticks, a request and a message queued in that order, with a cap of two ticks
    const inputs = new LoopInputs(2);
    const core = recorder();
    for (let i = 0; i < 5; i++) inputs.tick();
    inputs.act(() => core.calls.push('request'));
    assert.equal(inputs.receive(hb), true);

    // WHEN fed, THEN the message goes first, two ticks follow, three are dropped, and nothing is left
    assert.deepEqual(inputs.feed(core), { messages: 1, ticks: 2, ticksDropped: 3 });
    assert.deepEqual(core.calls, ['step heartbeat', 'tick', 'tick', 'request']);
    assert.equal(inputs.pending, false);
    assert.deepEqual(inputs.feed(core), { messages: 0, ticks: 0, ticksDropped: 0 });
  });

  it('refuses a message beyond a full inbox and a cap below one tick', () => {
    const inputs = new LoopInputs(1, 1);
    assert.equal(inputs.receive(hb), true);
    assert.equal(inputs.receive(hb), false);
    assert.throws(() => new LoopInputs(0), RangeError);
  });
});
