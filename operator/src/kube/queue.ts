/**
 * The reconcile work queue (client-go's workqueue contract):
 * - a key waiting in the queue is there once, however often it is added (dedup);
 * - a key is processed by one worker at a time; added while processing, it runs again after;
 * - a failed key is retried after a per-key exponential backoff, reset by a success;
 * - `addAfter` schedules a key (requeue-after from a reconcile; the earliest time wins);
 * - each processing gets the queue's AbortSignal (controller-runtime's context): `shutdown`
 *   aborts it, so passes in flight stop at their next API call instead of running on.
 */

/** What a processing function may ask for besides success. */
export interface ProcessResult {
  /** Reconcile again after this many milliseconds (polling something external). */
  readonly requeueAfterMs?: number;
}

/** Queue settings. */
export interface WorkQueueOptions {
  readonly concurrency?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Called after each processing with its outcome, duration, and error or result (metrics). */
  readonly observe?: (
    key: string,
    outcome: 'success' | 'error',
    seconds: number,
    err?: unknown,
    result?: ProcessResult,
  ) => void;
}

/** A deduplicating, per-key-serialized work queue with backoff. */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly inflight = new Set<Promise<void>>();
  private running = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly o: Required<Omit<WorkQueueOptions, 'observe'>> & Pick<WorkQueueOptions, 'observe'>;

  constructor(
    private readonly process: (key: string, signal: AbortSignal) => Promise<ProcessResult | void>,
    opts: WorkQueueOptions = {},
  ) {
    this.o = { concurrency: 2, backoffInitialMs: 500, backoffMaxMs: 5 * 60_000, ...opts };
  }

  /** Keys waiting (not counting those being processed or scheduled for later). */
  get depth(): number {
    return this.queue.length;
  }

  /** Number of consecutive failures of `key`. */
  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Enqueues `key` now. */
  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Enqueues `key` after `ms`; an earlier pending schedule wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Starts the workers. */
  start(): void {
    this.running = true;
    this.pump();
  }

  /**
   * Stops taking work, cancels scheduled keys, aborts the signal of processing in flight and
   * waits for it to return.
   */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('work queue shut down'));
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    await Promise.allSettled([...this.inflight]);
  }

  private backoffMs(key: string): number {
    const n = this.failuresOf(key);
    return Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** Math.max(0, n - 1));
  }

  private pump(): void {
    while (this.running && !this.stopped && this.processing.size < this.o.concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      const p = this.work(key);
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
  }

  private async work(key: string): Promise<void> {
    const started = performance.now();
    let retryAfter: number | undefined;
    try {
      const r = await this.process(key, this.abort.signal);
      this.failures.delete(key);
      this.o.observe?.(key, 'success', (performance.now() - started) / 1000, undefined, r ?? {});
      retryAfter = r?.requeueAfterMs;
    } catch (e) {
      this.failures.set(key, this.failuresOf(key) + 1);
      this.o.observe?.(key, 'error', (performance.now() - started) / 1000, e);
      retryAfter = this.backoffMs(key);
    } finally {
      this.processing.delete(key);
    }
    if (this.stopped) return;
    if (this.dirty.delete(key)) this.add(key);
    else if (retryAfter !== undefined) this.addAfter(key, retryAfter);
    this.pump();
  }
}
