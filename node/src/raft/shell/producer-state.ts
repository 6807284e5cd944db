/**
 * ProducerState: the idempotent producer's part of the replicated state machine on one node
 * — the {@link ProducerTable} plus what ties it to the log (the design note of
 * ../README.md "Exactly-once produce" gives the reasoning).
 *
 * Because the state machine is the log (Raft index = log offset, dense user offsets over
 * data records), a `pdata` entry is already in the log before anyone knows whether it is a
 * duplicate. The decision is taken at apply time, in apply order, identically on every node;
 * a duplicate (or out-of-sequence) entry is then *hidden*: it stays a Raft entry but gets no
 * data offset ({@link HidingLog.hideRecord}), so it never becomes a user-visible record and
 * later offsets stay dense. Offsets are only handed out for applied entries, and hiding only
 * touches the entry being applied, so an offset once given never moves.
 *
 * What is persisted (stable store, with `applied`; and in snapshots): the table, `upTo` —
 * the index the table reflects — and `hidden`, the log offsets of hidden entries still in
 * the log. On open the shell re-hides those at or below `applied` (the log's own index only
 * knows record types). A snapshot taken at S carries the state at the time it was taken
 * (upTo ≥ S, a "fuzzy" snapshot as ZooKeeper's): a node that installs it re-applies
 * (S, upTo] without deciding again — the hidden list says which of those entries are
 * hidden — and decides from upTo + 1 on. Either way each node ends with the leader's table
 * and the leader's dense offsets.
 */
import { RaftInvariantError } from '../core/errors.js';
import type { Entry } from '../core/types.js';
import { decodePdata } from './pdata.js';
import {
  type DedupDecision,
  DEFAULT_PRODUCER_LIMITS,
  type ProducerLimits,
  ProducerTable,
  type ProducerTableJson,
  type SeqRecord,
} from './producer-table.js';

/** The persisted form of a {@link ProducerState}. */
export interface ProducerStateJson {
  readonly table: ProducerTableJson;
  /** The table reflects every entry up to this index. */
  readonly upTo: number;
  /** Log offsets of hidden (duplicate or refused) entries, ascending. */
  readonly hidden: readonly number[];
}

/** What applying one `pdata` entry did. */
export type PdataOutcome =
  | { readonly kind: 'appended'; readonly dataOffset: number }
  | { readonly kind: 'duplicate'; readonly original: SeqRecord }
  | { readonly kind: 'out-of-sequence'; readonly lowestSeq: number; readonly lastSeq: number }
  /** A hidden entry re-applied after a snapshot whose original the table no longer has. */
  | { readonly kind: 'unknown' };

/** The part of the Log the producer state needs. */
export interface HidingLog {
  readonly lowestOffset: number;
  readonly nextOffset: number;
  toDataOffset(logOffset: number): number;
  hideRecord(logOffset: number): void;
}

const uint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The producer table of one node, its applied point and its hidden entries. */
export class ProducerState {
  private constructor(
    private readonly table: ProducerTable,
    private upTo: number,
    private hidden: number[],
  ) {}

  /** The state of a node that has applied nothing. */
  static empty(limits: ProducerLimits = DEFAULT_PRODUCER_LIMITS): ProducerState {
    return new ProducerState(new ProducerTable(limits), 0, []);
  }

  /**
   * Restores a persisted state; hidden offsets at or below `after` (already compacted away)
   * are dropped. Absent (`undefined`) means a state written before producers existed: empty.
   * @throws RangeError when `j` is malformed.
   */
  static fromJSON(j: unknown, after = 0, limits: ProducerLimits = DEFAULT_PRODUCER_LIMITS): ProducerState {
    if (j === undefined) return ProducerState.empty(limits);
    const o = j as Partial<ProducerStateJson> | null;
    if (o === null || typeof o !== 'object' || !uint(o.upTo) || !Array.isArray(o.hidden) || !o.hidden.every(uint))
      throw new RangeError('producer state: malformed');
    return new ProducerState(
      ProducerTable.fromJSON(o.table, limits),
      o.upTo,
      o.hidden.filter((h) => h > after),
    );
  }

  /** The persisted form (a fresh copy: later applies do not change it). */
  toJSON(): ProducerStateJson {
    return { table: this.table.toJSON(), upTo: this.upTo, hidden: [...this.hidden] };
  }

  /** Hidden entries in the log (for tests and metrics). */
  get hiddenCount(): number {
    return this.hidden.length;
  }

  /** Producers remembered. */
  get producerCount(): number {
    return this.table.size;
  }

  /** Re-hides, after the log was opened, the hidden entries at or below `applied` that are in the log. */
  rehide(log: HidingLog, applied: number): void {
    for (const h of this.hidden) if (h >= log.lowestOffset && h <= applied && h < log.nextOffset) log.hideRecord(h);
  }

  /** Forgets hidden offsets below `lowest` (a compaction removed them; the log counts them). */
  dropBelow(lowest: number): void {
    this.hidden = this.hidden.filter((h) => h >= lowest);
  }

  /**
   * What the table would decide for (producer, seq) proposed now, from the applied state
   * alone (the leader's fast path: a retry of an applied record is answered without a new
   * entry). Changes nothing.
   */
  peek(producerHex: string, seq: number, index: number): DedupDecision {
    return this.table.decide(producerHex, seq, index);
  }

  /**
   * Applies one committed entry (entries in index order, each once per apply; re-applies
   * after a restart or a snapshot install are expected). Returns the outcome of a `pdata`
   * entry, undefined for other types.
   * @throws RaftInvariantError when a pdata entry does not decode (a corrupt log).
   */
  apply(e: Entry, log: HidingLog): PdataOutcome | undefined {
    if (e.index <= this.upTo) return e.type === 'pdata' ? this.replay(e, log) : undefined;
    this.upTo = e.index;
    if (e.type !== 'pdata') return undefined;
    const p = decode(e);
    const dataOffset = log.toDataOffset(e.index);
    const d = this.table.apply(p.producer, p.seq, e.index, dataOffset);
    if (d.kind === 'append') return { kind: 'appended', dataOffset };
    log.hideRecord(e.index);
    this.hidden.push(e.index);
    return d;
  }

  /** An entry the table already reflects (installed from a snapshot taken later): its mark only. */
  private replay(e: Entry, log: HidingLog): PdataOutcome {
    if (!this.hidden.includes(e.index)) return { kind: 'appended', dataOffset: log.toDataOffset(e.index) };
    log.hideRecord(e.index);
    const p = decode(e);
    const o = this.table.lookup(p.producer, p.seq);
    return o !== undefined && o.index !== e.index ? { kind: 'duplicate', original: o } : { kind: 'unknown' };
  }
}

function decode(e: Entry): ReturnType<typeof decodePdata> {
  try {
    return decodePdata(e.data);
  } catch (err) {
    throw new RaftInvariantError('a pdata entry does not decode', { index: e.index, err: String(err) });
  }
}
