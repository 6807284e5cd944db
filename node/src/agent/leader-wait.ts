/**
 * Waits for this node to learn of a new leader, for a follower's produce that has no leader
 * to send its record to: none is known (an election is under way), or the one it knows
 * refused the connection (it died; the survivors' election timeouts have not fired yet).
 * Such a produce is held until the next leader is known instead of being refused at once,
 * so the client's attempt ends when the cluster can take the record — not at the client's
 * next retry timer after the election (issue 15: failover).
 *
 * Contract: {@link LeaderWait.wait} resolves `true` once {@link LeaderWait.changed} reports a
 * leader other than `from` (a node id, or null for none), `false` when the clock reaches
 * `until` first, on {@link LeaderWait.close} and after it. Waiters are woken in the order they began
 * waiting, synchronously inside `changed`, so held produces go on in their order. Time runs
 * on an injected {@link ShellClock} (tests use a manual one).
 */
import { realClock, type ShellClock, type ShellTimer } from '../raft/shell/loop-clock.js';

interface Waiter {
  readonly from: string | null;
  readonly settle: (known: boolean) => void;
  readonly timer: ShellTimer;
}

/** The waiters for a new leader on one node. */
export class LeaderWait {
  private readonly waiters = new Set<Waiter>();
  private isClosed = false;

  constructor(private readonly clock: ShellClock = realClock) {}

  /** The clock's now (the unit of `until`). */
  now(): number {
    return this.clock.now();
  }

  /** Resolves true when a leader other than `from` is known, false at `until` (see the file comment). */
  wait(from: string | null, until: number): Promise<boolean> {
    const left = until - this.clock.now();
    if (left <= 0 || this.isClosed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: Waiter = {
        from,
        settle: (known) => {
          if (!this.waiters.delete(w)) return;
          w.timer.cancel();
          resolve(known);
        },
        timer: this.clock.after(left, () => w.settle(false)),
      };
      this.waiters.add(w);
    });
  }

  /** This node now knows `leader` as the leader (null: none). Wakes the waiters it answers, oldest first. */
  changed(leader: string | null): void {
    if (leader === null) return;
    for (const w of [...this.waiters]) if (w.from !== leader) w.settle(true);
  }

  /** Ends every wait with false, and every later one at once (the backend is closing). */
  close(): void {
    this.isClosed = true;
    for (const w of [...this.waiters]) w.settle(false);
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Produces waiting now (tests, metrics). */
  get size(): number {
    return this.waiters.size;
  }
}
