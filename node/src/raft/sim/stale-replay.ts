/**
 * A network fault aimed at the term check on appends (Raft §5.1): a deposed leader's
 * AppendEntries that sat in the network (a router queue, a retransmission) arrives at a
 * follower just after that follower took a newer leader's entries at the same indexes, before
 * it learned that they are committed. Random delays rarely line this up: the old leader's
 * appends that matter are those a partition kept from the follower, and the window closes
 * one round trip later, when the new commit index arrives.
 *
 * {@link StaleAppendReplay.sent} sees every message a node hands to the network (whether or
 * not the network delivers it). It remembers appends with entries; when a follower
 * acknowledges a leader's append, it may pick one of the appends an earlier term's leader sent
 * that follower whose entries start at or above the follower's commit index and at or below
 * the acknowledged index, to be delivered again at once. A correct follower refuses it (lower
 * term); one that accepts it replaces entries the new leader is about to count as replicated.
 */
import type { Message, NodeId } from '../core/types.js';

type Append = Extract<Message, { type: 'append' }>;

/** How many recent appends with entries are kept per recipient. */
const KEEP = 32;

/** Remembers recent appends; picks a stale one to replay when a follower acknowledges a newer leader. */
export class StaleAppendReplay {
  private readonly recent = new Map<NodeId, Append[]>();

  constructor(private readonly rand: () => number) {}

  /**
   * Notes a message handed to the network. For a successful append acknowledgement from a
   * follower whose commit index is `commit`, returns an append of an earlier term addressed to
   * that follower whose entries overlap (commit, acknowledged index], if one was sent.
   */
  sent(m: Message, commit: number): Append | undefined {
    if (m.type === 'append') {
      if (m.entries.length === 0) return undefined;
      let xs = this.recent.get(m.to);
      if (xs === undefined) this.recent.set(m.to, (xs = []));
      xs.push(m);
      if (xs.length > KEEP) xs.shift();
      return undefined;
    }
    if (m.type !== 'appendResp' || !m.success || m.index <= commit) return undefined;
    const stale = (this.recent.get(m.from) ?? []).filter(
      (a) => a.term < m.term && a.prevIndex >= commit && a.prevIndex < m.index,
    );
    return stale[Math.floor(this.rand() * stale.length)];
  }
}

type VoteResp = Extract<Message, { type: 'voteResp' }>;

/**
 * A network fault aimed at the term check on vote answers (Raft §5.1, §5.2): a vote grant
 * that sat in the network arrives while its recipient campaigns again in a later term. Random
 * delays rarely line this up (the grant must outlive a whole election). When a candidate asks
 * for votes in term t, {@link StaleVoteReplay.sent} may pick a grant addressed to it in an
 * earlier term, to be delivered at once; a correct candidate drops it (lower term), one that
 * counts it can win term t with a vote nobody gave in t.
 */
export class StaleVoteReplay {
  private readonly grants = new Map<NodeId, VoteResp[]>();
  private readonly asked = new Set<string>();

  constructor(private readonly rand: () => number) {}

  /** Notes a message handed to the network; for a candidate's first vote request of a term, may return an earlier term's grant to it. */
  sent(m: Message): VoteResp | undefined {
    if (m.type === 'voteResp' && m.granted) {
      let xs = this.grants.get(m.to);
      if (xs === undefined) this.grants.set(m.to, (xs = []));
      xs.push(m);
      if (xs.length > KEEP) xs.shift();
      return undefined;
    }
    if (m.type !== 'vote') return undefined;
    const k = `${m.from}@${m.term}`;
    if (this.asked.has(k)) return undefined;
    this.asked.add(k);
    const stale = (this.grants.get(m.from) ?? []).filter((g) => g.term < m.term);
    if (stale.length === 0 || this.rand() >= 0.5) return undefined;
    return stale[Math.floor(this.rand() * stale.length)];
  }
}
