/**
 * Waiters on a monotonically increasing index (the applied index): `wait(i)` resolves once
 * `advance(j)` was called with j >= i. Kept sorted so an advance wakes exactly the ready ones.
 */
import { RaftTimeoutError } from './errors.js';
import { realClock, type ShellClock, type ShellTimer } from './loop-clock.js';

interface W {
  readonly index: number;
  resolve(): void;
  reject(e: Error): void;
}

/** A set of promises waiting for an index to be reached. */
export class Waiters {
  private value = 0;
  private list: W[] = [];

  /** `clock` runs the timeouts of {@link wait} (the loop's clock, loop-clock.ts). */
  constructor(private readonly clock: ShellClock = realClock) {}

  /** The highest index reached so far. */
  get current(): number {
    return this.value;
  }

  /** Resolves once the index reaches `index` (at once if it already has); rejects with RaftTimeoutError after `timeoutMs`. */
  wait(index: number, timeoutMs?: number): Promise<void> {
    if (index <= this.value) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: ShellTimer | undefined;
      const w: W = {
        index,
        resolve: () => {
          timer?.cancel();
          resolve();
        },
        reject: (e) => {
          timer?.cancel();
          reject(e);
        },
      };
      if (timeoutMs !== undefined) {
        timer = this.clock.after(timeoutMs, () => {
          this.list = this.list.filter((x) => x !== w);
          reject(new RaftTimeoutError(`waiting for index ${index}`, timeoutMs));
        });
      }
      let i = this.list.length;
      while (i > 0 && (this.list[i - 1]?.index ?? 0) > index) i--;
      this.list.splice(i, 0, w);
    });
  }

  /** Moves the index forward and wakes every waiter at or below it. */
  advance(index: number): void {
    if (index <= this.value) return;
    this.value = index;
    let n = 0;
    while (n < this.list.length && (this.list[n]?.index ?? Infinity) <= index) n++;
    const ready = this.list.splice(0, n);
    for (const w of ready) w.resolve();
  }

  /** Rejects every waiter (the node stopped or failed). */
  failAll(e: Error): void {
    const all = this.list;
    this.list = [];
    for (const w of all) w.reject(e);
  }
}
