/**
 * A wiped node is never heard as the old voter (issue 12 item 2), on three real RaftNodes over
 * TCP + mutual TLS. The wiped node keeps the old member's id and certificate but has an empty
 * log and no vote recorded; once the leader has sent it the configuration it would answer
 * appends and grant votes as that member — a quorum with a node that lost what it
 * acknowledged. The transport drops its messages because its hello carries a storage id other
 * than the one the receivers recorded for it (the agent's member-storage record; a map here).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NodeId, nodeId } from '../core/types.js';
import { type TcpNode, type TestPki, makeTestPki, startTcpNode } from './testing/tcp-node.js';
import { enc } from './testing/text.js';

/** Waits for `f()` to hold, bounded generously (busy CI machines); names what it waited for. */
async function until(f: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ids = ['v0', 'v1', 'v2'].map(nodeId);
const storageOf = (id: string, gen = 0): string => `${id}-storage-${gen}`;

describe('raft over TCP: a wiped node cannot help elect or commit as the old voter (issue 12)', function () {
  this.timeout(120_000);
  let pki: TestPki;
  let root: string;
  const running = new Set<TcpNode>();

  before(async () => {
    pki = await makeTestPki(ids);
  });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'commitlog-wiped-voter-'));
  });
  afterEach(async () => {
    for (const n of running) await n.close();
    running.clear();
    rmSync(root, { recursive: true, force: true });
  });

  /** Every node recorded the storage id each member had when it joined: generation 0. */
  const recorded = new Map(ids.map((id) => [id as string, storageOf(id)]));

  async function start(id: NodeId, port: number, o: { gen?: number; bootstrap?: boolean } = {}): Promise<TcpNode> {
    const n = await startTcpNode({
      id,
      dir: join(root, id),
      clusterId: 'wiped-cluster',
      ...(o.bootstrap === true ? { bootstrap: { voters: ids } } : {}),
      port,
      pki,
      shellPreset: 'test',
      transportOptions: {
        storageId: storageOf(id, o.gen ?? 0),
        peerWireVersion: () => 2,
        hearsStorage: (from, storageId) => {
          const was = recorded.get(from);
          return was === undefined || storageId === was;
        },
      },
    });
    running.add(n);
    return n;
  }
  async function stop(n: TcpNode): Promise<void> {
    running.delete(n);
    await n.close();
  }
  const connect = (nodes: readonly TcpNode[]): void => {
    for (const a of nodes)
      for (const b of nodes) if (a !== b) a.node.setPeerAddress(b.node.id, `127.0.0.1:${b.mux.port}`);
  };

  it('GIVEN 3 voters WHEN a follower is wiped and restarted (new storage id) and the other follower stops THEN the leader commits nothing and is never re-elected with the wiped node', async () => {
    const nodes: TcpNode[] = [];
    for (const id of ids) nodes.push(await start(id, 0, { bootstrap: true }));
    connect(nodes);
    await until(() => nodes.some((n) => n.node.isLeader), 'a leader');
    const leader = nodes.find((n) => n.node.isLeader) as TcpNode;
    const [other, victim] = nodes.filter((n) => n !== leader) as [TcpNode, TcpNode];
    const first = await leader.node.propose(enc('before the wipe'));
    await Promise.all(nodes.map((n) => n.node.waitForApplied(first.index, 30_000)));

    // WHEN the victim's data dir is wiped: same id, same port, empty log, a new storage id.
    const port = victim.mux.port;
    await stop(victim);
    rmSync(join(root, victim.node.id), { recursive: true, force: true });
    const wiped = await start(victim.node.id, port, { gen: 1 });
    connect([leader, other, wiped]);
    // It hears the leader (nothing is recorded against the leader) and answers its heartbeats.
    // Counted as the old member, its answers would keep the leader in office (check-quorum)
    // and acknowledge appends — it lost everything it once acknowledged.
    await until(() => wiped.transport.stats().sent >= 5, 'the wiped node to answer the leader 5 times');
    const commitBefore = leader.node.status().commit;
    const elections: NodeId[] = [];
    leader.node.onLeaderChange(({ leader: l }) => {
      if (l !== null) elections.push(l);
    });
    await stop(other);

    // THEN a write on the leader is not committed: the wiped node's acknowledgements and votes
    // are dropped, so the leader steps down (check-quorum) and cannot be elected again.
    let committed = false;
    leader.node.propose(enc('during')).then(
      () => (committed = true),
      () => {},
    );
    // Enough chances: the leader stepped down and ran 3 pre-votes, each asking the wiped node.
    const preVotes = (): number => leader.node.status().core.preVotesStarted;
    const preVotesBefore = preVotes();
    await until(
      () =>
        committed ||
        leader.node.status().commit > commitBefore ||
        elections.length > 0 ||
        (!leader.node.isLeader && preVotes() >= preVotesBefore + 3),
      'the leader to step down and campaign 3 times, or to commit or be elected with the wiped node',
    );
    const counted = 'with only the leader and the wiped node up: the wiped node was counted as the old voter';
    assert.equal(committed, false, `a write was committed ${counted}`);
    assert.equal(leader.node.status().commit, commitBefore, `the commit index advanced ${counted}`);
    assert.deepEqual(elections, [], `a leader was elected ${counted}`);
    assert.equal(wiped.transport.stats().droppedWrongStorage, 0, 'the wiped node itself hears the others');
  });
});
