/**
 * The producer table: the deduplication state of the idempotent producer, a pure part of
 * the replicated state machine (no I/O, no clock). Kafka's idempotent producer keeps the
 * same kind of table (producer id → recent sequence numbers and their offsets, rebuilt from
 * the log and snapshotted), hashicorp/raft and etcd state machines keep client sessions the
 * same way (Raft thesis §6.3: "the state machine tracks the latest serial number processed
 * for each client, along with the associated response").
 *
 * Contract: every node applies the same committed entries in the same order, so every rule
 * here is a function of the table and the entry alone — never of a wall clock, a local
 * configuration or the arrival order of requests. In particular the limits are constants of
 * the cluster ({@link DEFAULT_PRODUCER_LIMITS}), not node options: two nodes with different
 * limits would decide differently and their dense offsets would diverge.
 *
 * Per producer the table remembers the `window` highest sequence numbers applied, each with
 * the dense offset and Raft index of its record. For an entry (producer, seq) at index i:
 * - unknown (or expired) producer → append (a new producer; after eviction the table can no
 *   longer tell, which is the documented bound of exactly-once);
 * - seq in the window → duplicate: append nothing, answer the original offset;
 * - the window is full and seq is below its lowest → out of sequence: the table cannot tell
 *   whether it was applied, so it is refused (append nothing, FAILED_PRECONDITION);
 * - otherwise → append (seq above the last, or a gap inside the window never applied:
 *   concurrent produces of one producer may arrive out of order).
 * Bounds: at most `maxProducers` producers (the least recently applied one is evicted: the
 * table is kept in order of last applied index, which is the LRU order and the same on every
 * node), and a producer with no entry for `expireAfterEntries` log entries is forgotten.
 */

/** The limits of a {@link ProducerTable}; the same on every node of a cluster. */
export interface ProducerLimits {
  /** Producers remembered at most; the one applied least recently is evicted first. */
  readonly maxProducers: number;
  /** Sequence numbers remembered per producer (the highest ones applied). */
  readonly window: number;
  /** A producer with no entry for this many Raft indexes is forgotten. */
  readonly expireAfterEntries: number;
}

/** The cluster-wide limits (changing them is a protocol change: all nodes must agree). */
export const DEFAULT_PRODUCER_LIMITS: ProducerLimits = {
  maxProducers: 1024,
  window: 32,
  expireAfterEntries: 10_000_000,
};

/** Where a producer's record landed. */
export interface SeqRecord {
  readonly seq: number;
  /** Dense user offset of the record. */
  readonly dataOffset: number;
  /** Raft index (= log offset) of the record. */
  readonly index: number;
}

/** What to do with an entry (producer, seq). */
export type DedupDecision =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly original: SeqRecord }
  | { readonly kind: 'out-of-sequence'; readonly lowestSeq: number; readonly lastSeq: number };

interface ProducerEntry {
  /** The `window` highest sequence numbers applied, ascending. */
  readonly seqs: SeqRecord[];
  /** Raft index of the last entry of this producer applied. */
  lastIndex: number;
}

/** The table as plain JSON (stable store, snapshots): producers oldest-applied first. */
export interface ProducerTableJson {
  /** [producer id as hex, last applied index, [seq, dataOffset, index] ascending by seq]. */
  readonly producers: readonly (readonly [string, number, readonly (readonly [number, number, number])[]])[];
}

function insertSorted(seqs: SeqRecord[], r: SeqRecord): void {
  let i = seqs.length;
  while (i > 0 && (seqs[i - 1] as SeqRecord).seq > r.seq) i--;
  seqs.splice(i, 0, r);
}

/** The deduplication table; see the file comment for the rules. */
export class ProducerTable {
  /** Insertion order = order of last applied index (LRU first). */
  private readonly byId = new Map<string, ProducerEntry>();

  constructor(readonly limits: ProducerLimits = DEFAULT_PRODUCER_LIMITS) {
    for (const [k, v] of Object.entries(limits))
      if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`producer limit ${k} must be a positive integer`);
  }

  /** Producers remembered. */
  get size(): number {
    return this.byId.size;
  }

  private live(id: string, index: number): ProducerEntry | undefined {
    const p = this.byId.get(id);
    if (p === undefined || index - p.lastIndex > this.limits.expireAfterEntries) return undefined;
    return p;
  }

  /** The decision for an entry (id, seq) applied at `index`; changes nothing. */
  decide(id: string, seq: number, index: number): DedupDecision {
    const p = this.live(id, index);
    if (p === undefined) return { kind: 'append' };
    const hit = p.seqs.find((r) => r.seq === seq);
    if (hit !== undefined) return { kind: 'duplicate', original: hit };
    const lowest = p.seqs[0];
    if (p.seqs.length >= this.limits.window && lowest !== undefined && seq < lowest.seq)
      return { kind: 'out-of-sequence', lowestSeq: lowest.seq, lastSeq: (p.seqs.at(-1) as SeqRecord).seq };
    return { kind: 'append' };
  }

  /**
   * Applies the entry (id, seq) at `index`: decides, and records it when appended (at
   * `dataOffset`, the dense offset the record gets). Every decision counts as activity of
   * the producer (LRU, expiry). Indexes must increase from call to call.
   */
  apply(id: string, seq: number, index: number, dataOffset: number): DedupDecision {
    const d = this.decide(id, seq, index);
    let p = this.live(id, index);
    this.byId.delete(id);
    if (p === undefined) p = { seqs: [], lastIndex: index };
    if (d.kind === 'append') {
      insertSorted(p.seqs, { seq, dataOffset, index });
      if (p.seqs.length > this.limits.window) p.seqs.shift();
    }
    p.lastIndex = index;
    this.byId.set(id, p);
    this.evict(index);
    return d;
  }

  private evict(index: number): void {
    for (const [id, p] of this.byId) {
      if (this.byId.size <= this.limits.maxProducers && index - p.lastIndex <= this.limits.expireAfterEntries) break;
      this.byId.delete(id);
    }
  }

  /** The record of (id, seq) if remembered. */
  lookup(id: string, seq: number): SeqRecord | undefined {
    return this.byId.get(id)?.seqs.find((r) => r.seq === seq);
  }

  /** The table as JSON (deterministic: same table, same JSON). */
  toJSON(): ProducerTableJson {
    return {
      producers: [...this.byId].map(
        ([id, p]) => [id, p.lastIndex, p.seqs.map((r) => [r.seq, r.dataOffset, r.index] as const)] as const,
      ),
    };
  }

  /**
   * Rebuilds a table from {@link toJSON}'s output.
   * @throws RangeError when `j` is not a table.
   */
  static fromJSON(j: unknown, limits: ProducerLimits = DEFAULT_PRODUCER_LIMITS): ProducerTable {
    const t = new ProducerTable(limits);
    const ps = (j as { producers?: unknown } | null)?.producers;
    if (!Array.isArray(ps)) throw new RangeError('producer table: producers missing');
    const uint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    for (const p of ps as unknown[]) {
      const [id, lastIndex, seqs] = Array.isArray(p) ? (p as unknown[]) : [];
      if (typeof id !== 'string' || !/^[0-9a-f]+$/.test(id) || !uint(lastIndex) || !Array.isArray(seqs))
        throw new RangeError('producer table: malformed producer');
      const recs = (seqs as unknown[]).map((s) => {
        if (!Array.isArray(s) || !s.every(uint) || s.length !== 3)
          throw new RangeError('producer table: malformed sequence');
        return { seq: s[0] as number, dataOffset: s[1] as number, index: s[2] as number };
      });
      t.byId.set(id, { seqs: recs, lastIndex });
    }
    return t;
  }
}
