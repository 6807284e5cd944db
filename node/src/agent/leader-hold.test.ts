/**
 * A follower holds a produce for the next leader (raft-backend.ts, leader-wait.ts; issue 15
 * failover): during an election, or when the leader it knows refuses the connection (it
 * died), the produce waits for the next leader instead of being refused at once, and a
 * produce that no leader comes for is refused before the call's deadline. Real RaftNodes on
 * the memory transport; the forwarded leg goes to in-process leaders (testing/fake-leader.ts)
 * that the test answers; the hold's bound runs on a manual clock.
 */
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import type { MemberInfo } from '../gossip/index.js';
import type { RaftNode } from '../raft/index.js';
import { ManualLoopClock } from '../raft/shell/testing/manual-loop-clock.js';
import { MemoryCluster, type MemoryClusterOptions } from '../raft/shell/testing/memory-cluster.js';
import { BackendClosedError, NoLeaderError } from './errors.js';
import { LeaderForwarder } from './forwarder.js';
import { LeaderWait } from './leader-wait.js';
import { agentTags, PeerDirectory } from './peers.js';
import { holdMs, RaftBackend } from './raft-backend.js';
import { eventually } from './testing/cluster.js';
import { FakeLeaders, type FakeProduceCall } from './testing/fake-leader.js';

const rpc = (id: string): string => `rpc-${id}`;

function directory(ids: readonly string[]): PeerDirectory {
  const peers = new PeerDirectory('test');
  for (const id of ids)
    peers.update({
      name: id,
      addr: `${id}:7946`,
      incarnation: 1,
      state: 'alive',
      stateChangedAt: 0,
      tags: agentTags({ rpcAddr: rpc(id), raftId: id, clusterId: 'test', role: 'voter', boot: 'b' }),
    } as unknown as MemberInfo);
  return peers;
}

describe('a follower holds a produce for the next leader instead of refusing it (issue 15 failover)', function () {
  this.timeout(90_000);
  let c: MemoryCluster | undefined;
  let backend: RaftBackend | undefined;
  let forwarder: LeaderForwarder | undefined;
  afterEach(async () => {
    backend?.close();
    forwarder?.close();
    await c?.destroy();
    c = backend = forwarder = undefined;
  });

  async function followerBackend(
    o: { leaderWait?: LeaderWait; leaderWaitMs?: number } = {},
    cluster: MemoryClusterOptions = {},
  ): Promise<{
    cluster: MemoryCluster;
    leader: RaftNode;
    follower: RaftNode;
    leaders: FakeLeaders;
  }> {
    const mc = (c = await MemoryCluster.create(cluster));
    const leader = await mc.leader(60_000);
    const follower = [...mc.nodes.values()].find((n) => n.id !== leader.id) as RaftNode;
    const leaders = new FakeLeaders();
    forwarder = new LeaderForwarder(credentials.createInsecure(), 60_000, undefined, leaders.dial);
    backend = new RaftBackend({
      node: follower,
      peers: directory(mc.ids),
      forwarder,
      self: { rpcAddr: rpc(follower.id) },
      linearizable: false,
      ...o,
    });
    return { cluster: mc, leader, follower, leaders };
  }

  it('GIVEN the leader died WHEN a follower forwards to it and the connection is refused THEN the produce waits and succeeds at the next leader', async () => {
    // 300 ms ticks (a 3–6 s election timeout): the follower must not notice the dead leader
    // before it forwards to it, which takes a few ms, however loaded the machine.
    const { cluster, leader, follower, leaders } = await followerBackend({ leaderWaitMs: 60_000 }, { tickMs: 300 });
    await cluster.stop(leader.id);
    assert.equal(follower.leaderId, leader.id, 'the follower has not noticed yet');
    let outcome: string | undefined;
    const p = (backend as RaftBackend).produce(Buffer.from('during the failover')).then(
      (offset) => (outcome = `offset ${offset}`),
      (err: Error) => (outcome = `refused: ${err.message}`),
    );
    const toDead = await eventually('the forward to the dead leader', () =>
      leaders.calls.find((x) => x.addr === rpc(leader.id)),
    );
    toDead.refuse();
    // The new leader: this follower (it proposes the held record) or the other survivor
    // (the record is forwarded there, and that leader acknowledges it at offset 41).
    const next = await cluster.leader(60_000);
    assert.notEqual(next.id, leader.id);
    if (next.id !== follower.id) {
      const call: FakeProduceCall = await eventually('the forward to the new leader', () =>
        leaders.calls.find((x) => x.addr === rpc(next.id) && x.requests.length === 1),
      );
      call.ack(41);
    }
    await p;
    assert.match(outcome ?? '', /^offset \d+$/, `the held produce (new leader ${next.id}, held on ${follower.id})`);
    if (next.id !== follower.id) assert.equal(outcome, 'offset 41');
  });

  it('GIVEN no leader comes THEN the held produce is refused (UNAVAILABLE no leader) before the call deadline (holdMs), not later', async () => {
    const clock = new ManualLoopClock();
    const { cluster, follower } = await followerBackend({ leaderWait: new LeaderWait(clock), leaderWaitMs: 60_000 });
    // The follower is cut off from both others: it loses its leader and can elect none.
    cluster.net.isolate(follower.id);
    await eventually('the isolated follower to lose its leader', () => (follower.leaderId === null ? true : undefined));
    const callMs = 30_000;
    let outcome: unknown;
    const before = Date.now();
    const p = (backend as RaftBackend)
      .produce(Buffer.from('no leader'), undefined, { deadline: Date.now() + callMs })
      .then(
        () => (outcome = 'appended'),
        (err: unknown) => (outcome = err),
      );
    const spent = Date.now() - before;
    await eventually('the produce to wait for a leader', () =>
      (backend as RaftBackend).heldProduces > 0 ? true : undefined,
    );
    // The hold's bound is on the manual clock: held before it, refused at it.
    // (The call began within `spent` ms of its deadline's reading: its bound is between these two.)
    clock.advance(holdMs(callMs - spent) - 1000);
    await new Promise((r) => setImmediate(r));
    assert.equal(outcome, undefined, 'still held well before the bound');
    clock.advance(holdMs(callMs) - clock.now());
    const got: unknown = await p;
    assert.ok(got instanceof NoLeaderError, `refused with no leader, got ${String(got)}`);
  });

  it('GIVEN the leader refuses a produce during a leadership transfer that fails (the target is down) THEN it proposes the produce again once the transfer is over', async () => {
    const cluster = (c = await MemoryCluster.create());
    const leader = await cluster.leader(60_000);
    const target = [...cluster.nodes.values()].find((n) => n.id !== leader.id) as RaftNode;
    const leaders = new FakeLeaders();
    forwarder = new LeaderForwarder(credentials.createInsecure(), 60_000, undefined, leaders.dial);
    backend = new RaftBackend({
      node: leader,
      peers: directory(cluster.ids),
      forwarder,
      self: { rpcAddr: rpc(leader.id) },
      linearizable: false,
      leaderWaitMs: 60_000,
    });
    await cluster.stop(target.id);
    // The transfer is fed to the core before the proposal (requests before proposals,
    // loop-inputs.ts), so the core refuses the proposal as 'transferring'. The transfer then
    // ends after an election timeout without a leader change: the target never takes over.
    const transfer = leader.transferLeadership(target.id, 2_000).then(
      () => 'transferred',
      (err: Error) => err.message,
    );
    const outcome = await backend.produce(Buffer.from('during a failed transfer')).then(
      (offset) => `offset ${offset}`,
      (err: Error) => `refused: ${err.message}`,
    );
    assert.match(outcome, /^offset \d+$/, 'proposed by the leader once the transfer was over');
    assert.equal(leader.isLeader, true);
    assert.notEqual(await transfer, 'transferred');
  });

  it('GIVEN a produce held for a leader WHEN the agent starts to drain (releaseHolds) THEN it is refused at once as shutting down, and later ones too', async () => {
    const clock = new ManualLoopClock();
    const { cluster, follower } = await followerBackend({ leaderWait: new LeaderWait(clock), leaderWaitMs: 60_000 });
    cluster.net.isolate(follower.id);
    await eventually('the isolated follower to lose its leader', () => (follower.leaderId === null ? true : undefined));
    const b = backend as RaftBackend;
    const held = b.produce(Buffer.from('held')).then(
      () => 'appended',
      (err: unknown) => err,
    );
    await eventually('the produce to wait for a leader', () => (b.heldProduces > 0 ? true : undefined));
    b.releaseHolds();
    const got = await held;
    assert.ok(got instanceof BackendClosedError, `refused as shutting down, got ${String(got)}`);
    await assert.rejects(b.produce(Buffer.from('later')), BackendClosedError);
    assert.equal(b.heldProduces, 0);
  });
});
