/**
 * A follower that comes back with a shorter log than it had acknowledged (its tail was
 * damaged and cut on restart, issue 12) is refilled by the leader. Before, the leader's
 * progress never went below the follower's old match: it probed `match + 1` forever and the
 * follower never caught up (the real-process case in node/src/agent/wiped-follower.test.ts).
 * Core only: three RawNodes over MemoryStorage and a message pump, no time.
 */
import assert from 'node:assert/strict';
import { raftConfig } from './config.js';
import { seededRng } from './env.js';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { logIndex, nodeId, type Message, type NodeId } from './types.js';

const ids = ['n1', 'n2', 'n3'].map(nodeId);
const voters = { voters: ids, learners: [] };

interface Member {
  raw: RawNode;
  storage: MemoryStorage;
}

function member(id: NodeId, storage = new MemoryStorage({ confState: voters }), seed = 1): Member {
  return { raw: new RawNode({ config: raftConfig(id, {}, 'test'), storage, rng: seededRng(seed) }), storage };
}

/** Runs every node's Ready loop and delivers messages until none are left (bounded). */
function pump(nodes: Map<NodeId, Member>): number {
  let delivered = 0;
  for (let round = 0; round < 10_000; round++) {
    const inbox: Message[] = [];
    for (const { raw, storage } of nodes.values()) {
      if (!raw.hasReady()) continue;
      const rd = raw.ready();
      if (rd.hardState) storage.setHardState(rd.hardState);
      storage.append(rd.entries);
      if (rd.confState) storage.setConfState(rd.confState);
      inbox.push(...rd.earlyMessages, ...rd.messages);
      raw.advance(rd);
    }
    if (inbox.length === 0) return delivered;
    for (const m of inbox) {
      delivered++;
      nodes.get(m.to)?.raw.step(m);
    }
  }
  throw new Error('the cluster never went quiet: the nodes keep sending (a resend loop)');
}

describe('raft core: a follower that lost acknowledged entries', () => {
  it('is refilled by the leader from what it still has (its hint below match moves match down)', () => {
    const nodes = new Map(ids.map((id, i) => [id, member(id, undefined, i + 1)]));
    const n1 = nodes.get(ids[0] as NodeId) as Member;
    n1.raw.campaign();
    pump(nodes);
    assert.equal(n1.raw.status().role, 'leader');
    for (let i = 0; i < 20; i++) {
      assert.ok(n1.raw.propose(new TextEncoder().encode(`r${i}`)).ok);
      pump(nodes);
    }
    const last = n1.raw.status().lastIndex;
    const n2id = ids[1] as NodeId;
    const old = nodes.get(n2id) as Member;
    assert.equal(old.raw.status().lastIndex, last, 'n2 had every entry and acknowledged them');

    // n2 restarts with only its first 5 entries (the rest cut as damaged); its hard state
    // keeps its term and vote, its commit is at most what it still has.
    const cut = logIndex(5);
    const hs = old.storage.initialState().hardState;
    const damaged = new MemoryStorage({
      confState: voters,
      hardState: { ...hs, commit: logIndex(Math.min(hs.commit, cut)) },
    });
    damaged.append(old.storage.entries(logIndex(1), logIndex(cut + 1), Number.MAX_SAFE_INTEGER));
    nodes.set(n2id, member(n2id, damaged, 7));
    assert.equal(nodes.get(n2id)?.raw.status().lastIndex, cut);

    // The leader goes on writing and sending heartbeats (ticks are the only clock).
    for (let i = 0; i < 5; i++) {
      n1.raw.propose(new TextEncoder().encode(`after-${i}`));
      pump(nodes);
      for (let t = 0; t < 10; t++) {
        n1.raw.tick();
        pump(nodes);
      }
    }
    const leaderLast = n1.raw.status().lastIndex;
    assert.equal(nodes.get(n2id)?.raw.status().lastIndex, leaderLast, 'n2 holds the whole log again');
    assert.deepEqual(
      damaged.entries(logIndex(1), logIndex(leaderLast + 1), Number.MAX_SAFE_INTEGER).map((e) => e.term),
      n1.storage.entries(logIndex(1), logIndex(leaderLast + 1), Number.MAX_SAFE_INTEGER).map((e) => e.term),
    );
  });
});
