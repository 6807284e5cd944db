import assert from 'node:assert/strict';
import { raftConfig } from './config.js';
import type { Rng } from './env.js';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { logIndex, nodeId, term, type Message, type NodeId } from './types.js';

const n1 = nodeId('n1');
const n2 = nodeId('n2');
const n3 = nodeId('n3');

/** A random source that always draws `pick(max)`: the election jitter chosen by the test. */
const fixedRng = (pick: (max: number) => number): Rng => ({ nextInt: pick });

interface Member {
  readonly raw: RawNode;
  readonly storage: MemoryStorage;
}

function member(id: NodeId, rng: Rng): Member {
  const storage = new MemoryStorage({ confState: { voters: [n1, n2, n3], learners: [] } });
  return { raw: new RawNode({ config: raftConfig(id, {}, 'lan'), storage, rng }), storage };
}

/** Persists every member's Ready and delivers its messages to the live members (n1 is dead: dropped). */
function settle(members: ReadonlyMap<NodeId, Member>): void {
  for (let round = 0; round < 20; round++) {
    const out: Message[] = [];
    for (const { raw, storage } of members.values()) {
      if (!raw.hasReady()) continue;
      const rd = raw.ready();
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      out.push(...rd.messages);
      raw.advance(rd);
    }
    if (out.length === 0) return;
    for (const m of out) members.get(m.to)?.raw.step(m);
  }
}

describe('pre-vote repeats (a failover is not held up by a voter whose leader lease ends a tick later)', () => {
  it("a pre-candidate whose pre-vote was ignored within a voter's lease wins once that lease ends, in its first election timeout", () => {
    // GIVEN a 3-voter cluster whose leader n1 has just died: n2 heard its last heartbeat one
    // tick before n3 did (the nodes' ticks are not in phase), n2 draws the shortest election
    // timeout (10 ticks) and n3 the longest (19 ticks).
    const members = new Map<NodeId, Member>([
      [
        n2,
        member(
          n2,
          fixedRng(() => 0),
        ),
      ],
      [
        n3,
        member(
          n3,
          fixedRng((max) => max - 1),
        ),
      ],
    ]);
    const m2 = members.get(n2) as Member;
    const m3 = members.get(n3) as Member;
    const heartbeat = (to: NodeId): Message => ({
      type: 'heartbeat',
      from: n1,
      to,
      term: term(1),
      commit: logIndex(0),
      readSeq: 0,
    });
    m2.raw.step(heartbeat(n2));
    settle(members);
    m2.raw.tick();
    m3.raw.step(heartbeat(n3));
    settle(members);
    // WHEN both tick on, their messages delivered at once, until a leader is elected
    const preCandidacies: NodeId[] = [];
    const { electionTicks } = raftConfig(n2, {}, 'lan');
    const someLeader = (): boolean => [...members.values()].some(({ raw }) => raw.status().role === 'leader');
    for (let t = 0; t < 4 * electionTicks && !someLeader(); t++) {
      for (const [id, { raw }] of members) {
        const before = raw.status().role;
        raw.tick();
        if (raw.status().role === 'preCandidate' && before !== 'preCandidate') preCandidacies.push(id);
      }
      settle(members);
    }
    // THEN n2 leads after its first pre-candidacy: n3 ignored that pre-vote within its lease,
    // granted the repeat once its lease ended, and never had to campaign itself. (Without the
    // repeat n2 waited a second election timeout, and n3's own fired first: [n2, n3] or
    // [n2, n2], about twice the leaderless time.)
    assert.equal(m2.raw.status().role, 'leader', `n2 leads (n2 ${m2.raw.status().role}, n3 ${m3.raw.status().role})`);
    assert.deepEqual(preCandidacies, [n2], 'pre-candidacies until a leader was elected');
  });

  it('a voter that hears from a live leader keeps ignoring the repeated pre-votes: the leader is not disrupted', () => {
    // GIVEN n2 cut off from leader n1 (a partition), n3 still hearing n1's heartbeats
    const members = new Map<NodeId, Member>([
      [
        n2,
        member(
          n2,
          fixedRng(() => 0),
        ),
      ],
      [
        n3,
        member(
          n3,
          fixedRng((max) => max - 1),
        ),
      ],
    ]);
    const m2 = members.get(n2) as Member;
    const m3 = members.get(n3) as Member;
    const { electionTicks, heartbeatTicks } = raftConfig(n2, {}, 'lan');
    const heartbeat: Message = {
      type: 'heartbeat',
      from: n1,
      to: n3,
      term: term(1),
      commit: logIndex(0),
      readSeq: 0,
    };
    m2.raw.step({ ...heartbeat, to: n2 });
    // WHEN n2 keeps campaigning for three election timeouts while n3 hears n1 every heartbeat interval
    let preVotesSent = 0;
    for (let t = 0; t < 3 * electionTicks; t++) {
      if (t % heartbeatTicks === 0) m3.raw.step(heartbeat);
      m2.raw.tick();
      m3.raw.tick();
      if (m2.raw.hasReady()) {
        const rd = m2.raw.ready();
        m2.storage.append(rd.entries);
        if (rd.hardState) m2.storage.setHardState(rd.hardState);
        for (const m of rd.messages) if (m.type === 'preVote' && m.to === n3) preVotesSent++;
        m2.raw.advance(rd);
        for (const m of rd.messages) members.get(m.to)?.raw.step(m);
      }
      if (m3.raw.hasReady()) {
        const rd = m3.raw.ready();
        m3.storage.append(rd.entries);
        if (rd.hardState) m3.storage.setHardState(rd.hardState);
        m3.raw.advance(rd);
        for (const m of rd.messages) members.get(m.to)?.raw.step(m);
      }
    }
    // THEN n3 still follows n1 in term 1 and n2 never got past the pre-vote (its term is unchanged)
    assert.ok(preVotesSent > 2, `n2 repeated its pre-vote (${preVotesSent} sent)`);
    assert.equal(m3.raw.status().lead, n1);
    assert.equal(m3.raw.status().term, 1);
    assert.equal(m2.raw.status().term, 1);
    assert.notEqual(m2.raw.status().role, 'candidate');
  });
});
