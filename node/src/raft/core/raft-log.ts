/**
 * RaftLog: the node's view of its log — durable entries in {@link Storage} followed by
 * "unstable" entries (and possibly a received snapshot) not yet persisted by the
 * application (etcd-io/raft log.go + log_unstable.go). Tracks commit and applied indexes.
 */
import { RaftInvariantError, StorageRangeError } from './errors.js';
import { limitSize, type Storage } from './storage.js';
import { logIndex, type Entry, type LogIndex, type SnapshotMeta, type Term } from './types.js';

/** The log of one node: storage plus the unstable tail. */
export class RaftLog {
  /** Entries at and after `offset` not yet persisted. */
  private unstable: Entry[] = [];
  private offset: number;
  /** A received snapshot not yet installed by the application. */
  private unstableSnap: SnapshotMeta | null = null;
  /** Highest index known committed (Raft §5.3). */
  committed: LogIndex;
  /** Highest index handed to the application for applying. */
  applied: LogIndex;

  constructor(
    private readonly storage: Storage,
    committed: LogIndex,
    applied?: LogIndex,
  ) {
    this.offset = storage.lastIndex() + 1;
    const floor = storage.firstIndex() - 1;
    this.committed = logIndex(Math.max(committed, floor));
    this.applied = logIndex(Math.max(applied ?? floor, floor));
    if (this.committed > this.lastIndex()) {
      throw new RaftInvariantError('persisted commit is beyond the last entry', { committed, last: this.lastIndex() });
    }
    if (this.applied > this.committed) throw new RaftInvariantError('applied is beyond commit', { applied, committed });
  }

  /** First index still available (after any snapshot). */
  firstIndex(): LogIndex {
    return this.unstableSnap !== null ? logIndex(this.unstableSnap.index + 1) : this.storage.firstIndex();
  }
  /** Last index in the log, durable or not. */
  lastIndex(): LogIndex {
    if (this.unstable.length > 0) return logIndex(this.offset + this.unstable.length - 1);
    if (this.unstableSnap !== null) return this.unstableSnap.index;
    return this.storage.lastIndex();
  }
  /** Term of the last entry. */
  lastTerm(): Term {
    return this.term(this.lastIndex()) as Term;
  }
  /** Term at `i`, or undefined when `i` is compacted away or beyond the end. */
  term(i: LogIndex): Term | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    if (i >= this.offset && this.unstable.length > 0) return this.unstable[i - this.offset]?.term;
    if (this.unstableSnap !== null && i === this.unstableSnap.index) return this.unstableSnap.term;
    return this.storage.term(i);
  }
  /** True when entry `i` exists with term `t`. */
  matchTerm(i: LogIndex, t: Term): boolean {
    return this.term(i) === t;
  }
  /** Raft §5.4.1: a log ending at (lastIndex, lastTerm) is at least as up-to-date as ours. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const lt = this.lastTerm();
    return lastTerm > lt || (lastTerm === lt && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry of `ents` that conflicts with (or extends) our log; 0 if all match. */
  findConflict(ents: readonly Entry[]): LogIndex {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return logIndex(0);
  }

  /**
   * The largest index <= `index` whose term is <= `t` (or the compaction point): where a
   * log whose entry at some index has term `t` can possibly match ours (fast back-off).
   */
  findConflictByTerm(index: LogIndex, t: Term): LogIndex {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const ti = this.term(logIndex(i));
      if (ti === undefined || ti <= t) break;
    }
    return logIndex(i);
  }

  /**
   * The follower side of AppendEntries (Raft §5.3): if our log has (prevIndex, prevTerm),
   * append `ents` (cutting a conflicting suffix), advance commit and return the last new
   * index; otherwise return undefined (the consistency check failed).
   */
  maybeAppend(prevIndex: LogIndex, prevTerm: Term, commit: LogIndex, ents: readonly Entry[]): LogIndex | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = logIndex(prevIndex + ents.length);
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftInvariantError('entry conflicts with a committed entry', {
          conflict: ci,
          committed: this.committed,
        });
      }
      this.append(ents.slice(ci - prevIndex - 1));
    }
    this.commitTo(logIndex(Math.min(commit, lastNew)));
    return lastNew;
  }

  /** Appends entries (the first may overwrite an existing suffix, which is then dropped). */
  append(ents: readonly Entry[]): LogIndex {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new RaftInvariantError('append would overwrite committed entries', {
        after: first.index - 1,
        committed: this.committed,
      });
    }
    const after = first.index;
    if (after === this.offset + this.unstable.length) {
      for (const e of ents) this.unstable.push(e);
    } else if (after <= this.offset) {
      // Replaces durable entries too; the application truncates storage when it persists these.
      this.offset = after;
      this.unstable = [...ents];
    } else {
      this.unstable = this.unstable.slice(0, after - this.offset).concat(ents);
    }
    return this.lastIndex();
  }

  /** Entries in [lo, hi) up to `maxBytes` (at least one). @throws StorageRangeError if lo is compacted. */
  slice(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new StorageRangeError('compacted', lo, hi);
    if (hi > this.lastIndex() + 1) throw new StorageRangeError('unavailable', lo, hi);
    let out: Entry[] = [];
    if (lo < this.offset) {
      out = this.storage.entries(lo, logIndex(Math.min(hi, this.offset)), maxBytes);
      if (out.length < Math.min(hi, this.offset) - lo) return out; // size limit reached in storage
    }
    if (hi > this.offset) {
      const from = Math.max(lo, this.offset) - this.offset;
      out = out.concat(this.unstable.slice(from, hi - this.offset));
    }
    return limitSize(out, maxBytes);
  }

  /** Entries not yet persisted. */
  unstableEntries(): readonly Entry[] {
    return this.unstable;
  }
  /** A received snapshot not yet installed. */
  unstableSnapshot(): SnapshotMeta | null {
    return this.unstableSnap;
  }
  /** Index of the last entry known durable (the application persisted it). */
  stableLastIndex(): LogIndex {
    return logIndex(this.offset - 1);
  }

  /** True when committed entries wait to be applied. */
  hasNextCommitted(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }
  /** The next batch of committed, unapplied entries (up to `maxBytes`). */
  nextCommitted(maxBytes: number): Entry[] {
    const lo = logIndex(Math.max(this.applied + 1, this.firstIndex()));
    return this.slice(lo, logIndex(this.committed + 1), maxBytes);
  }

  /** Raises the commit index. @throws RaftInvariantError beyond the last entry. */
  commitTo(i: LogIndex): void {
    if (i <= this.committed) return;
    if (i > this.lastIndex())
      throw new RaftInvariantError('commit beyond last index', { commit: i, last: this.lastIndex() });
    this.committed = i;
  }
  /** Leader rule (Raft §5.4.2): commit `i` only if it is from the current term `t`. */
  maybeCommit(i: LogIndex, t: Term): boolean {
    if (i > this.committed && this.term(i) === t) {
      this.commitTo(i);
      return true;
    }
    return false;
  }
  /** Records that entries up to `i` were handed out for applying. */
  appliedTo(i: LogIndex): void {
    if (i <= this.applied) return;
    if (i > this.committed)
      throw new RaftInvariantError('applied beyond commit', { applied: i, committed: this.committed });
    this.applied = i;
  }

  /** The application persisted entries up to (i, t): drop them from the unstable tail if still current. */
  stableTo(i: LogIndex, t: Term): void {
    if (i < this.offset || this.unstable.length === 0) return;
    const e = this.unstable[i - this.offset];
    if (e === undefined || e.term !== t) return;
    this.unstable = this.unstable.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }
  /** The application installed the snapshot at `i`. */
  stableSnapTo(i: LogIndex): void {
    if (this.unstableSnap !== null && this.unstableSnap.index === i) this.unstableSnap = null;
  }

  /** The latest snapshot in storage (what a lagging follower is sent). */
  storageSnapshot(): SnapshotMeta {
    return this.storage.snapshot();
  }
  /** A chunk of the storage snapshot's data (see Storage.snapshotChunk). */
  storageSnapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array | undefined {
    return this.storage.snapshotChunk(meta, offset, maxBytes);
  }

  /** Replaces the whole log by a received snapshot (Raft §7). */
  restore(meta: SnapshotMeta): void {
    this.committed = meta.index;
    this.applied = logIndex(Math.min(this.applied, meta.index));
    this.unstable = [];
    this.offset = meta.index + 1;
    this.unstableSnap = meta;
  }
}
