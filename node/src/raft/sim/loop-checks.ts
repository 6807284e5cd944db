/**
 * The checks of the production-loop simulator (raft-node-sim.ts), made from the outside —
 * each node's public API and its storage — as nothing inside RaftNode is instrumented:
 *
 * - after every step: election safety (one leader per term, Raft §5.2); log matching on each
 *   node's newest entries (an index and term name one entry with one predecessor term
 *   everywhere, §5.3); leader completeness (a leader's log holds every entry any node applied,
 *   §5.4.1); state machine safety (every node applies the same entry at each index, §5.4.3);
 *   no acknowledged record lost or moved (its index, term and value are what every node
 *   applies there);
 * - after a power cut that struck as a node answered: the answer's promise (a vote grant's
 *   term and vote, an acknowledged entry) survived it (README loop step 4 after step 3);
 * - on the converged cluster: every acknowledged record at the dense offset its proposer was
 *   told, on every node; the clients' history linearizable against what the log holds.
 */
import { logIndex, type NodeId } from '../core/types.js';
import type { RaftNode } from '../shell/raft-node.js';
import { checkHistory, type HistoryVerdict } from './final-checks.js';
import { InvariantViolation } from './invariant-violation.js';
import type { LoopClients } from './loop-clients.js';
import { resolveProduces } from './resolve-produces.js';

const dec = new TextDecoder();

/** What an answer sent at a power cut promised was durable. */
export type DurablePromise =
  /** `term` is null when the node's storage did not hold the entry yet as it answered (itself a broken promise). */
  | { readonly kind: 'entry'; readonly index: number; readonly term: number | null; readonly to: NodeId }
  | { readonly kind: 'vote'; readonly term: number; readonly to: NodeId };

/** An acknowledged produce. */
export interface Acked {
  readonly index: number;
  readonly term: number;
  readonly dataOffset: number;
  readonly value: string;
}

/** Accumulates what the cluster showed; each check throws {@link InvariantViolation} on a breach. */
export class LoopChecker {
  readonly acked: Acked[] = [];
  readonly leaders = new Map<number, NodeId>();
  /** Applied entries; `by`: the highest term any node had reached when one was first seen applied (its commit term is no later). */
  private readonly committed = new Map<number, { term: number; data: string; by: number }>();
  private readonly checkedUpTo = new Map<NodeId, number>();
  /** Every (index, term) seen in a log: its data and the term before it. */
  private readonly entries = new Map<string, { data: string; prevTerm: number | undefined; at: NodeId }>();

  /** Election safety and state machine safety over the running nodes, then the acknowledged records. */
  step(step: number, nodes: readonly RaftNode[], onLeader: (id: NodeId, term: number) => void): void {
    const maxTerm = Math.max(0, ...nodes.map((n) => n.status().term));
    for (const n of nodes) {
      const s = n.status();
      if (s.role === 'leader') {
        const other = this.leaders.get(s.term);
        if (other !== undefined && other !== n.id)
          throw new InvariantViolation(
            'election safety',
            `step ${step}: ${n.id} and ${other} both lead term ${s.term}`,
          );
        if (other === undefined) onLeader(n.id, s.term);
        this.leaders.set(s.term, n.id);
        this.leaderComplete(step, n);
      }
      this.logMatching(step, n);
      const from = this.checkedUpTo.get(n.id) ?? 0;
      for (let i = Math.max(from + 1, n.storage.firstIndex()); i <= n.appliedIndex; i++) {
        const [e] = n.storage.entries(logIndex(i), logIndex(i + 1), Infinity);
        if (e === undefined) continue;
        const data = dec.decode(e.data);
        const seen = this.committed.get(i);
        if (seen === undefined) this.committed.set(i, { term: e.term, data, by: maxTerm });
        else if (seen.term !== e.term || seen.data !== data)
          throw new InvariantViolation(
            'state machine safety',
            `step ${step}: ${n.id} applied ${i}/${e.term} "${data}", elsewhere ${i}/${seen.term} "${seen.data}"`,
          );
      }
      this.checkedUpTo.set(n.id, Math.max(from, n.appliedIndex));
    }
    for (const a of this.acked) {
      const c = this.committed.get(a.index);
      if (c !== undefined && (c.term !== a.term || c.data !== a.value))
        throw new InvariantViolation(
          'acknowledged record lost',
          `step ${step}: "${a.value}" was acknowledged at ${a.index}/${a.term}, but ${a.index}/${c.term} "${c.data}" was applied`,
        );
    }
  }

  /** The newest entries of `n`'s log (the ones that change) against every log seen so far. */
  private logMatching(step: number, n: RaftNode): void {
    const last = n.storage.lastIndex();
    const from = Math.max(n.storage.firstIndex(), last - 7);
    if (from > last) return;
    const ents = n.storage.entries(logIndex(from), logIndex(last + 1), Infinity);
    for (const e of ents) {
      const key = `${e.index}/${e.term}`;
      const data = `${e.type}:${dec.decode(e.data)}`;
      const prevTerm = e.index > 1 ? n.storage.term(logIndex(e.index - 1)) : 0;
      const seen = this.entries.get(key);
      if (seen === undefined) this.entries.set(key, { data, prevTerm, at: n.id });
      else if (
        seen.data !== data ||
        (prevTerm !== undefined && seen.prevTerm !== undefined && prevTerm !== seen.prevTerm)
      )
        throw new InvariantViolation(
          'log matching',
          `step ${step}: ${n.id} has ${key} = ${data} after term ${prevTerm ?? '?'}; ${seen.at} had ${seen.data} after term ${seen.prevTerm ?? '?'}`,
        );
    }
  }

  /**
   * A leader of term T holds every entry committed in an earlier term: each applied entry
   * first seen when no node had passed term `by` < T (below its snapshot they are compacted,
   * not checked). A deposed leader of an older term may rightly miss later commits.
   */
  private leaderComplete(step: number, n: RaftNode): void {
    const term = n.status().term;
    for (const [i, c] of this.committed) {
      if (c.by >= term || i < n.storage.firstIndex()) continue;
      const t = n.storage.term(logIndex(i));
      if (t !== c.term)
        throw new InvariantViolation(
          'leader completeness',
          `step ${step}: ${n.id} leads term ${term} with ${t === undefined ? 'no entry' : `term ${t}`} at ${i}, where ${i}/${c.term} was applied`,
        );
    }
  }

  /** The restarted `n` kept what its answer at the power cut promised. */
  promise(step: number, n: RaftNode, p: DurablePromise): void {
    if (p.kind === 'entry') {
      const t = n.storage.term(logIndex(p.index));
      if (t === undefined || (p.term !== null && t !== p.term))
        throw new InvariantViolation(
          'answered before durable',
          `step ${step}: ${n.id} acknowledged entry ${p.index}/${p.term ?? '?'} to ${p.to}; after the power cut its log has ${t ?? 'nothing'} there`,
        );
      return;
    }
    const hs = n.storage.initialState().hardState;
    if (hs.term < p.term || (hs.term === p.term && hs.vote !== p.to))
      throw new InvariantViolation(
        'answered before durable',
        `step ${step}: ${n.id} granted its term ${p.term} vote to ${p.to}; after the power cut its durable term/vote is ${hs.term}/${hs.vote ?? '-'}`,
      );
  }

  /** Highest acknowledged index (0 without any). */
  get maxAcked(): number {
    return Math.max(0, ...this.acked.map((a) => a.index));
  }

  /** Every acknowledged record sits at the dense offset its proposer was told, on every node. */
  denseOffsets(nodes: readonly RaftNode[]): void {
    for (const x of nodes)
      for (const a of this.acked) {
        const off = x.storage.log.toDataOffset(a.index);
        if (off !== a.dataOffset)
          throw new InvariantViolation(
            'dense offsets',
            `${x.id} maps ${a.index} "${a.value}" to offset ${off}, the proposer was told ${a.dataOffset}`,
          );
      }
  }

  /**
   * The clients' history against the log `node` applied (final-checks.ts `checkHistory`): the
   * one-pass check against that log when it holds every record from offset 0, else (or with
   * `crossCheck`, beside it) the generic search with indeterminate produces that took effect
   * placed at their offset (resolve-produces.ts). Throws NOT_LINEARIZABLE.
   */
  linearizable(clients: LoopClients, node: RaftNode, crossCheck = false): HistoryVerdict {
    const offsets = new Map<string, number>();
    const log = node.storage.log;
    let finalLog: string[] | undefined = node.storage.firstIndex() <= 1 ? [] : undefined;
    for (let i = Math.max(1, node.storage.firstIndex()); i <= node.appliedIndex; i++) {
      if (!log.isDataRecord(i)) continue;
      const value = dec.decode(log.read(i).value);
      const offset = log.toDataOffset(i);
      offsets.set(value, offset);
      if (finalLog?.length === offset) finalLog.push(value);
      else finalLog = undefined;
    }
    return checkHistory(
      clients.history,
      finalLog,
      () => resolveProduces(clients.checkedHistory(new Set(offsets.keys())), offsets),
      crossCheck,
    );
  }
}
