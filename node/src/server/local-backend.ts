/**
 * The single-node {@link LogBackend}: a local segmented {@link Log} with group commit.
 *
 * `produce` appends (buffered) and waits for a sync round that started after the append
 * (Log.sync coalesces concurrent callers: N produces in flight cost about two fdatasyncs).
 * Only then does the durable end advance and wake tailing consumers, so readers never see
 * a record that a crash could still take back. Every record is a data record, so user
 * offsets equal log offsets here (the Raft backend maps them with the log's dense offsets).
 */
import {
  Log,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  type LogConfigInput,
  type LogLogger,
  type SyncEvent,
} from '../log/index.js';
import type { BackendRecord, BackendStats, LogBackend, LogBounds, RangeOptions, ServerInfo } from './backend.js';
import { CommitNotifier } from './commit-notifier.js';
import { ShuttingDownError } from './errors.js';

/** Options of {@link LocalLogBackend.open}. */
export interface LocalBackendOptions {
  readonly logConfig?: LogConfigInput;
  readonly logger?: LogLogger;
  /** How this node appears in GetServers. */
  readonly self: Omit<ServerInfo, 'isLeader' | 'isVoter'>;
}

/** A {@link LogBackend} over one local {@link Log}. */
export class LocalLogBackend implements LogBackend {
  readonly maxRecordBytes: number;
  private readonly notifier: CommitNotifier;
  private closed = false;

  private constructor(
    /** The underlying log (for tests and tools; do not append to it directly). */
    readonly log: Log,
    private readonly self: ServerInfo,
  ) {
    this.maxRecordBytes = log.config.maxRecordBytes;
    // Everything on disk at open is durable (recovery cut any torn tail).
    this.notifier = new CommitNotifier(log.nextOffset);
  }

  /** Opens (or creates) the log in `dir`. */
  static async open(dir: string, opts: LocalBackendOptions): Promise<LocalLogBackend> {
    const log = await Log.open(dir, opts.logConfig ?? {}, opts.logger);
    return new LocalLogBackend(log, { ...opts.self, isLeader: true, isVoter: true });
  }

  async produce(value: Uint8Array): Promise<number> {
    if (this.closed) throw new ShuttingDownError();
    const offset = this.log.append({ value });
    await this.log.sync();
    this.notifier.advance(offset + 1);
    return offset;
  }

  /** Appends every record, then one sync round for all of them; a record over the limit refuses the batch whole. */
  async produceBatch(values: readonly Uint8Array[]): Promise<readonly number[]> {
    if (this.closed) throw new ShuttingDownError();
    const limit = this.maxRecordBytes;
    for (const v of values) if (v.byteLength > limit) throw new RecordTooLargeError(v.byteLength, limit);
    const offsets = values.map((value) => this.log.append({ value }));
    await this.log.sync();
    this.notifier.advance((offsets[offsets.length - 1] ?? this.notifier.nextOffset - 1) + 1);
    return offsets;
  }

  private durable(): LogBounds {
    return { lowest: this.log.lowestOffset, next: this.notifier.nextOffset };
  }

  read(offset: number): Promise<BackendRecord> {
    const b = this.durable();
    if (!Number.isSafeInteger(offset) || offset < b.lowest || offset >= b.next) {
      return Promise.reject(new OffsetOutOfRangeError(offset, b.lowest, b.next));
    }
    try {
      return Promise.resolve(this.log.read(offset));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  readRange(from: number, opts: RangeOptions): Promise<readonly BackendRecord[]> {
    const b = this.durable();
    if (from === b.next) return Promise.resolve([]);
    if (!Number.isSafeInteger(from) || from < b.lowest || from > b.next)
      return Promise.reject(new OffsetOutOfRangeError(from, b.lowest, b.next));
    try {
      return Promise.resolve(
        this.log.readRange(from, { maxCount: opts.maxCount, maxBytes: opts.maxBytes, endOffset: b.next }),
      );
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  bounds(): LogBounds {
    return this.durable();
  }

  waitFor(offset: number, signal: AbortSignal): Promise<boolean> {
    return this.notifier.wait(offset, signal);
  }

  servers(): readonly ServerInfo[] {
    return [this.self];
  }

  stats(): BackendStats {
    const b = this.durable();
    return {
      sizeBytes: this.log.sizeBytes,
      lowestOffset: b.next > b.lowest ? b.lowest : -1,
      highestOffset: b.next > b.lowest ? b.next - 1 : -1,
    };
  }

  notReadyReason(): string | undefined {
    return this.closed ? 'log closed' : undefined;
  }

  /** Calls `listener` after every fsync round (wire it to the fsync histogram). */
  onSync(listener: (e: SyncEvent) => void): () => void {
    return this.log.onSync(listener);
  }

  /** Stops accepting produces, wakes tailing streams, syncs and closes the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifier.close();
    await this.log.close();
  }
}
