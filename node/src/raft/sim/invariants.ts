/**
 * Safety invariants checked after every simulator step (Raft Figure 3), plus the
 * commit log's own: dense offsets agree everywhere and no acknowledged record is lost.
 * A violation throws {@link InvariantViolation}; the simulator adds the seed.
 */
import type { Entry, LogIndex, Message, NodeId, Ready, SnapshotMeta, Term } from '../core/types.js';
import type { SimMember as SimNode } from './sim-member.js';
import type { SimRecord } from './state-machine.js';
import { checkApplied, checkDelivered } from './commit-rules.js';
import { MembershipChecker } from './membership-invariants.js';
import { InvariantViolation } from './invariant-violation.js';

export { InvariantViolation };

const dec = new TextDecoder();
const describe = (e: Entry): string => `${e.type}:${dec.decode(e.data)}`;

/** A proposal the client was told succeeded. */
export interface AckedRecord {
  readonly index: LogIndex;
  readonly term: Term;
  readonly offset: number;
  readonly value: string;
}

/** Accumulates what the cluster has shown and checks each new observation against it. */
export class InvariantChecker {
  private readonly leaders = new Map<number, NodeId>();
  private readonly entries = new Map<string, { body: string; prevTerm: number | undefined }>();
  private readonly committed = new Map<number, { term: number; body: string }>();
  private committedMax = 0;
  private readonly offsets = new Map<number, { index: number; value: string }>();
  private readonly leaderLogs = new Map<
    string,
    {
      lastIndex: number;
      lastTerm: number;
      electedCommit: number;
      commit: number;
      voterSets: readonly (readonly NodeId[])[];
    }
  >();
  readonly acked: AckedRecord[] = [];
  private readonly membership = new MembershipChecker();

  /**
   * Log Matching (§5.3): an (index, term) pair names one entry, with one predecessor term, on
   * every node; and a node's storage reports the term of each entry it just persisted.
   */
  persisted(node: SimNode, ents: readonly Entry[]): void {
    for (const e of ents) {
      // The node's own log answers for what it just wrote (its term lookups are what its
      // elections, consistency checks and conflict hints use).
      const stored = node.storage.term(e.index);
      if (stored !== e.term)
        throw new InvariantViolation(
          'log matching',
          `${node.id} persisted entry ${e.index}/${e.term} but its storage reports term ${stored ?? '-'} at ${e.index}`,
        );
      const key = `${e.index}/${e.term}`;
      const prevTerm = e.index > 1 ? node.storage.term((e.index - 1) as LogIndex) : 0;
      const seen = this.entries.get(key);
      if (seen === undefined) {
        this.entries.set(key, { body: describe(e), prevTerm });
        continue;
      }
      if (seen.body !== describe(e)) {
        throw new InvariantViolation(
          'log matching',
          `${node.id} has entry ${key} = ${describe(e)}, another node had ${seen.body}`,
        );
      }
      if (prevTerm !== undefined && seen.prevTerm !== undefined && prevTerm !== seen.prevTerm) {
        throw new InvariantViolation(
          'log matching',
          `${node.id}: entry ${key} follows term ${prevTerm}, elsewhere term ${seen.prevTerm}`,
        );
      }
    }
  }

  /**
   * Called before a node writes `ents` to its log: a node that holds a committed entry never
   * replaces it (Leader Completeness §5.4 seen from the follower: a committed entry stays in
   * every log that has it, whatever messages arrive late).
   */
  writing(node: SimNode, ents: readonly Entry[]): void {
    this.membership.writing(node, ents, () => node.raw?.status());
    for (const e of ents) {
      const c = this.committed.get(e.index);
      if (c === undefined || c.term === e.term) continue;
      if (node.storage.term(e.index) === c.term)
        throw new InvariantViolation(
          'committed entry overwritten',
          `${node.id} replaces committed entry ${e.index}/${c.term} with ${e.index}/${e.term}`,
        );
    }
  }

  /** A node took a Ready from its core (before persisting it): the membership checks that need the core's whole log. */
  ready(node: SimNode, rd: Ready): void {
    this.membership.ready(node, rd);
  }

  /**
   * Log Matching across a snapshot install (§7, Figure 13): entries a node keeps after the
   * snapshot's last index must follow it, i.e. be the entries that follow (index, term)
   * everywhere else; otherwise the install must have discarded them.
   */
  installed(node: SimNode, meta: SnapshotMeta): void {
    const next = (meta.index + 1) as LogIndex;
    const t = node.storage.term(next);
    if (t === undefined) return;
    const seen = this.entries.get(`${next}/${t}`);
    if (seen?.prevTerm !== undefined && seen.prevTerm !== meta.term)
      throw new InvariantViolation(
        'log matching',
        `${node.id} kept entry ${next}/${t} after installing snapshot ${meta.index}/${meta.term}; elsewhere it follows term ${seen.prevTerm}`,
      );
  }

  /**
   * Persist before send (README loop step 3): a vote grant goes out only once its term and
   * vote are durable, an append acknowledgement only once the entries it covers are.
   */
  sending(node: SimNode, m: Message): void {
    if (m.type === 'voteResp' && m.granted) {
      const d = node.durableTermVote();
      // A later durable term also keeps the promise: the node never votes in m.term again.
      if (d.term < m.term || (d.term === m.term && d.vote !== m.to))
        throw new InvariantViolation(
          'answered before durable',
          `${node.id} grants its term ${m.term} vote to ${m.to}, but its durable term/vote is ${d.term}/${d.vote ?? '-'}`,
        );
    } else if (m.type === 'appendResp' && m.success && m.index > 0) {
      const t = node.raw?.termAt(m.index);
      if (t !== undefined && !node.holdsDurably(m.index, t))
        throw new InvariantViolation(
          'answered before durable',
          `${node.id} acknowledges entry ${m.index}/${t} to ${m.to} before it is durable`,
        );
    }
  }

  /** `node` stepped `m`; its commit index was `commitBefore` (follower commit rule, commit-rules.ts). */
  delivered(node: SimNode, m: Message, commitBefore: number): void {
    checkDelivered(node, m, commitBefore);
  }

  /** A node (re)started: what its storage holds now is its log. */
  restarted(node: SimNode): void {
    this.membership.restarted(node);
  }

  /** State Machine Safety (§5.4.3) and dense offsets: every node applies the same entry at each index and the same record at each offset. */
  applied(node: SimNode, ents: readonly Entry[], records: readonly SimRecord[]): void {
    checkApplied(node, ents);
    for (const e of ents) this.commit(node.id, e.index, e.term, describe(e));
    for (const r of records) {
      const seen = this.offsets.get(r.offset);
      if (seen === undefined) this.offsets.set(r.offset, { index: r.index, value: r.value });
      else if (seen.index !== r.index || seen.value !== r.value) {
        throw new InvariantViolation(
          'dense offsets',
          `${node.id} offset ${r.offset} = index ${r.index} "${r.value}", elsewhere index ${seen.index} "${seen.value}"`,
        );
      }
    }
  }

  private commit(id: NodeId, index: number, t: number, body: string | null): void {
    const seen = this.committed.get(index);
    if (seen === undefined) {
      this.committed.set(index, { term: t, body: body ?? '' });
      this.committedMax = Math.max(this.committedMax, index);
    } else if (seen.term !== t || (body !== null && seen.body !== '' && seen.body !== body)) {
      throw new InvariantViolation(
        'state machine safety',
        `${id} commits ${index}/${t} ${body ?? ''}, elsewhere ${index}/${seen.term} ${seen.body}`,
      );
    } else if (body !== null && seen.body === '') {
      this.committed.set(index, { term: t, body });
    }
  }

  /** Checks election safety, leader append-only and leader completeness over the running nodes. */
  step(nodes: Iterable<SimNode>): void {
    const all = new Map<NodeId, SimNode>();
    for (const n of nodes) all.set(n.id, n);
    for (const n of all.values()) {
      const raw = n.raw;
      if (raw === null) continue;
      const st = raw.status();
      // Every node's commit index covers the committed entry at that index (§5.4.3, checked
      // at commit time rather than at apply time).
      const c = this.committed.get(st.commit);
      const ct = c === undefined ? undefined : raw.termAt(st.commit);
      if (c !== undefined && ct !== undefined && ct !== c.term)
        throw new InvariantViolation(
          'state machine safety',
          `${n.id} commit index ${st.commit} covers ${st.commit}/${ct}, but ${st.commit}/${c.term} was committed`,
        );
      if (st.role !== 'leader') continue;
      // Election Safety (§5.2): at most one leader per term.
      const prev = this.leaders.get(st.term);
      if (prev !== undefined && prev !== n.id)
        throw new InvariantViolation('election safety', `${prev} and ${n.id} both lead term ${st.term}`);
      const key = `${n.id}@${st.term}`;
      const seen = this.leaderLogs.get(key);
      if (prev === undefined) {
        this.leaders.set(st.term, n.id);
        // Leader Completeness (§5.4): a new leader holds every entry committed before.
        for (const [i, c] of this.committed) {
          const t = raw.termAt(i as LogIndex);
          if (t === undefined && i <= st.lastIndex) continue; // compacted into its snapshot
          if (t !== c.term)
            throw new InvariantViolation(
              'leader completeness',
              `${n.id} leads term ${st.term} without committed entry ${i}/${c.term}`,
            );
        }
      }
      // Leader Append-Only (§5.3): within its term a leader never overwrites or deletes.
      if (seen !== undefined && st.commit > seen.commit && st.commit > seen.electedCommit) {
        const t = raw.termAt(st.commit);
        // §5.4.2: a leader commits by counting replicas only entries of its own term.
        if (t !== st.term)
          throw new InvariantViolation(
            'leader commit rule',
            `${n.id} leading term ${st.term} advanced its commit index to ${st.commit}/${t ?? '?'}, an entry of an earlier term`,
          );
        // A commit is durable on a majority of the configuration that counted it (§5.4, and
        // "persist before send"): otherwise one power cut per holder loses it.
        const sets = [...seen.voterSets, st.activeConf.voters, st.confState.voters];
        const ok = sets.some((vs) => {
          const holders = vs.filter((v) => all.get(v)?.holdsDurably(st.commit, st.term) === true).length;
          return holders > vs.length / 2;
        });
        if (!ok)
          throw new InvariantViolation(
            'commit without a durable quorum',
            `${n.id} committed ${st.commit}/${st.term} but a majority of (${st.activeConf.voters.join(' ')}) does not hold it durably`,
          );
      }
      if (seen !== undefined) {
        const t = raw.termAt(seen.lastIndex as LogIndex);
        if (st.lastIndex < seen.lastIndex || (t !== undefined && t !== seen.lastTerm)) {
          throw new InvariantViolation(
            'leader append-only',
            `${n.id} in term ${st.term} lost entry ${seen.lastIndex}/${seen.lastTerm}`,
          );
        }
      }
      this.leaderLogs.set(key, {
        lastIndex: st.lastIndex,
        lastTerm: raw.termAt(st.lastIndex) ?? 0,
        electedCommit: seen?.electedCommit ?? st.commit,
        commit: st.commit,
        voterSets: [st.activeConf.voters, st.confState.voters],
      });
      // Entries the leader has committed are committed, whether or not anyone applied them yet.
      for (let i = Math.max(this.committedMax + 1, 1); i <= st.commit; i++) {
        const t = raw.termAt(i as LogIndex);
        if (t !== undefined) this.commit(n.id, i, t, null);
      }
    }
    this.membership.step(all.values(), this.committedMax);
    // An acknowledged record stays committed where it was acknowledged.
    for (const a of this.acked) {
      const c = this.committed.get(a.index);
      if (c === undefined || c.term !== a.term)
        throw new InvariantViolation('acknowledged record lost', `${a.index}/${a.term} "${a.value}"`);
    }
  }

  /** After healing and quiescing: every running node's log holds every acknowledged record at its offset. */
  final(nodes: Iterable<SimNode>): void {
    for (const n of nodes) {
      if (n.raw === null) continue;
      for (const a of this.acked) {
        const r = n.sm.records[a.offset];
        if (r === undefined || r.value !== a.value || r.index !== a.index) {
          throw new InvariantViolation(
            'acknowledged record lost',
            `${n.id} offset ${a.offset}: want "${a.value}" at index ${a.index}, has ${r === undefined ? 'nothing' : `"${r.value}" at ${r.index}`}`,
          );
        }
      }
    }
  }

  /** Number of distinct leaders elected (for run statistics). */
  get terms(): number {
    return this.leaders.size;
  }
}
