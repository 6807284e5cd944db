/**
 * Terms of the log's records as runs: run i covers offsets [start_i, start_{i+1}) with one
 * term. Raft terms only grow along the log, so there is one run per term that wrote
 * entries, and `termAt` is a binary search without touching the disk. Pure: no I/O.
 */
export class TermRuns {
  private readonly starts: number[] = [];
  private readonly terms: number[] = [];

  /** Records that `offset` (greater than all recorded ones) has `term`. */
  add(offset: number, term: number): void {
    if (this.terms.length > 0 && this.terms[this.terms.length - 1] === term) return;
    this.starts.push(offset);
    this.terms.push(term);
  }

  /** Term of `offset`; the caller guarantees the offset is in the log. */
  termAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return this.terms[lo - 1] ?? 0;
  }

  /** Forgets offsets >= `from`. */
  truncateFrom(from: number): void {
    while (this.starts.length > 0 && (this.starts[this.starts.length - 1] ?? 0) >= from) {
      this.starts.pop();
      this.terms.pop();
    }
  }

  /** Forgets runs that end at or below `lowest`. */
  truncateBelow(lowest: number): void {
    let drop = 0;
    while (drop + 1 < this.starts.length && (this.starts[drop + 1] ?? 0) <= lowest) drop++;
    this.starts.splice(0, drop);
    this.terms.splice(0, drop);
  }
}
