/**
 * The segmented commit log: the Raft log and the data users read, on disk.
 *
 * Contract in short:
 * - Offsets are safe integers. The log holds the records at offsets [lowestOffset,
 *   nextOffset); an empty log has `lowestOffset === nextOffset` (there is no "highest
 *   offset" to get wrong: the last record, when there is one, is at nextOffset - 1).
 * - `append` is synchronous and buffered; every change (appends, suffix truncation, rolls)
 *   is durable once a later `sync()` resolves. Concurrent `sync()` calls share fsyncs.
 * - `truncatePrefix`, `applyRetention` and `reset` are asynchronous because they write the
 *   metadata file durably before deleting segments (see meta.ts); they are durable when
 *   they resolve.
 * - Reads never return bytes that fail their checksum: they throw CorruptSegmentError.
 * - Dense data offsets: `toDataOffset`/`toLogOffset` map between log offsets and the dense
 *   offsets 0, 1, 2, … of data records only (dense-offsets.ts).
 *
 * All methods run on the event loop: file reads and writes are synchronous page-cache
 * copies (see store.ts for why), fdatasync/fsync are asynchronous.
 */
import { type Readable } from 'node:stream';
import { type LogConfig, type LogConfigInput } from './config.js';
import { type DenseOffsets } from './dense-offsets.js';
import { InvalidArgumentError, LogBusyError, LogClosedError, OffsetOutOfRangeError } from './errors.js';
import { type LogFiles, activeSegment } from './log-files.js';
import { openLogFiles } from './log-open.js';
import { cutSuffix, removeOldestSegments, resetSegments, rollSegment } from './log-structure.js';
import { type LogLogger, silentLogger } from './logger.js';
import { type FileSystem, realFileSystem } from './file-system.js';
import {
  type AppendInput,
  type DataRecord,
  type LogRecord,
  type ReadRangeOptions,
  RecordType,
  isDataRecordType,
  validateAppendInput,
} from './record.js';
import { rawReader, readDataRange, type VerifyReport, verifySegments } from './log-scans.js';
import { segmentsToExpire } from './retention.js';
import { type Segment } from './segment.js';
import { type SyncEvent, SyncRounds, type SyncStats } from './sync-rounds.js';
import { type TermRuns } from './term-runs.js';

/** Result of {@link Log.applyRetention}. */
export interface RetentionResult {
  readonly removedSegments: number;
  readonly lowestOffset: number;
}

const DEFAULT_MAX_COUNT = 1000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** Sealed segments whose positions random reads keep in memory (≈1 MiB per 64 MiB segment of 256-byte records). */
const POSITION_CACHE_SEGMENTS = 16;

/** The segmented log. Create with {@link Log.open}; one instance per directory. */
export class Log {
  private closed = false;
  private busy: string | undefined;
  /** Settles when the running structural operation (if any) has finished. */
  private structural: Promise<void> = Promise.resolve();
  /** While a prefix removal is in flight: truncateSuffix may not cut at or below this. */
  private prefixFloor: number | undefined;
  /** The segments and what is kept of them in memory (shared with log-structure.ts). */
  private readonly f: LogFiles;

  private constructor(
    /** The directory holding the segment files. */
    readonly dir: string,
    /** The validated configuration. */
    readonly config: LogConfig,
    logger: LogLogger,
    segments: Segment[],
    dense: DenseOffsets,
    terms: TermRuns,
    fs: FileSystem,
  ) {
    const syncs: SyncRounds = new SyncRounds(
      () => this.syncRound(),
      () => {
        for (const s of this.f.retiredDuringSync.splice(0)) s.close();
      },
    );
    this.f = {
      dir,
      config,
      fs,
      logger,
      segments,
      dense,
      terms,
      sealedUnsynced: [],
      positionCached: [],
      dirDirty: false,
      retiredDuringSync: [],
      syncs,
    };
  }

  /**
   * Opens (or creates) the log in `dir`, recovering from a crash: a torn or corrupt tail of
   * the last segment is cut, indexes that disagree with their store are rebuilt, interrupted
   * prefix truncations and resets are completed; each repair is logged as a warning.
   * `config.initialOffset` applies only to a directory that has never held a log.
   * `fs` is the file system (the real one unless a test or the simulator injects memory-fs.ts).
   * @throws CorruptSegmentError for damage inside a sealed segment or missing segments.
   * @throws InvalidLogConfigError for a bad configuration.
   */
  static async open(
    dir: string,
    config: LogConfigInput = {},
    logger: LogLogger = silentLogger,
    fs: FileSystem = realFileSystem,
  ): Promise<Log> {
    const opened = await openLogFiles(dir, config, logger, fs);
    return new Log(dir, opened.config, logger, opened.segments, opened.dense, opened.terms, fs);
  }

  private get active(): Segment {
    return activeSegment(this.f);
  }

  /** Lowest offset still in the log (equals nextOffset when the log is empty). */
  get lowestOffset(): number {
    return this.f.segments[0]?.baseOffset ?? this.active.baseOffset;
  }

  /** Offset the next append gets; the last record, if any, is at nextOffset - 1. */
  get nextOffset(): number {
    return this.active.nextOffset;
  }

  /** True when the log holds no record. */
  get isEmpty(): boolean {
    return this.lowestOffset === this.nextOffset;
  }

  /** Store bytes of all segments (buffered ones included). */
  get sizeBytes(): number {
    let n = 0;
    for (const s of this.f.segments) n += s.sizeBytes;
    return n;
  }

  /** Number of segments (files = 2 × this). */
  get segmentCount(): number {
    return this.f.segments.length;
  }

  /** Base offsets of the segments, oldest first (for tests and status pages). */
  segmentBases(): number[] {
    return this.f.segments.map((s) => s.baseOffset);
  }

  private assertWritable(): void {
    if (this.closed) throw new LogClosedError();
    if (this.busy === 'reset') throw new LogBusyError(this.busy);
  }

  private appendValidated(input: AppendInput): number {
    let active = this.active;
    if (active.isMaxed()) active = rollSegment(this.f);
    const term = input.term ?? 0;
    const type = input.type ?? RecordType.data;
    const offset = active.append(term, type, input.value);
    if (!isDataRecordType(type)) this.f.dense.addNonData(offset);
    this.f.terms.add(offset, term);
    return offset;
  }

  /**
   * Appends one record (buffered: durable after the next `sync()`) and returns its offset.
   * @throws RecordTooLargeError when the value exceeds `config.maxRecordBytes`.
   */
  append(input: AppendInput): number {
    this.assertWritable();
    validateAppendInput(input, this.config.maxRecordBytes);
    this.f.syncs.mark();
    return this.appendValidated(input);
  }

  /**
   * Appends records at consecutive offsets and returns the offset of the first (nextOffset
   * when `inputs` is empty). All inputs are validated before any is written.
   */
  appendBatch(inputs: readonly AppendInput[]): number {
    this.assertWritable();
    for (const input of inputs) validateAppendInput(input, this.config.maxRecordBytes);
    const first = this.nextOffset;
    this.f.syncs.mark();
    for (const input of inputs) this.appendValidated(input);
    return first;
  }

  private checkRange(offset: number): void {
    if (this.closed) throw new LogClosedError();
    const lowest = this.lowestOffset;
    const next = this.nextOffset;
    if (!Number.isSafeInteger(offset) || offset < lowest || offset >= next)
      throw new OffsetOutOfRangeError(offset, lowest, next);
  }

  private segmentFor(offset: number): Segment {
    let lo = 0;
    let hi = this.f.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((this.f.segments[mid]?.baseOffset ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const s = this.f.segments[lo];
    if (!s) throw new Error('log invariant broken: no segment');
    return s;
  }

  /**
   * Reads the record at `offset`.
   * @throws OffsetOutOfRangeError outside [lowestOffset, nextOffset).
   * @throws CorruptSegmentError when the stored frame fails its checksum.
   */
  read(offset: number): LogRecord {
    this.checkRange(offset);
    const segment = this.segmentFor(offset);
    if (segment !== this.active && !segment.hasPositionCache) {
      segment.cachePositions();
      this.f.positionCached = this.f.positionCached.filter((s) => s !== segment);
      this.f.positionCached.push(segment);
      if (this.f.positionCached.length > POSITION_CACHE_SEGMENTS) this.f.positionCached.shift()?.dropPositionCache();
    }
    return segment.read(offset);
  }

  /**
   * Reads consecutive records from `from` on, for fast sequential consumption: the store is
   * read in large chunks, not one call per record. Returns at least one record, and at most
   * `maxCount` records or about `maxBytes` of values, never reaching `endOffset`.
   * Returns [] when `from === nextOffset` (caught up).
   * @throws OffsetOutOfRangeError when `from` is outside [lowestOffset, nextOffset].
   */
  readRange(from: number, options: ReadRangeOptions = {}): LogRecord[] {
    if (this.closed) throw new LogClosedError();
    if (from === this.nextOffset && Number.isSafeInteger(from)) return [];
    this.checkRange(from);
    const maxCount = options.maxCount ?? DEFAULT_MAX_COUNT;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const end = Math.min(options.endOffset ?? this.nextOffset, this.nextOffset);
    const out: LogRecord[] = [];
    let bytes = 0;
    let offset = from;
    let i = this.f.segments.indexOf(this.segmentFor(from)); // few segments: linear is fine
    while (offset < end && out.length < maxCount && (bytes < maxBytes || out.length === 0)) {
      const segment = this.f.segments[i++];
      if (!segment) break;
      bytes = segment.readRange(offset, end, maxCount, maxBytes, out, bytes);
      offset = segment.nextOffset;
    }
    return out;
  }

  /** Term of the record at `offset` (from memory, no disk read). */
  termAt(offset: number): number {
    this.checkRange(offset);
    return this.f.terms.termAt(offset);
  }

  /** Dense data offset of the first data record at or after lowestOffset. */
  get lowestDataOffset(): number {
    return this.f.dense.toDataOffset(this.lowestOffset);
  }

  /** Dense data offset the next data record appended will get. */
  get nextDataOffset(): number {
    return this.f.dense.toDataOffset(this.nextOffset);
  }

  /**
   * Maps a log offset in [lowestOffset, nextOffset] to a dense data offset: for a data
   * record its own data offset; for a non-data record (or nextOffset) the data offset of the
   * next data record. O(log k) in the number k of non-data records.
   */
  toDataOffset(logOffset: number): number {
    if (logOffset !== this.nextOffset) this.checkRange(logOffset);
    return this.f.dense.toDataOffset(logOffset);
  }

  /**
   * Maps a dense data offset in [lowestDataOffset, nextDataOffset) to the log offset of
   * that data record. O(log k).
   * @throws OffsetOutOfRangeError (carrying data-offset bounds) outside that range.
   */
  toLogOffset(dataOffset: number): number {
    if (this.closed) throw new LogClosedError();
    const lowest = this.lowestDataOffset;
    const next = this.nextDataOffset;
    if (!Number.isSafeInteger(dataOffset) || dataOffset < lowest || dataOffset >= next)
      throw new OffsetOutOfRangeError(dataOffset, lowest, next);
    return this.f.dense.toLogOffset(dataOffset);
  }

  /** True when the record at `logOffset` is a data record. */
  isDataRecord(logOffset: number): boolean {
    this.checkRange(logOffset);
    return !this.f.dense.isNonData(logOffset);
  }

  /**
   * Hides the data record at `logOffset` from the dense data offsets: it stays in the log
   * (it is a Raft entry) but is no longer a data record, and every later data record's
   * offset moves down by one. The Raft shell calls it at apply time for a `pdata` record its
   * state machine found a duplicate, in apply order, never for a record above the applied
   * index, so a data offset once handed out never moves. The mark is in memory only (the
   * shell persists its list of hidden records and re-hides them after open); it survives
   * prefix truncation in the meta file's non-data count. Idempotent.
   * @throws OffsetOutOfRangeError outside [lowestOffset, nextOffset).
   */
  hideRecord(logOffset: number): void {
    this.checkRange(logOffset);
    this.f.dense.hide(logOffset);
  }

  /** Reads the data record with dense offset `dataOffset` (bounds are data offsets). */
  readData(dataOffset: number): DataRecord {
    const record = this.read(this.toLogOffset(dataOffset));
    return { ...record, dataOffset };
  }

  /**
   * Like {@link readRange} from the data record `fromData`, returning data records only,
   * each with its dense offset; `endOffset` is a log offset. Returns [] when caught up.
   */
  readDataRange(fromData: number, options: ReadRangeOptions = {}): DataRecord[] {
    return readDataRange(this, fromData, options);
  }

  /**
   * Removes every record at offset >= `from` (Raft conflict repair, §5.3): later segments
   * are deleted, the segment holding `from` is cut. Durable when it returns: the deletion
   * (directory fsync) and then the cut (fdatasync) are made durable at once, blocking the
   * thread, because appends that follow overwrite the cut region in place — had the cut not
   * reached the disk, a power cut could keep new frames in the middle of old ones with valid
   * checksums (a log mixing two leaders' entries). Truncations are rare (a leader change
   * with an uncommitted suffix), so the blocking syncs cost little. A no-op when
   * `from === nextOffset`.
   * @throws OffsetOutOfRangeError when `from` is outside [lowestOffset, nextOffset].
   */
  truncateSuffix(from: number): void {
    this.assertWritable();
    const lowest = this.lowestOffset;
    const next = this.nextOffset;
    if (!Number.isSafeInteger(from) || from < lowest || from > next)
      throw new OffsetOutOfRangeError(from, lowest, next);
    if (from === next) return;
    if (this.prefixFloor !== undefined && from <= this.prefixFloor) throw new LogBusyError('truncatePrefix');
    cutSuffix(this.f, from);
  }

  /**
   * Removes whole segments all of whose records are below `lowest` (retention, snapshot
   * compaction); the active segment is never removed, so the new lowestOffset may stay
   * below `lowest`. Resolves with the new lowestOffset once the removal is durable.
   */
  async truncatePrefix(lowest: number): Promise<number> {
    this.assertWritable();
    if (this.busy) throw new LogBusyError(this.busy);
    let k = 0;
    while (k < this.f.segments.length - 1 && (this.f.segments[k]?.nextOffset ?? Infinity) <= lowest) k++;
    return this.removeOldest(k, 'truncatePrefix');
  }

  private async removeOldest(count: number, operation: string): Promise<number> {
    const keep = this.f.segments[count];
    if (count === 0 || !keep) return this.lowestOffset;
    const newLowest = keep.baseOffset;
    this.prefixFloor = newLowest;
    return this.exclusive(operation, () => removeOldestSegments(this.f, count, operation)).finally(
      () => (this.prefixFloor = undefined),
    );
  }

  /**
   * Runs an asynchronous structural operation (prefix removal, reset) alone: others throw
   * LogBusyError meanwhile, and close() waits for it to settle.
   */
  private exclusive<T>(operation: string, run: () => Promise<T>): Promise<T> {
    this.busy = operation;
    const done = run().finally(() => (this.busy = undefined));
    this.structural = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /**
   * Applies `config.retention`: removes the oldest sealed segments while the log is over
   * `maxTotalBytes` or the segment's last write is older than `maxAgeMs`, oldest first,
   * never the active segment and never a segment holding an offset >= `floor` (pass Raft's
   * last applied / snapshot index + 1 so unapplied entries survive).
   */
  async applyRetention(floor: number, now: number = Date.now()): Promise<RetentionResult> {
    this.assertWritable();
    if (this.busy) throw new LogBusyError(this.busy);
    const k = segmentsToExpire(this.f.segments, this.config.retention, floor, now);
    const lowestOffset = await this.removeOldest(k, 'applyRetention');
    return { removedSegments: k, lowestOffset };
  }

  /**
   * Empties the log and restarts it at `initialOffset` (after installing a snapshot that
   * covers everything below it). `initialDataOffset` is the dense data offset the first
   * data record will get (default: `initialOffset`, i.e. no non-data records below).
   * Durable when it resolves; a crash midway is completed on the next open.
   */
  async reset(initialOffset: number, initialDataOffset: number = initialOffset): Promise<void> {
    this.assertWritable();
    if (this.busy) throw new LogBusyError(this.busy);
    if (!Number.isSafeInteger(initialOffset) || initialOffset < 0)
      throw new InvalidArgumentError('initialOffset', `must be a safe integer >= 0, got ${initialOffset}`);
    if (!Number.isSafeInteger(initialDataOffset) || initialDataOffset < 0 || initialDataOffset > initialOffset) {
      throw new InvalidArgumentError(
        'initialDataOffset',
        `must be a safe integer in [0, initialOffset], got ${initialDataOffset}`,
      );
    }
    return this.exclusive('reset', () => resetSegments(this.f, initialOffset, initialDataOffset));
  }

  /**
   * Checks every frame of every segment (length, checksum, offset): the deep check that
   * open does only for the last segment. For maintenance (an admin command, a periodic
   * scrub): it reads the whole log, yielding to the event loop between segments.
   * Resolves with what it found; it repairs nothing.
   */
  async verify(): Promise<VerifyReport> {
    if (this.closed) throw new LogClosedError();
    return verifySegments([...this.f.segments], (s) => !this.closed && this.f.segments.includes(s));
  }

  /**
   * A stream of the raw store bytes of all segments, oldest first, as of this call (the
   * book's `Reader`, for snapshots). Do not truncate the log while it is being read.
   */
  reader(): Readable {
    if (this.closed) throw new LogClosedError();
    return rawReader(this.f.segments);
  }

  /**
   * Makes everything appended or truncated so far durable: writes the buffers, fsyncs the
   * directory after segments were created or removed, then fdatasyncs the active store and
   * the indexes of segments sealed since the last round. The directory goes first: after a
   * suffix truncation that deleted segments, the deletion must be durable before the cut of
   * the segment that becomes active is, or a power cut in between would leave the deleted
   * segment behind a gap (a log no open can repair). Concurrent callers share rounds
   * (group commit, see sync-rounds.ts). After an fsync failure every later sync rejects
   * with that error: reopen the log. `immediate`: a new round starts at once, not a turn
   * later (sync-rounds.ts), for a single appender syncing once per batch (the Raft shell).
   */
  async sync(o: { readonly immediate?: boolean } = {}): Promise<void> {
    if (this.closed) throw new LogClosedError();
    await this.f.syncs.untilDurable(o.immediate ?? false);
  }

  private async syncRound(): Promise<number> {
    const sealed = this.f.sealedUnsynced;
    const active = this.active;
    this.f.sealedUnsynced = [];
    const dir = this.f.dirDirty;
    this.f.dirDirty = false;
    try {
      if (dir) await this.f.fs.fsyncDir(this.dir);
      await Promise.all([...sealed.map((s) => s.sync(true)), active.sync(false)]);
    } catch (err) {
      this.f.logger.error({ dir: this.dir, err }, 'log: fsync failed; the log refuses further syncs');
      throw err;
    }
    return sealed.length * 2 + 1 + (dir ? 1 : 0);
  }

  /** Counters of sync rounds so far (fsync count and latency for metrics). */
  get syncStats(): SyncStats {
    return this.f.syncs.stats;
  }

  /** Calls `listener` after every sync round; returns a function that unsubscribes it. */
  onSync(listener: (e: SyncEvent) => void): () => void {
    return this.f.syncs.onSync(listener);
  }

  /** Syncs (everything appended becomes durable) and closes all files. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.structural;
      if (!this.f.syncs.failed) await this.f.syncs.untilDurable();
    } finally {
      for (const s of this.f.segments) s.close();
    }
  }
}
