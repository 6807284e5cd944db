/**
 * The dense data-offset map: users see offsets 0, 1, 2, … over data records only, while
 * Raft's no-op and configuration entries share the log (Raft index = log offset).
 *
 * Non-data records are rare (one no-op per elected leader, one entry per membership
 * change), so the map keeps the sorted log offsets of the non-data records still in the
 * log plus `below`: how many non-data records ever existed below the log's lowest offset
 * (persisted in the log's meta file, see meta.ts). Then for a log offset L
 *
 *     nonDataBefore(L) = below + #{ n in list : n < L }
 *     dataOffset(L)    = L - nonDataBefore(L)
 *
 * and both directions are binary searches: O(log k) for k non-data records. Pure data
 * structure: no I/O.
 */

/** Index of the first element of sorted `xs` that is >= `x` (xs.length when none). */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The map between log offsets and dense data offsets. */
export class DenseOffsets {
  private readonly nonData: number[] = [];

  /** `below`: non-data records below the log's lowest offset (already removed). */
  constructor(private below: number) {}

  /** Non-data records that lie below the log's lowest offset. */
  get removedNonData(): number {
    return this.below;
  }

  /** Number of non-data records in the log. */
  get nonDataCount(): number {
    return this.nonData.length;
  }

  /** Records a non-data record at `offset` (greater than every offset recorded so far). */
  addNonData(offset: number): void {
    this.nonData.push(offset);
  }

  /** Non-data records (removed ones included) at offsets < `logOffset`. */
  nonDataBefore(logOffset: number): number {
    return this.below + lowerBound(this.nonData, logOffset);
  }

  /** True when the record at `logOffset` is a non-data record. */
  isNonData(logOffset: number): boolean {
    const i = lowerBound(this.nonData, logOffset);
    return this.nonData[i] === logOffset;
  }

  /**
   * The data offset of the record at `logOffset` when it is a data record; for any offset,
   * the number of data records before it, i.e. the data offset the next data record at or
   * after it gets.
   */
  toDataOffset(logOffset: number): number {
    return logOffset - this.nonDataBefore(logOffset);
  }

  /**
   * The log offset of the data record with data offset `dataOffset`. With n_j the j-th
   * non-data offset, n_j - j is non-decreasing, and the answer is dataOffset + below + j
   * for the first j with n_j - j > dataOffset + below.
   */
  toLogOffset(dataOffset: number): number {
    const target = dataOffset + this.below;
    let lo = 0;
    let hi = this.nonData.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.nonData[mid] ?? 0) - mid <= target) lo = mid + 1;
      else hi = mid;
    }
    return target + lo;
  }

  /**
   * Makes the record at `offset` a non-data record after the fact (a duplicate the state
   * machine hid; log.ts {@link Log.hideRecord}): later offsets shift down by one. Idempotent.
   */
  hide(offset: number): void {
    const i = lowerBound(this.nonData, offset);
    if (this.nonData[i] !== offset) this.nonData.splice(i, 0, offset);
  }

  /** Forgets every non-data record at offsets >= `from` (suffix truncation). */
  truncateFrom(from: number): void {
    this.nonData.length = lowerBound(this.nonData, from);
  }

  /** Moves the non-data records below `lowest` into the removed count (prefix truncation). */
  truncateBelow(lowest: number): void {
    const n = lowerBound(this.nonData, lowest);
    this.below += n;
    this.nonData.splice(0, n);
  }
}
