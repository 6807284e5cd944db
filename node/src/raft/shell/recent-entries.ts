/**
 * RecentEntries: the entries LogStorage appended last, kept in memory so that the core's
 * reads of just-persisted entries — the committed entries to apply, a follower's next
 * append on the leader — are served without reading them back from the segment files (a
 * positional read, a checksum and a new entry object per record, right after writing them).
 *
 * Contract: it holds a contiguous run of entries exactly as they were appended, bounded by
 * `maxBytes` of data and `maxCount` entries (the oldest are dropped first). An append that
 * continues the run extends it; one that starts inside it replaces the suffix from there on,
 * as the log's suffix truncation does (Raft §5.3); any other start (a gap, a snapshot reset)
 * restarts it. {@link range} answers only when it holds the whole range, so a miss simply
 * falls back to the log: the cache changes no result, only where it is read from.
 */
import type { Entry } from '../core/types.js';

/** A bounded in-memory tail of the entries appended to a LogStorage. */
export class RecentEntries {
  private ents: Entry[] = [];
  /** Position in `ents` of the oldest entry held (dropped ones are spliced out in bulk). */
  private start = 0;
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxCount: number,
  ) {}

  /** Entries held. */
  get size(): number {
    return this.ents.length - this.start;
  }

  /** Notes entries appended at consecutive indexes from `ents[0].index` on (see the file comment). */
  append(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const lo = this.firstIndex();
    if (this.size === 0 || first.index < lo || first.index > lo + this.size) this.clear();
    else this.cut(first.index);
    for (const e of ents) {
      this.ents.push(e);
      this.bytes += e.data.byteLength;
    }
    while (this.size > 1 && (this.bytes > this.maxBytes || this.size > this.maxCount)) {
      this.bytes -= (this.ents[this.start] as Entry).data.byteLength;
      this.start++;
    }
    if (this.start > 1024 && this.start * 2 > this.ents.length) {
      this.ents = this.ents.slice(this.start);
      this.start = 0;
    }
  }

  /** Entries [lo, hi) when every one of them is held, else undefined. */
  range(lo: number, hi: number): readonly Entry[] | undefined {
    if (this.size === 0) return undefined;
    const first = this.firstIndex();
    if (lo < first || hi > first + this.size || lo >= hi) return undefined;
    return this.ents.slice(this.start + lo - first, this.start + hi - first);
  }

  /** Forgets everything (the log was reset or rewritten under it). */
  clear(): void {
    this.ents = [];
    this.start = 0;
    this.bytes = 0;
  }

  private firstIndex(): number {
    return (this.ents[this.start] as Entry | undefined)?.index ?? 0;
  }

  /** Drops the entries at `index` and above (they are being replaced). */
  private cut(index: number): void {
    const keep = this.start + index - this.firstIndex();
    for (let i = keep; i < this.ents.length; i++) this.bytes -= (this.ents[i] as Entry).data.byteLength;
    this.ents.length = keep;
  }
}
