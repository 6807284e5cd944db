/**
 * A manual clock and loop timers for {@link RaftNode} (issue 13 item 3): nothing fires until
 * the test says so. Pass `clock` and `loopTimers` to `RaftNode.start`:
 *
 * - {@link ManualLoopClock.tick} fires the tick timer of every running node `n` times, time
 *   standing still — ticks that "fired" while the test holds the node's loop busy (a persist
 *   held at a gate) pile up exactly as the real interval timer makes them pile up;
 * - {@link ManualLoopClock.advance} moves time and fires, in time order, every one-shot timer
 *   (request deadlines, retries) and interval (tick every `tickMs`, compaction, sweep) that
 *   falls due — what a simulator on virtual time needs.
 *
 * Callbacks run synchronously inside `tick`/`advance`; the node's loop then runs on
 * microtasks, so a test awaits a state (a message sent, a promise settled), never a delay.
 */
import type { ShellConfig } from '../config.js';
import type { ShellClock, ShellTimer } from '../loop-clock.js';
import { type LoopTimerCallbacks, type LoopTimers, type LoopTimersFactory, sweepIntervalMs } from '../shell-loop.js';

interface Due {
  at: number;
  readonly seq: number;
  readonly period: number | null;
  readonly fn: () => void;
  cancelled: boolean;
}

interface NodeTimers {
  readonly on: LoopTimerCallbacks;
  readonly dues: readonly Due[];
  stopped: boolean;
}

/** Time that moves only when the test moves it; see the module comment. */
export class ManualLoopClock implements ShellClock {
  private t = 0;
  private seq = 0;
  private dues: Due[] = [];
  private readonly nodes: NodeTimers[] = [];

  /** Milliseconds since the clock was made (only {@link advance} moves it). */
  now(): number {
    return this.t;
  }

  /** A one-shot timer that fires when {@link advance} reaches `now() + ms`. */
  after(ms: number, fn: () => void): ShellTimer {
    const d = this.schedule(ms, null, fn);
    return { cancel: () => void (d.cancelled = true), unref: () => {} };
  }

  /** The {@link LoopTimersFactory} to pass as `loopTimers`: registers the node's three timers here. */
  readonly loopTimers: LoopTimersFactory = (cfg: ShellConfig, on: LoopTimerCallbacks): LoopTimers => {
    const dues = [
      this.schedule(cfg.tickMs, cfg.tickMs, on.tick),
      this.schedule(cfg.compactIntervalMs, cfg.compactIntervalMs, on.compact),
      this.schedule(sweepIntervalMs(cfg), sweepIntervalMs(cfg), on.sweep),
    ];
    const n: NodeTimers = { on, dues, stopped: false };
    this.nodes.push(n);
    return {
      stop: () => {
        n.stopped = true;
        for (const d of dues) d.cancelled = true;
      },
    };
  };

  /** Running nodes (started and not stopped). */
  get running(): number {
    return this.nodes.filter((n) => !n.stopped).length;
  }

  /** Fires the tick timer of every running node `n` times now; time does not move. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) for (const node of this.nodes) if (!node.stopped) node.on.tick();
  }

  /** Moves time forward by `ms`, firing everything that falls due, earliest first (ties: in scheduling order). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot move a clock back (${ms} ms)`);
    const end = this.t + ms;
    for (;;) {
      this.dues = this.dues.filter((d) => !d.cancelled);
      let next: Due | undefined;
      for (const d of this.dues) if (d.at <= end && (next === undefined || earlier(d, next))) next = d;
      if (next === undefined) break;
      this.t = next.at;
      if (next.period === null) next.cancelled = true;
      else next.at += next.period;
      next.fn();
    }
    this.t = end;
  }

  private schedule(ms: number, period: number | null, fn: () => void): Due {
    const d: Due = { at: this.t + Math.max(0, ms), seq: this.seq++, period, fn, cancelled: false };
    this.dues.push(d);
    return d;
  }
}

function earlier(a: Due, b: Due): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
