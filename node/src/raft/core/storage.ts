/**
 * The Storage interface: how the core reads the durable log, state and snapshot.
 * The application writes (it persists each Ready) and the core only reads, synchronously,
 * as in etcd-io/raft's storage.go. Implementations: {@link MemoryStorage} (simulator,
 * tests, benchmark) and the shell's storage on the segmented log.
 */
import type { ConfState, Entry, HardState, LogIndex, SnapshotMeta, Term } from './types.js';

/** What a node restarts from. A brand-new node has term 0, no vote, commit 0 and an empty (or bootstrap) configuration. */
export interface InitialState {
  readonly hardState: HardState;
  /** The configuration as of `hardState.commit` (persisted with it; see Ready.confState). */
  readonly confState: ConfState;
}

/**
 * Read access to persisted Raft state. Indexes below `firstIndex()` are compacted into the
 * snapshot; `term(firstIndex() - 1)` is still answered (it is the snapshot's term).
 * Every method must reflect all writes the application made before calling into the core.
 */
export interface Storage {
  /** Hard state and configuration to start from. Called once, when the core is created. */
  initialState(): InitialState;
  /** Index of the first entry still in the log (snapshot index + 1; 1 for a fresh log). */
  firstIndex(): LogIndex;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): LogIndex;
  /** Term of entry `i`, for firstIndex()-1 <= i <= lastIndex(); `undefined` outside that range. */
  term(i: LogIndex): Term | undefined;
  /**
   * Entries in [lo, hi), stopping early once their total size would exceed `maxBytes`
   * (at least one entry is always returned).
   * @throws StorageRangeError when lo < firstIndex() or hi > lastIndex() + 1.
   */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[];
  /** Metadata of the latest snapshot (index 0 / term 0 / size 0 when there is none). */
  snapshot(): SnapshotMeta;
  /**
   * Up to `maxBytes` bytes of snapshot data from `offset`, if `meta` still names the current
   * snapshot; `undefined` when that snapshot has been replaced (the leader restarts the stream).
   */
  snapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array | undefined;
}

/** Bytes an entry counts for in flow control and batching: payload plus a fixed framing allowance. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}

/** Takes entries from the front of `ents` while their total size stays within `maxBytes` (always at least one). */
export function limitSize<T extends Entry>(ents: T[], maxBytes: number): T[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0] as T);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n] as T);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
