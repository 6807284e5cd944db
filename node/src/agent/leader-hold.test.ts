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
import { MemoryCluster } from '../raft/shell/testing/memory-cluster.js';
import { NoLeaderError } from './errors.js';
import { LeaderForwarder } from './forwarder.js';
import { LeaderWait } from './leader-wait.js';
import { agentTags, PeerDirectory } from './peers.js';
import { holdMs, RaftBackend } from './raft-backend.js';
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

/** Polls `check` every 10 ms until it returns a value; throws `what` after `timeoutMs`. */
async function waitUntil<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
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

  async function followerBackend(o: { leaderWait?: LeaderWait; leaderWaitMs?: number } = {}): Promise<{
    cluster: MemoryCluster;
    leader: RaftNode;
    follower: RaftNode;
    leaders: FakeLeaders;
  }> {
    const cluster = (c = await MemoryCluster.create());
    const leader = await cluster.leader();
    const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id) as RaftNode;
    const leaders = new FakeLeaders();
    forwarder = new LeaderForwarder(credentials.createInsecure(), 60_000, undefined, leaders.dial);
    backend = new RaftBackend({
      node: follower,
      peers: directory(cluster.ids),
      forwarder,
      self: { rpcAddr: rpc(follower.id) },
      linearizable: false,
      ...o,
    });
    return { cluster, leader, follower, leaders };
  }

  it('GIVEN the leader died WHEN a follower forwards to it and the connection is refused THEN the produce waits and succeeds at the next leader', async () => {
    const { cluster, leader, follower, leaders } = await followerBackend({ leaderWaitMs: 60_000 });
    await cluster.stop(leader.id);
    assert.equal(follower.leaderId, leader.id, 'the follower has not noticed yet');
    let outcome: string | undefined;
    const p = (backend as RaftBackend).produce(Buffer.from('during the failover')).then(
      (offset) => (outcome = `offset ${offset}`),
      (err: Error) => (outcome = `refused: ${err.message}`),
    );
    const toDead = await waitUntil('the forward to the dead leader', 20_000, () =>
      leaders.calls.find((x) => x.addr === rpc(leader.id)),
    );
    toDead.refuse();
    // The new leader: this follower (it proposes the held record) or the other survivor
    // (the record is forwarded there, and that leader acknowledges it at offset 41).
    const next = await cluster.leader(60_000);
    assert.notEqual(next.id, leader.id);
    if (next.id !== follower.id) {
      const call: FakeProduceCall = await waitUntil('the forward to the new leader', 20_000, () =>
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
    await waitUntil('the isolated follower to lose its leader', 60_000, () =>
      follower.leaderId === null ? true : undefined,
    );
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
    await waitUntil('the produce to wait for a leader', 20_000, () =>
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
});
