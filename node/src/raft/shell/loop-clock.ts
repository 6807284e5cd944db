/**
 * The clock of {@link RaftNode}'s loop (raft-node.ts, shell-loop.ts): monotonic time and
 * one-shot timers, injected so that a test or the simulator owns time (issue 13 item 3).
 * Production uses {@link realClock}; tests use testing/manual-loop-clock.ts, whose time moves
 * only when the test moves it. The interval timers that feed ticks are the other half of the
 * injected time (`LoopTimersFactory` in shell-loop.ts).
 */

/** A pending one-shot timer of a {@link ShellClock}. */
export interface ShellTimer {
  /** Cancels it (idempotent; nothing happens if it already fired). */
  cancel(): void;
  /** Lets the process exit while it is pending (Node's `unref`); a no-op on a manual clock. */
  unref(): void;
}

/** The loop's clock: monotonic milliseconds and one-shot timers on the same time line. */
export interface ShellClock {
  /** Monotonic milliseconds (only differences mean anything). */
  now(): number;
  /** Calls `fn` once, `ms` from now (ms ≥ 0), unless cancelled first. */
  after(ms: number, fn: () => void): ShellTimer;
}

/** The real clock: `performance.now()` and `setTimeout`. */
export const realClock: ShellClock = {
  now: () => performance.now(),
  after: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t), unref: () => void t.unref() };
  },
};
