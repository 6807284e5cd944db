/**
 * ProposalTracker: the runner's bookkeeping of client proposals, from the call to
 * `propose` until the entry at their index is applied (or they are refused, lost or time
 * out). Split out of raft-node.ts so that the runner reads as the README loop alone.
 *
 * Contract: `queue` holds proposals not yet given to the core; `feed` hands all of them to
 * the core at once (consecutive indexes, one Ready, one fsync — the group commit); `settle`
 * resolves or rejects the waiter of every applied entry; `sweep` gives callers an
 * indeterminate outcome after the request timeout; `failAll` rejects everything pending.
 */
import type { RawNode } from '../core/raw-node.js';
import type { Entry, LogIndex, ProposeRefusal, Term, UserEntry } from '../core/types.js';
import {
  NodeStoppedError,
  RaftNotLeaderError,
  ProducerSequenceError,
  ProposalDroppedError,
  ProposalRejectedError,
} from './errors.js';
import { decodePdata, type ProducerSeq } from './pdata.js';
import type { PdataOutcome, ProducerState } from './producer-state.js';

/** Where a committed proposal landed. */
export interface ProposeOutcome {
  /** Dense user offset of the (first) record. */
  readonly dataOffset: number;
  /** Raft index (= log offset) of the (first) record. */
  readonly index: LogIndex;
  readonly term: Term;
  /**
   * True when an idempotent producer's record was already in the log: `dataOffset` and
   * `index` are then the original's (`term` is this attempt's).
   */
  readonly duplicate?: boolean;
}

/** The two offset mappings of the segmented log that settling a proposal needs. */
export interface DataOffsets {
  readonly nextDataOffset: number;
  readonly nextOffset: number;
  toDataOffset(logOffset: number): number;
}

interface ProposalReq {
  readonly ents: readonly UserEntry[];
  resolve(o: ProposeOutcome): void;
  reject(e: Error): void;
}

interface IndexWaiter {
  readonly term: Term;
  readonly first: LogIndex;
  /** The clock's time after which the caller gets an indeterminate outcome. */
  readonly deadline: number;
  resolve(o: ProposeOutcome): void;
  reject(e: Error): void;
}

/** Maps a core refusal to the shell's typed error. */
export function refusalError(r: ProposeRefusal): Error {
  switch (r.reason) {
    case 'not-leader':
    case 'transferring':
      return new RaftNotLeaderError(r.leaderHint, r.reason);
    case 'conf-change-pending':
      return new ProposalRejectedError(r.reason, `a configuration change is pending at index ${r.pendingIndex}`);
    case 'too-large':
      return new ProposalRejectedError(r.reason, `${r.size} bytes exceeds the limit of ${r.limit}`);
    case 'not-ready':
    case 'invalid-conf-change':
      return new ProposalRejectedError(r.reason, r.detail);
    default:
      // Refusals the core adds later (e.g. a learner not caught up): still a typed rejection.
      return new ProposalRejectedError((r as { reason: string }).reason, JSON.stringify(r));
  }
}

/** Pending proposals of one RaftNode; see the file comment for the contract. */
export class ProposalTracker {
  private queued: ProposalReq[] = [];
  /**
   * Waiters by the index their entry took. More than one when this node proposed at an index,
   * lost leadership, and proposed there again in a later term: each waits for what commits
   * at that index (only one of them can be it).
   */
  private readonly byIndex = new Map<number, IndexWaiter[]>();

  /** `now` is the loop's clock (loop-clock.ts): deadlines and {@link sweep} use it. */
  constructor(
    private readonly requestTimeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Proposals queued and not yet fed to the core. */
  get queuedCount(): number {
    return this.queued.length;
  }

  /** Queues a proposal for the next {@link feed}. */
  enqueue(ents: readonly UserEntry[], resolve: (o: ProposeOutcome) => void, reject: (e: Error) => void): void {
    this.queued.push({ ents, resolve, reject });
  }

  /** Tracks a configuration change the core accepted at `index`, like a one-entry proposal. */
  track(index: LogIndex, term: Term, resolve: (o: ProposeOutcome) => void, reject: (e: Error) => void): void {
    this.wait(index, { term, first: index, deadline: this.now() + this.requestTimeoutMs, resolve, reject });
  }

  private wait(index: number, w: IndexWaiter): void {
    const ws = this.byIndex.get(index);
    if (ws === undefined) this.byIndex.set(index, [w]);
    else ws.push(w);
  }

  /** Rejects the proposals that never reached the core (e.g. this node lost leadership). */
  rejectQueued(e: Error): void {
    const q = this.queued;
    this.queued = [];
    for (const p of q) p.reject(e);
  }

  /**
   * All queued proposals go into the core at once: consecutive indexes, one Ready, one
   * fsync. Returns how many records were proposed (0 when the core refused the batch).
   */
  feed(raw: Pick<RawNode, 'proposeEntries'>, log: DataOffsets): number {
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return 0;
    const datas: UserEntry[] = [];
    for (const p of batch) for (const d of p.ents) datas.push(d);
    const r = raw.proposeEntries(datas);
    if (!r.ok) {
      const e = refusalError(r);
      for (const p of batch) p.reject(e);
      return 0;
    }
    let idx = r.index - datas.length + 1;
    const deadline = this.now() + this.requestTimeoutMs;
    for (const p of batch) {
      if (p.ents.length === 0) {
        p.resolve({ dataOffset: log.nextDataOffset, index: r.index, term: r.term });
        continue;
      }
      const first = idx as LogIndex;
      idx += p.ents.length;
      this.wait(idx - 1, { term: r.term, first, deadline, resolve: p.resolve, reject: p.reject });
    }
    return datas.length;
  }

  /**
   * Resolves (same term) or rejects (another term's entry took the index) the waiters of
   * applied entries. A `pdata` entry settles by its outcome in the producer state: its own
   * offset, the original's (a duplicate), or a refusal.
   */
  settle(ents: readonly Entry[], log: DataOffsets, outcomes?: ReadonlyMap<number, PdataOutcome>): void {
    for (const e of ents) {
      const ws = this.byIndex.get(e.index);
      if (ws === undefined) continue;
      this.byIndex.delete(e.index);
      for (const w of ws) settleOne(e, w, log, outcomes?.get(e.index));
    }
    // Waiters below the applied point whose index was never applied cannot exist: indexes apply in order.
  }

  /**
   * Proposals not applied within the request timeout (typically: leadership was lost and no
   * entry has been applied at their index yet) get an indeterminate outcome, so callers
   * never hang; the entry may still commit later (the README's "indeterminate until then").
   */
  sweep(): void {
    const now = this.now();
    for (const [i, ws] of this.byIndex) {
      const due = ws.filter((w) => w.deadline <= now);
      if (due.length === 0) continue;
      if (due.length === ws.length) this.byIndex.delete(i);
      else
        this.byIndex.set(
          i,
          ws.filter((w) => w.deadline > now),
        );
      for (const w of due)
        w.reject(
          new ProposalDroppedError(i, false, `was not applied within ${this.requestTimeoutMs} ms; outcome unknown`),
        );
    }
  }

  /** Rejects every queued and in-flight proposal (node stopped or failed). */
  failAll(e: Error): void {
    this.rejectQueued(e);
    for (const [i, ws] of this.byIndex) {
      this.byIndex.delete(i);
      for (const w of ws)
        w.reject(
          e instanceof NodeStoppedError
            ? new ProposalDroppedError(i, false, 'is indeterminate: the node stopped before applying it')
            : e,
        );
    }
  }
}

/** Settles one waiter of the applied entry `e`: its own (same term), or another term's that took its index. */
function settleOne(e: Entry, w: IndexWaiter, log: DataOffsets, o: PdataOutcome | undefined): void {
  if (e.term === w.term && o !== undefined) {
    settlePdata(e, w, o);
  } else if (e.term === w.term) {
    const dataOffset =
      e.type === 'data' ? log.toDataOffset(w.first) : log.toDataOffset(Math.min(e.index + 1, log.nextOffset));
    w.resolve({ dataOffset, index: w.first, term: w.term });
  } else {
    w.reject(
      new ProposalDroppedError(e.index, true, `was replaced by an entry of term ${e.term} (leadership changed)`),
    );
  }
}

/** Settles the waiter of an applied pdata entry by the producer state's outcome. */
function settlePdata(e: Entry, w: IndexWaiter, o: PdataOutcome): void {
  switch (o.kind) {
    case 'appended':
      return w.resolve({ dataOffset: o.dataOffset, index: w.first, term: w.term });
    case 'duplicate':
      return w.resolve({
        dataOffset: o.original.dataOffset,
        index: o.original.index as LogIndex,
        term: w.term,
        duplicate: true,
      });
    case 'out-of-sequence': {
      const p = decodePdata(e.data);
      return w.reject(new ProducerSequenceError(p.producer, p.seq, o.lowestSeq, o.lastSeq));
    }
    case 'unknown':
      return w.reject(new ProposalDroppedError(e.index, false, 'was a duplicate whose original is no longer known'));
  }
}

/** The part of LogStorage {@link answerFromApplied} reads. */
export interface AppliedProducers {
  readonly producers: ProducerState;
  readonly appliedIndex: number;
  term(i: LogIndex): Term | undefined;
}

/**
 * The leader's fast path for an idempotent producer's record: when the applied state
 * already holds (producer, seq), its original place, without a new entry; undefined when
 * the record must be proposed (the apply-time decision stays the authority, this only saves
 * an entry). `currentTerm` stands in for the original's term once it is compacted away.
 * @throws ProducerSequenceError when the sequence is older than the producer's window.
 */
export function answerFromApplied(s: AppliedProducers, p: ProducerSeq, currentTerm: Term): ProposeOutcome | undefined {
  const id = Buffer.from(p.id).toString('hex');
  const d = s.producers.peek(id, p.seq, s.appliedIndex + 1);
  if (d.kind === 'out-of-sequence') throw new ProducerSequenceError(id, p.seq, d.lowestSeq, d.lastSeq);
  if (d.kind !== 'duplicate') return undefined;
  const index = d.original.index as LogIndex;
  return { dataOffset: d.original.dataOffset, index, term: s.term(index) ?? currentTerm, duplicate: true };
}
