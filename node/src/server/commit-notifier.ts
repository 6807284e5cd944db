/**
 * Wakes waiters when the durable end of the log moves: the "new records" event that
 * ConsumeStream tails on (no polling). A waiter asks for "next > offset"; each advance
 * resolves exactly the waiters it satisfies, and an aborted waiter is removed at once, so
 * waiting costs nothing while idle and memory follows the number of live streams.
 */

interface Waiter {
  readonly offset: number;
  readonly resolve: (ok: boolean) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/** Tracks the durable `next` offset and the streams waiting for it to pass an offset. */
export class CommitNotifier {
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(private next: number) {}

  /** The durable end: one past the highest durable offset. */
  get nextOffset(): number {
    return this.next;
  }

  /** Number of parked waiters (tests, metrics). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Moves the durable end forward and wakes the waiters it satisfies. */
  advance(next: number): void {
    if (next <= this.next) return;
    this.next = next;
    for (const w of this.waiters) {
      if (w.offset < next) this.settle(w, true);
    }
  }

  /** Resets the end (e.g. after a suffix truncation); wakes nobody. */
  reset(next: number): void {
    this.next = next;
  }

  /** Resolves true once `nextOffset > offset`, false on abort or close. */
  wait(offset: number, signal: AbortSignal): Promise<boolean> {
    if (offset < this.next) return Promise.resolve(true);
    if (this.closed || signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { offset, resolve, signal, onAbort: () => this.settle(w, false) };
      this.waiters.add(w);
      signal.addEventListener('abort', w.onAbort, { once: true });
    });
  }

  /** Wakes every waiter with false and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters) this.settle(w, false);
  }

  private settle(w: Waiter, ok: boolean): void {
    if (!this.waiters.delete(w)) return;
    w.signal.removeEventListener('abort', w.onAbort);
    w.resolve(ok);
  }
}
