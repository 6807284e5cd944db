/**
 * An in-memory {@link LogBackend}: real code for tests and benchmarks of the server
 * (the no-fsync ceiling). Records live in an array; concurrent produces in one tick are
 * committed together, as a group commit would.
 */
import { OffsetOutOfRangeError, RecordTooLargeError } from '../log/index.js';
import type { BackendRecord, BackendStats, LogBackend, LogBounds, RangeOptions, ServerInfo } from './backend.js';
import { CommitNotifier } from './commit-notifier.js';
import { ShuttingDownError } from './errors.js';
import { DEFAULT_MAX_RECORD_BYTES } from './limits.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  readonly maxRecordBytes?: number;
  readonly self?: ServerInfo;
}

/** In-memory log backend. */
export class MemoryBackend implements LogBackend {
  readonly maxRecordBytes: number;
  private readonly records: BackendRecord[] = [];
  private pending: { value: Uint8Array; resolve: (o: number) => void }[] = [];
  private readonly notifier = new CommitNotifier(0);
  private readonly self: ServerInfo;
  private closed = false;
  private bytes = 0;

  constructor(opts: MemoryBackendOptions = {}) {
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.self = opts.self ?? { id: 'memory', rpcAddr: '', isLeader: true, isVoter: true };
  }

  produce(value: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    if (value.byteLength > this.maxRecordBytes)
      return Promise.reject(new RecordTooLargeError(value.byteLength, this.maxRecordBytes));
    return new Promise((resolve) => {
      if (this.pending.length === 0) setImmediate(() => this.commit());
      this.pending.push({ value, resolve });
    });
  }

  /** Appends every record in the next commit (consecutive offsets); a record over the limit refuses the batch whole. */
  produceBatch(values: readonly Uint8Array[]): Promise<readonly number[]> {
    if (this.closed) return Promise.reject(new ShuttingDownError());
    for (const v of values)
      if (v.byteLength > this.maxRecordBytes)
        return Promise.reject(new RecordTooLargeError(v.byteLength, this.maxRecordBytes));
    return Promise.all(values.map((v) => this.produce(v)));
  }

  private commit(): void {
    const batch = this.pending;
    this.pending = [];
    const offsets = batch.map(({ value }) => {
      const offset = this.records.length;
      this.records.push({ value: Buffer.from(value), offset, term: 0, type: 0 });
      this.bytes += value.byteLength;
      return offset;
    });
    this.notifier.advance(this.records.length);
    batch.forEach((p, i) => p.resolve(offsets[i] ?? -1));
  }

  read(offset: number): Promise<BackendRecord> {
    const rec = this.records[offset];
    if (rec === undefined) return Promise.reject(new OffsetOutOfRangeError(offset, 0, this.records.length));
    return Promise.resolve(rec);
  }

  readRange(from: number, opts: RangeOptions): Promise<readonly BackendRecord[]> {
    if (from < 0 || from > this.records.length)
      return Promise.reject(new OffsetOutOfRangeError(from, 0, this.records.length));
    const out: BackendRecord[] = [];
    let bytes = 0;
    for (let o = from; o < this.records.length && out.length < opts.maxCount; o++) {
      const rec = this.records[o] as BackendRecord;
      if (out.length > 0 && bytes + rec.value.byteLength > opts.maxBytes) break;
      out.push(rec);
      bytes += rec.value.byteLength;
    }
    return Promise.resolve(out);
  }

  bounds(): LogBounds {
    return { lowest: 0, next: this.records.length };
  }

  waitFor(offset: number, signal: AbortSignal): Promise<boolean> {
    return this.notifier.wait(offset, signal);
  }

  servers(): readonly ServerInfo[] {
    return [this.self];
  }

  stats(): BackendStats {
    return {
      sizeBytes: this.bytes,
      lowestOffset: this.records.length ? 0 : -1,
      highestOffset: this.records.length - 1,
    };
  }

  notReadyReason(): string | undefined {
    return this.closed ? 'closed' : undefined;
  }

  /** Stops accepting produces and wakes every tailing stream. */
  close(): Promise<void> {
    this.closed = true;
    this.notifier.close();
    return Promise.resolve();
  }
}
