/**
 * The time-driven parts of {@link RaftNode}'s loop (raft-node.ts): the interval timers that
 * feed it ticks, compactions and proposal sweeps; requests bounded by a deadline; and the
 * retry of a configuration change that a newly elected leader refuses for a moment. Each function only schedules: what a tick or a retry
 * does stays with the node, which passes it in.
 *
 * Time is injected (issue 13 item 3): every deadline and timer of the loop goes through a
 * {@link ShellClock} (loop-clock.ts) and a {@link LoopTimersFactory}, the real ones by default
 * ({@link realClock}, {@link startLoopTimers}), a manual one in tests
 * (testing/manual-loop-clock.ts), so a test or the simulator decides when a tick fires.
 */
import type { ConfChange, LogIndex, ProposeResult, Term } from '../core/types.js';
import type { ShellConfig } from './config.js';
import { RaftTimeoutError } from './errors.js';
import type { ShellClock } from './loop-clock.js';
import { refusalError, type ProposeOutcome } from './proposal-tracker.js';

/** The running timers of a node; `stop()` clears them all (idempotent). */
export interface LoopTimers {
  stop(): void;
}

/** What a node's interval timers call: they only mark work and wake the loop. */
export interface LoopTimerCallbacks {
  readonly tick: () => void;
  readonly compact: () => void;
  readonly sweep: () => void;
}

/** Starts a node's interval timers ({@link startLoopTimers} is the real one). */
export type LoopTimersFactory = (cfg: ShellConfig, on: LoopTimerCallbacks) => LoopTimers;

/** How often the proposal sweep runs: every min(1 s, `requestTimeoutMs`). */
export function sweepIntervalMs(cfg: ShellConfig): number {
  return Math.min(1000, cfg.requestTimeoutMs);
}

/**
 * Starts the node's three interval timers: `tick` every `cfg.tickMs`, `compact` every
 * `cfg.compactIntervalMs`, `sweep` (expire timed-out proposals) every
 * min(1 s, `cfg.requestTimeoutMs`). Callbacks only mark work and wake the loop.
 */
export const startLoopTimers: LoopTimersFactory = (cfg, on) => {
  const timers = [
    setInterval(on.tick, cfg.tickMs),
    setInterval(on.compact, cfg.compactIntervalMs),
    setInterval(on.sweep, sweepIntervalMs(cfg)),
  ];
  return { stop: () => timers.forEach(clearInterval) };
};

/**
 * A request that rejects with {@link RaftTimeoutError} after `ms` on `clock` unless `body`
 * settles it first; `cleanup` runs once either way. Refused at once with `refuse()`'s error,
 * if any (the node stopped or failed).
 */
export function withTimeout(
  clock: ShellClock,
  op: string,
  ms: number,
  refuse: () => Error | null,
  cleanup: () => void,
  body: (resolve: () => void, reject: (e: Error) => void) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const err = refuse();
    if (err !== null) return reject(err);
    const timer = clock.after(ms, () => {
      cleanup();
      reject(new RaftTimeoutError(op, ms));
    });
    const done = (f: () => void): void => {
      timer.cancel();
      cleanup();
      f();
    };
    body(
      () => done(resolve),
      (e) => done(() => reject(e)),
    );
  });
}

/** What {@link proposeConfChange} needs from the node. */
export interface ConfChangeHost {
  /** The error that refuses new input (stopped, failed), or null. */
  refuseInput(): Error | null;
  /** Runs `f` inside the loop, between two Ready batches. */
  act(f: () => void): void;
  /** The core's `proposeConfChange`. */
  propose(cc: ConfChange): ProposeResult;
  isLeader(): boolean;
  /** Subscribes to applies; returns the unsubscribe function. */
  onApplied(fn: () => void): () => void;
  /** The loop's clock (the retry deadline runs on it). */
  readonly clock: ShellClock;
  /** Resolves or rejects the caller once the entry at `index` of `term` is applied (or lost). */
  track(index: LogIndex, term: Term, resolve: (o: ProposeOutcome) => void, reject: (e: Error) => void): void;
}

/**
 * Proposes a configuration change; resolves when it commits. A leader elected a moment ago
 * refuses changes until it has committed an entry of its own term (Raft §5.4.2; its no-op,
 * normally one round trip later): that refusal is transient, so it is retried after each
 * apply until `timeoutMs` rather than handed to every caller. Every other refusal rejects.
 */
export function proposeConfChange(host: ConfChangeHost, cc: ConfChange, timeoutMs: number): Promise<ProposeOutcome> {
  return new Promise((resolve, reject) => {
    const err = host.refuseInput();
    if (err !== null) return reject(err);
    const { clock } = host;
    const deadline = clock.now() + timeoutMs;
    const attempt = (): void => {
      const stopped = host.refuseInput();
      if (stopped !== null) return reject(stopped);
      return host.act(() => {
        const r = host.propose(cc);
        if (r.ok) return host.track(r.index, r.term, resolve, reject);
        if (r.reason === 'not-ready' && host.isLeader() && clock.now() < deadline) {
          // Again after the next apply, or at the deadline (then refused) if none comes.
          const retry = (): void => {
            timer.cancel();
            off();
            attempt();
          };
          const timer = clock.after(Math.max(0, deadline - clock.now()), retry);
          timer.unref();
          const off = host.onApplied(retry);
          return undefined;
        }
        return reject(refusalError(r));
      });
    };
    attempt();
  });
}
