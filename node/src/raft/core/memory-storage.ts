/**
 * MemoryStorage: a complete in-memory {@link Storage}, used by the simulator, the scenario
 * tests and the benchmark (STYLE.md 4: in-memory implementations are real code). It is the
 * "durable" side of a simulated node: what a crash keeps.
 */
import { RaftInvariantError, StorageRangeError } from './errors.js';
import { entrySize, type InitialState, type Storage } from './storage.js';
import {
  type ConfState,
  type Entry,
  type HardState,
  type LogIndex,
  type SnapshotChunk,
  type SnapshotMeta,
  type Term,
  logIndex,
  term as toTerm,
} from './types.js';

const emptyConf: ConfState = { voters: [], learners: [] };

/** In-memory storage of one node's log, hard state, configuration and latest snapshot. */
export class MemoryStorage implements Storage {
  private hard: HardState;
  private conf: ConfState;
  private snapMeta: SnapshotMeta;
  private snapData: Uint8Array = new Uint8Array(0);
  /** ents[0] is a sentinel carrying the snapshot's index and term; real entries follow. */
  private ents: Entry[];
  private staging: { meta: SnapshotMeta; data: Uint8Array; filled: number } | null = null;

  /** Creates empty storage, optionally with a bootstrap configuration (e.g. `{ voters: [self] }`). */
  constructor(init: { confState?: ConfState; hardState?: HardState } = {}) {
    this.conf = init.confState ?? emptyConf;
    this.hard = init.hardState ?? { term: toTerm(0), vote: null, commit: logIndex(0) };
    this.snapMeta = { index: logIndex(0), term: toTerm(0), confState: this.conf, size: 0 };
    this.ents = [{ index: logIndex(0), term: toTerm(0), type: 'noop', data: new Uint8Array(0) }];
  }

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.conf };
  }
  firstIndex(): LogIndex {
    return logIndex(this.offset() + 1);
  }
  lastIndex(): LogIndex {
    return logIndex(this.offset() + this.ents.length - 1);
  }
  term(i: LogIndex): Term | undefined {
    return this.ents[i - this.offset()]?.term;
  }
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    if (lo <= this.offset()) throw new StorageRangeError('compacted', lo, hi);
    if (hi > this.lastIndex() + 1) throw new StorageRangeError('unavailable', lo, hi);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.offset()] as Entry;
      size += entrySize(e);
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }
  snapshot(): SnapshotMeta {
    return this.snapMeta;
  }
  snapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array | undefined {
    if (meta.index !== this.snapMeta.index || meta.term !== this.snapMeta.term) return undefined;
    return this.snapData.subarray(offset, Math.min(this.snapData.byteLength, offset + maxBytes));
  }

  /** The data of the latest snapshot (what `createSnapshot` or `applySnapshot` stored). */
  snapshotData(): Uint8Array {
    return this.snapData;
  }

  /** Persists the hard state (Ready.hardState). */
  setHardState(hs: HardState): void {
    this.hard = hs;
  }
  /** Persists the configuration (Ready.confState). */
  setConfState(cs: ConfState): void {
    this.conf = cs;
  }

  /**
   * Persists entries (Ready.entries): an entry whose index already exists replaces it and
   * everything after it — the conflicting suffix is cut from the *end* (Raft §5.3).
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index > this.lastIndex() + 1) {
      throw new RaftInvariantError('append leaves a gap', { first: first.index, last: this.lastIndex() });
    }
    if (first.index <= this.offset()) {
      // Entries already covered by the snapshot are skipped; the rest are appended.
      const skip = this.offset() + 1 - first.index;
      this.append(entries.slice(skip));
      return;
    }
    this.ents.length = first.index - this.offset();
    for (const e of entries) this.ents.push(e);
  }

  /** Stages one received snapshot chunk (Ready.snapshotChunks). A chunk of another snapshot restarts staging. */
  applySnapshotChunk(c: SnapshotChunk): void {
    const s = this.staging;
    if (s === null || s.meta.index !== c.meta.index || s.meta.term !== c.meta.term) {
      this.staging = { meta: c.meta, data: new Uint8Array(c.meta.size), filled: 0 };
    }
    const st = this.staging as { meta: SnapshotMeta; data: Uint8Array; filled: number };
    st.data.set(c.data, c.offset);
    st.filled = Math.max(st.filled, c.offset + c.data.byteLength);
  }

  /** Installs a fully staged snapshot (Ready.snapshot): the log is replaced by the snapshot. */
  applySnapshot(meta: SnapshotMeta): void {
    const s = this.staging;
    if (s === null || s.meta.index !== meta.index || s.meta.term !== meta.term || s.filled !== meta.size) {
      throw new RaftInvariantError('snapshot installed before all its chunks were staged', { index: meta.index });
    }
    this.staging = null;
    this.snapMeta = meta;
    this.snapData = s.data;
    this.conf = meta.confState;
    this.ents = [{ index: meta.index, term: meta.term, type: 'noop', data: new Uint8Array(0) }];
  }

  /**
   * Takes a snapshot at `index` (which must be applied by the caller) with the given state
   * machine data and configuration, then compacts the log up to it (Raft §7).
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): SnapshotMeta {
    const t = this.term(index);
    if (index <= this.snapMeta.index || t === undefined) {
      throw new RaftInvariantError('snapshot index out of range', {
        index,
        snapshot: this.snapMeta.index,
        last: this.lastIndex(),
      });
    }
    this.snapMeta = { index, term: t, confState, size: data.byteLength };
    this.snapData = data;
    this.ents = this.ents.slice(index - this.offset());
    const head = this.ents[0] as Entry;
    this.ents[0] = { index: head.index, term: head.term, type: 'noop', data: new Uint8Array(0) };
    return this.snapMeta;
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}
