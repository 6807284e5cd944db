/**
 * LogStorage: the core's {@link Storage} on the segmented commit log, with Raft index = log
 * offset — the Raft log *is* the data log, each record written once (README "Dense offsets").
 * Hard state, configuration and the snapshot record live in the {@link StableStore}.
 *
 * Snapshots. The state machine is the log itself, so a snapshot needs no data copy: the
 * snapshot at S is the point the retained log starts after (S = lowestOffset - 1). The leader
 * keeps every record in [S+1, last] as ordinary Raft entries, so a follower behind S installs
 * the snapshot's *metadata* — `{ index S, term, confState, dataOffset of S+1 }`, a 12-byte
 * payload carrying the dense data offset — by `Log.reset(S + 1, dataOffset)`, then receives
 * [S+1, …] by AppendEntries. Both end with the same retained records and the same dense
 * offsets. Compaction is retention: `Log.applyRetention(applied + 1)` drops whole segments,
 * and the new lowest offset L gives the snapshot at L-1. Because the term and configuration
 * at L-1 vanish with the segment, candidate records for every segment boundary are written to
 * the stable store *before* retention runs; a crash in between is finished on open.
 *
 * Reads are synchronous, as the core requires: terms come from the log's in-memory term runs,
 * entries from positional reads of the page cache.
 */
import { join } from 'node:path';
import {
  type FileSystem,
  Log,
  type LogConfigInput,
  type LogLogger,
  type LogRecord,
  RecordType,
  realFileSystem,
} from '../../log/index.js';
import { decodeConfEntry } from '../core/conf-codec.js';
import { RaftInvariantError, StorageRangeError } from '../core/errors.js';
import { entrySize, type InitialState, type Storage } from '../core/storage.js';
import {
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type LogIndex,
  type SnapshotChunk,
  type SnapshotMeta,
  type Term,
  logIndex,
  term as toTerm,
} from '../core/types.js';
import { ClusterIdMismatchError, StorageInconsistentError } from './errors.js';
import { type PdataOutcome, ProducerState } from './producer-state.js';
import { RecentEntries } from './recent-entries.js';
import { decodeSnapshotPayload, encodeSnapshotPayload } from './snapshot-payload.js';
import { type SnapshotRecord, type StableState, StableStore, freshStableState } from './stable-store.js';

const TYPE_TO_RECORD = {
  data: RecordType.data,
  noop: RecordType.noop,
  config: RecordType.config,
  pdata: RecordType.pdata,
} as const;

function recordType(t: number, offset: number): EntryType {
  if (t === RecordType.data) return 'data';
  if (t === RecordType.noop) return 'noop';
  if (t === RecordType.config) return 'config';
  if (t === RecordType.pdata) return 'pdata';
  throw new RaftInvariantError('log record has an unknown type', { offset, type: t });
}

function toEntry(r: LogRecord): Entry {
  return { index: logIndex(r.offset), term: toTerm(r.term), type: recordType(r.type, r.offset), data: r.value };
}

export { decodeSnapshotPayload, encodeSnapshotPayload, SNAPSHOT_PAYLOAD_BYTES } from './snapshot-payload.js';

/** Bounds of {@link RecentEntries}: a few Readys' worth of entries at full batches. */
const RECENT_MAX_BYTES = 4 * 1024 * 1024;
const RECENT_MAX_COUNT = 16_384;

const payloadOf = (s: SnapshotRecord): Uint8Array => encodeSnapshotPayload(s.dataOffset, s.producers);

/**
 * A log tail lost on open (issue 12): the stable state says entries up to `commit` are
 * committed, but the log validated on open ends at `lastIndex` (a torn or corrupt tail was
 * cut off: damaged media, or a disk that lied about fsync).
 */
export interface LostTail {
  readonly commit: LogIndex;
  readonly lastIndex: LogIndex;
  /** The configuration the node had (a repair needs another voter to fetch from). */
  readonly confState: ConfState;
}

/** How to open a node's storage. */
export interface LogStorageOptions {
  /** The node's data directory: the log goes in `<dir>/log`, the stable state in `<dir>/raft-state`. */
  readonly dir: string;
  /** The cluster this node belongs to; persisted on first start and checked on every later one. */
  readonly clusterId: string;
  /** The configuration to start with when the directory is empty (bootstrap voters, or none for a joining node). */
  readonly initialConf: ConfState;
  readonly logConfig?: LogConfigInput;
  readonly logger?: LogLogger;
  /** The file system (default: the real disk; tests and the simulator pass a MemoryFileSystem). */
  readonly fs?: FileSystem;
  /**
   * Asked when the log lost committed entries ({@link LostTail}). Resolving true repairs: the
   * node gives up its whole log and its configuration (keeping term and vote) and starts as
   * a node no leader has added yet, to be refilled from the leader. Why not keep the intact
   * prefix: the node cannot tell how far it acknowledged, and as the old voter with a shorter
   * log it could help elect a candidate missing an entry its own lost ack helped commit. With
   * no configuration it grants no vote (core election.ts) until a leader adds it again; the
   * caller makes that happen by taking a new storage id before resolving (agent storage-id.ts:
   * the leader then replaces the member). Absent or false: open fails with
   * StorageInconsistentError as before (the simulator relies on that to catch lost writes).
   */
  readonly onLostTail?: (lost: LostTail) => Promise<boolean>;
}

/** The core's storage on the segmented log plus the stable store; the runner is its only writer. */
export class LogStorage implements Storage {
  private hard: HardState;
  private conf: ConfState;
  private snap: SnapshotRecord;
  private payload: Uint8Array;
  private applied: LogIndex;
  private history: { index: LogIndex; conf: ConfState }[];
  private staging: { meta: SnapshotMeta; data: Uint8Array; filled: number } | null = null;
  private dirty = false;
  /** The last appended entries, to read just-persisted ones without the files (recent-entries.ts). */
  private readonly recent = new RecentEntries(RECENT_MAX_BYTES, RECENT_MAX_COUNT);
  /** The idempotent producers' state (producer-state.ts): part of the replicated state machine. */
  producers: ProducerState;
  /** True when the directory held no state when opened. */
  readonly fresh: boolean;
  /** Set when open repaired a lost tail ({@link LogStorageOptions.onLostTail}). */
  lostTail: LostTail | undefined;

  private constructor(
    /** The segmented log (read it for consumers; write it only through this class). */
    readonly log: Log,
    private readonly stable: StableStore,
    private readonly clusterIdValue: string,
    s: StableState,
    fresh: boolean,
  ) {
    this.hard = s.hardState;
    this.conf = s.confState;
    this.snap = s.snapshot;
    this.payload = payloadOf(s.snapshot);
    this.applied = s.applied;
    this.history = [...s.confHistory];
    this.fresh = fresh;
    this.producers = ProducerState.fromJSON(s.producers ?? s.snapshot.producers, s.snapshot.index);
    // The log's index knows record types only: hide again what the state machine had hidden.
    this.producers.rehide(log, s.applied);
  }

  /**
   * Opens (or creates) the storage, repairing the effects of a crash in the middle of a
   * snapshot install or a compaction.
   * @throws ClusterIdMismatchError when the directory belongs to another cluster.
   * @throws StableStateCorruptError when the stable-state file is torn or corrupt.
   * @throws StorageInconsistentError when log and stable state disagree beyond repair.
   */
  static async open(o: LogStorageOptions): Promise<LogStorage> {
    const fs = o.fs ?? realFileSystem;
    const stable = await StableStore.open(o.dir, fs);
    const log = await Log.open(join(o.dir, 'log'), o.logConfig ?? {}, o.logger, fs);
    try {
      let s = stable.state;
      const fresh = s === null;
      if (s === null) {
        s = freshStableState(o.clusterId, o.initialConf);
        await stable.save(s);
      } else if (s.clusterId !== o.clusterId) {
        throw new ClusterIdMismatchError(o.clusterId, s.clusterId);
      }
      const r = await reconcile(log, stable, s, o.onLostTail);
      const storage = new LogStorage(log, stable, r.state.clusterId, r.state, fresh);
      storage.lostTail = r.lostTail;
      return storage;
    } catch (err) {
      await log.close();
      throw err;
    }
  }

  /** The cluster id persisted with the state. */
  get clusterId(): string {
    return this.clusterIdValue;
  }

  // ---- Storage (read by the core) ----

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.conf };
  }
  firstIndex(): LogIndex {
    return logIndex(this.snap.index + 1);
  }
  lastIndex(): LogIndex {
    return logIndex(this.log.nextOffset - 1);
  }
  term(i: LogIndex): Term | undefined {
    if (i === this.snap.index) return this.snap.term;
    if (i <= this.snap.index || i < this.log.lowestOffset || i >= this.log.nextOffset) return undefined;
    return toTerm(this.log.termAt(i));
  }
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    if (lo <= this.snap.index) throw new StorageRangeError('compacted', lo, hi);
    if (hi > this.log.nextOffset) throw new StorageRangeError('unavailable', lo, hi);
    const out: Entry[] = [];
    let size = 0;
    const held = this.recent.range(lo, hi);
    if (held !== undefined) {
      for (const e of held) {
        size += entrySize(e);
        if (out.length > 0 && size > maxBytes) return out;
        out.push(e);
      }
      return out;
    }
    let next: number = lo;
    while (next < hi) {
      const recs = this.log.readRange(next, { endOffset: hi, maxBytes: Math.max(1, maxBytes - size) });
      if (recs.length === 0) break;
      for (const r of recs) {
        const e = toEntry(r);
        size += entrySize(e);
        if (out.length > 0 && size > maxBytes) return out;
        out.push(e);
      }
      next = (recs[recs.length - 1] as LogRecord).offset + 1;
    }
    return out;
  }
  snapshot(): SnapshotMeta {
    const s = this.snap;
    return { index: s.index, term: s.term, confState: s.confState, size: s.index === 0 ? 0 : this.payload.byteLength };
  }
  snapshotChunk(meta: SnapshotMeta, offset: number, maxBytes: number): Uint8Array | undefined {
    if (meta.index !== this.snap.index || meta.term !== this.snap.term) return undefined;
    return this.payload.subarray(offset, Math.min(this.payload.byteLength, offset + maxBytes));
  }

  // ---- Writes (by the runner, in the README's order) ----

  /**
   * Appends Ready.entries (buffered; durable after {@link sync}). An entry whose index already
   * exists replaces it and everything after it: the suffix is cut from the end (Raft §5.3).
   */
  append(entries: readonly Entry[]): void {
    let ents = entries;
    const first0 = ents[0];
    if (first0 === undefined) return;
    if (first0.index <= this.snap.index) ents = ents.slice(this.snap.index + 1 - first0.index);
    const first = ents[0];
    if (first === undefined) return;
    const next = this.log.nextOffset;
    if (first.index > next) throw new RaftInvariantError('append leaves a gap', { first: first.index, next });
    if (first.index < next) this.log.truncateSuffix(first.index);
    this.log.appendBatch(ents.map((e) => ({ value: e.data, term: e.term, type: TYPE_TO_RECORD[e.type] })));
    this.recent.append(ents);
  }

  /**
   * Makes all appends and truncations durable (one fsync round for the whole Ready). The
   * round starts before this returns (the loop is the log's only appender: no turn to wait
   * for others), so the fdatasync runs while the caller sends the Ready's early messages.
   */
  sync(): Promise<void> {
    return this.log.sync({ immediate: true });
  }

  /** Records Ready.hardState / Ready.confState in memory; {@link flush} makes them durable. */
  setState(hs: HardState | undefined, cs: ConfState | undefined): void {
    if (hs !== undefined) this.hard = hs;
    if (cs !== undefined) this.conf = cs;
    if (hs !== undefined || cs !== undefined) this.dirty = true;
  }

  /** True when state changed since the last flush. */
  get needsFlush(): boolean {
    return this.dirty;
  }

  /** Writes the stable state atomically and durably. */
  async flush(): Promise<void> {
    this.dirty = false;
    await this.stable.save(this.stableState([]));
  }

  /** Stages a received snapshot chunk (Ready.snapshotChunks); a chunk of another snapshot restarts staging. */
  stageChunk(c: SnapshotChunk): void {
    const s = this.staging;
    if (s === null || s.meta.index !== c.meta.index || s.meta.term !== c.meta.term) {
      this.staging = { meta: c.meta, data: new Uint8Array(c.meta.size), filled: 0 };
    }
    const st = this.staging as { data: Uint8Array; filled: number };
    if (c.offset + c.data.byteLength > st.data.byteLength)
      throw new RaftInvariantError('snapshot chunk beyond its size', { offset: c.offset, size: st.data.byteLength });
    st.data.set(c.data, c.offset);
    st.filled = Math.max(st.filled, c.offset + c.data.byteLength);
  }

  /**
   * Installs a staged snapshot (Ready.snapshot): the stable state records it first, then the
   * log restarts at index + 1 with the snapshot's dense data offset (open() completes a reset
   * interrupted by a crash).
   */
  async installSnapshot(meta: SnapshotMeta): Promise<void> {
    const s = this.staging;
    if (s === null || s.meta.index !== meta.index || s.meta.term !== meta.term || s.filled !== meta.size) {
      throw new RaftInvariantError('snapshot installed before all its chunks were staged', { index: meta.index });
    }
    this.staging = null;
    const { dataOffset, producers } = decodeSnapshotPayload(s.data);
    this.snap = {
      index: meta.index,
      term: meta.term,
      confState: meta.confState,
      dataOffset,
      ...(producers !== undefined ? { producers } : {}),
    };
    this.payload = payloadOf(this.snap);
    // The snapshot's producer state reflects entries up to its upTo (>= index): continue from it.
    this.producers = ProducerState.fromJSON(producers, meta.index);
    this.conf = meta.confState;
    this.history = [];
    this.applied = meta.index;
    if (this.hard.commit < meta.index) this.hard = { ...this.hard, commit: meta.index };
    await this.flush();
    this.recent.clear();
    await this.log.reset(meta.index + 1, dataOffset);
  }

  /**
   * Notes applied committed entries: config entries extend the configuration history, and
   * `pdata` entries go through the producer state (which may hide a duplicate). Returns the
   * outcome of every `pdata` entry by index.
   */
  noteApplied(entries: readonly Entry[]): Map<number, PdataOutcome> {
    const outcomes = new Map<number, PdataOutcome>();
    for (const e of entries) {
      if (e.index > this.snap.index) {
        const o = this.producers.apply(e, this.log);
        if (o !== undefined) outcomes.set(e.index, o);
      }
      if (
        e.type === 'config' &&
        (this.history.length === 0 || (this.history[this.history.length - 1]?.index ?? 0) < e.index)
      ) {
        this.history.push({ index: e.index, conf: decodeConfEntry(e.data).conf });
      }
      if (e.index > this.applied) this.applied = e.index;
    }
    return outcomes;
  }

  /** Highest applied index noted so far. */
  get appliedIndex(): LogIndex {
    return this.applied;
  }

  /** The configuration in force after applying index `i` (i >= snapshot index). */
  confAt(i: number): ConfState {
    let c = this.snap.confState;
    for (const p of this.history) if (p.index <= i) c = p.conf;
    return c;
  }

  /**
   * Compaction by retention: applies the log's retention policy to segments wholly at or
   * below `applied`, and moves the snapshot to the new lowest offset - 1. Resolves true when
   * a prefix was removed. Does nothing when the log has no retention limits.
   */
  async compact(): Promise<boolean> {
    const { maxTotalBytes, maxAgeMs } = this.log.config.retention;
    if (maxTotalBytes === 0 && maxAgeMs === 0) return false;
    const floor = this.applied + 1;
    const lowest = this.log.lowestOffset;
    const candidates = this.log
      .segmentBases()
      .filter((b) => b > lowest && b > this.snap.index + 1 && b <= floor)
      .map((b) => this.recordAt(b - 1));
    if (candidates.length === 0) return false;
    // The producer state now (upTo = applied >= every candidate): the fuzzy snapshot state.
    const producers = this.producers.toJSON();
    await this.stable.save(this.stableState(candidates, producers));
    const res = await this.log.applyRetention(floor);
    const found = candidates.find((c) => c.index + 1 === res.lowestOffset);
    if (found !== undefined) {
      const chosen = withProducers(found, producers);
      this.snap = chosen;
      this.payload = payloadOf(chosen);
      this.history = this.history.filter((p) => p.index > chosen.index);
      this.producers.dropBelow(res.lowestOffset);
    }
    await this.flush();
    return found !== undefined;
  }

  private recordAt(i: number): SnapshotRecord {
    return {
      index: logIndex(i),
      term: toTerm(this.log.termAt(i)),
      confState: this.confAt(i),
      dataOffset: this.log.toDataOffset(i + 1),
    };
  }

  private stableState(candidates: readonly SnapshotRecord[], compactProducers?: StableState['producers']): StableState {
    const applied = logIndex(Math.max(this.snap.index, Math.min(this.applied, this.hard.commit)));
    return {
      producers: this.producers.toJSON(),
      ...(compactProducers !== undefined ? { compactProducers } : {}),
      clusterId: this.clusterIdValue,
      hardState: this.hard,
      confState: this.conf,
      snapshot: this.snap,
      applied,
      confHistory: this.history.filter((p) => p.index <= applied),
      compactCandidates: candidates,
    };
  }

  /** Syncs and closes the log (the runner flushes the stable state first). */
  async close(): Promise<void> {
    await this.log.close();
  }
}

/** A snapshot record with a producer state, or without one when there is none to carry. */
function withProducers(r: SnapshotRecord, producers: StableState['producers']): SnapshotRecord {
  const empty = producers === undefined || (producers.table.producers.length === 0 && producers.hidden.length === 0);
  return empty ? r : { ...r, producers };
}

/** Brings log and stable state into agreement after a crash; returns the state to start from. */
async function reconcile(
  log: Log,
  stable: StableStore,
  s0: StableState,
  onLostTail: LogStorageOptions['onLostTail'],
): Promise<{ state: StableState; lostTail?: LostTail }> {
  let s = s0;
  if (log.lowestOffset > s.snapshot.index + 1 && !log.isEmpty) {
    // A retention pass removed segments but the new snapshot record was not yet written.
    const c = s.compactCandidates.find((x) => x.index + 1 === log.lowestOffset);
    if (c === undefined) {
      throw new StorageInconsistentError('log starts after the snapshot and no compaction record explains it', {
        lowestOffset: log.lowestOffset,
        snapshotIndex: s.snapshot.index,
      });
    }
    s = {
      ...s,
      snapshot: withProducers(c, s.compactProducers),
      confHistory: s.confHistory.filter((p) => p.index > c.index),
      applied: logIndex(Math.max(s.applied, c.index)),
      compactCandidates: [],
    };
    await stable.save(s);
  }
  const S = s.snapshot.index;
  const holdsS = S >= log.lowestOffset && S < log.nextOffset;
  const startsRight = log.lowestOffset <= S + 1 && log.nextOffset >= S + 1;
  if (
    !startsRight ||
    (holdsS && log.termAt(S) !== s.snapshot.term) ||
    (S === 0 && log.isEmpty && log.nextDataOffset !== 0)
  ) {
    // Fresh directory, or a snapshot install interrupted between the stable write and the reset.
    await log.reset(S + 1, s.snapshot.dataOffset);
  }
  if (s.hardState.commit > log.nextOffset - 1) {
    const lost: LostTail = {
      commit: s.hardState.commit,
      lastIndex: logIndex(log.nextOffset - 1),
      confState: s.confState,
    };
    if (onLostTail === undefined || !(await onLostTail(lost)))
      throw new StorageInconsistentError('commit index beyond the durable log', {
        commit: lost.commit,
        lastIndex: lost.lastIndex,
      });
    // Log first: a crash before the stable write finds the same loss again on the next open.
    await log.reset(1, 0);
    s = {
      ...freshStableState(s.clusterId, { voters: [], learners: [] }),
      hardState: { term: s.hardState.term, vote: s.hardState.vote, commit: logIndex(0) },
    };
    await stable.save(s);
    return { state: s, lostTail: lost };
  }
  return { state: s };
}
