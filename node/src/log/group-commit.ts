/**
 * Group commit: many concurrent appenders share one fsync.
 *
 * `commit(record)` appends at once (buffered) and resolves with the offset only when a
 * sync round that started after the append has completed, i.e. when the record is durable.
 * While one round's fdatasync runs, every commit that arrives waits for the next round, so
 * N concurrent committers cost about two fsyncs, not N. The coalescing lives in
 * {@link Log.sync}; this helper adds the per-commit bookkeeping metrics want.
 */
import { type Log } from './log.js';
import { type AppendInput } from './record.js';

/** Counters of a {@link GroupCommit}. */
export interface GroupCommitStats {
  /** Records made durable through this helper. */
  readonly committed: number;
  /** Commits currently waiting for their fsync. */
  readonly waiting: number;
}

/** Durable appends for concurrent callers over one {@link Log}. */
export class GroupCommit {
  private committed = 0;
  private waiting = 0;

  constructor(private readonly log: Log) {}

  /**
   * Appends `input` and resolves with its offset once it is durable.
   * Rejects (RecordTooLargeError, …) without writing when the append is refused, and with
   * the fsync error when the sync fails (the record's durability is then unknown).
   */
  async commit(input: AppendInput): Promise<number> {
    const offset = this.log.append(input);
    await this.waitDurable(1);
    return offset;
  }

  /** Appends `inputs` at consecutive offsets; resolves with the first once all are durable. */
  async commitBatch(inputs: readonly AppendInput[]): Promise<number> {
    const first = this.log.appendBatch(inputs);
    await this.waitDurable(inputs.length);
    return first;
  }

  private async waitDurable(records: number): Promise<void> {
    this.waiting += records;
    try {
      await this.log.sync();
      this.committed += records;
    } finally {
      this.waiting -= records;
    }
  }

  /** Counters; fsync latency and counts are on `log.syncStats` / `log.onSync`. */
  get stats(): GroupCommitStats {
    return { committed: this.committed, waiting: this.waiting };
  }
}
