/**
 * Group-commit scheduling: coalesces concurrent sync requests into rounds of fdatasync.
 *
 * Every change to the log calls `mark()`. `until()` resolves once a round that started
 * after the caller's last change has completed. While one round runs, later callers wait
 * for the next, which covers them all; a new round starts one event-loop turn after it is
 * needed, so that every appender woken by the previous round has appended before it
 * starts (otherwise rounds alternate between one record and all the others). A caller that
 * is the log's only appender (the Raft shell: one sync per Ready, nobody else to wait for)
 * passes `immediate` and the round starts at once, its fdatasync submitted before the call
 * returns — the turn would only delay its own record. After a
 * failed round every later call fails too: after an fsync error the page cache's state is
 * unknown (PostgreSQL's "fsyncgate"), so the log must be reopened.
 */

/** Counters of the log's fsync work, for metrics (attach e.g. a prom-client histogram). */
export interface SyncStats {
  /** Completed sync rounds (one round = fdatasync of the dirty files, shared by all waiters). */
  readonly rounds: number;
  /** Sum and maximum of round durations in ms. */
  readonly totalMs: number;
  readonly maxMs: number;
  /** Duration of the last round in ms. */
  readonly lastMs: number;
}

/** What a sync listener learns after each round. */
export interface SyncEvent {
  readonly durationMs: number;
  /** Files fdatasynced in the round: the active store, 2 per newly sealed segment, 1 for the directory. */
  readonly files: number;
}

/** The scheduler; `runRound` does the I/O of one round and returns the files it synced. */
export class SyncRounds {
  private requested = 0;
  private durable = 0;
  private inflight: Promise<void> | undefined;
  private failure: Error | undefined;
  private counters: SyncStats = { rounds: 0, totalMs: 0, maxMs: 0, lastMs: 0 };
  private readonly listeners = new Set<(e: SyncEvent) => void>();

  constructor(
    private readonly runRound: () => Promise<number>,
    private readonly afterRound: () => void,
  ) {}

  /** Records a change that the next round must make durable. */
  mark(): void {
    this.requested++;
  }

  /** True while a round is scheduled or running. */
  get inFlight(): boolean {
    return this.inflight !== undefined;
  }

  /** The error of a failed round, after which no round runs again. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Resolves once every change marked before this call is durable. A new round starts one
   * event-loop turn later (so concurrent appenders join it), or at once with `immediate`.
   */
  async untilDurable(immediate = false): Promise<void> {
    const target = this.requested;
    while (this.durable < target) {
      if (this.failure) throw this.failure;
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      this.inflight = immediate
        ? this.round()
        : new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.round());
      try {
        await this.inflight;
      } finally {
        this.inflight = undefined;
        this.afterRound();
      }
    }
  }

  private async round(): Promise<void> {
    const seq = this.requested;
    const started = performance.now();
    let files: number;
    try {
      files = await this.runRound();
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      throw this.failure;
    }
    const durationMs = performance.now() - started;
    this.durable = Math.max(this.durable, seq);
    const c = this.counters;
    this.counters = {
      rounds: c.rounds + 1,
      totalMs: c.totalMs + durationMs,
      maxMs: Math.max(c.maxMs, durationMs),
      lastMs: durationMs,
    };
    for (const listener of this.listeners) listener({ durationMs, files });
  }

  /** Counters of completed rounds. */
  get stats(): SyncStats {
    return this.counters;
  }

  /** Calls `listener` after every round; returns a function that unsubscribes it. */
  onSync(listener: (e: SyncEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
