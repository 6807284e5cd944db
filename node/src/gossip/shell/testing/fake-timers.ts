/**
 * Test double: a manual clock and the one-shot timers of {@link GossipTimers} driven by it.
 * Nothing fires by itself; a test moves time with `fireNext()`, which jumps the clock to the
 * earliest armed timer and runs it — virtual time, no sleeps.
 */
import { type GossipTimers } from '../gossip.js';

/** An armed timer: when it is due on the fake clock. */
export interface ArmedTimer {
  readonly id: number;
  readonly due: number;
}

/** A fake clock with fake timers; pass `clock` and `timers` to `Gossip.start`. */
export class FakeTime {
  /** The current time in ms (the shell's `clock()` reads it). */
  now: number;
  /** Every setTimeout call, in order (armed or not any more). */
  readonly calls: ArmedTimer[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { readonly due: number; readonly fn: () => void }>();

  constructor(start: number) {
    this.now = start;
  }

  /** The injected clock. */
  readonly clock = (): number => this.now;

  /** The injected timers. */
  readonly timers: GossipTimers = {
    setTimeout: (fn, ms) => {
      const id = this.nextId++;
      const due = this.now + ms;
      this.pending.set(id, { due, fn });
      this.calls.push({ id, due });
      return id;
    },
    clearTimeout: (h) => {
      this.pending.delete(h as number);
    },
  };

  /** The timers armed now, earliest first. */
  armed(): ArmedTimer[] {
    return [...this.pending].map(([id, t]) => ({ id, due: t.due })).sort((a, b) => a.due - b.due);
  }

  /** Moves the clock to the earliest armed timer (never backwards) and runs it; returns its due time. */
  fireNext(): number {
    const [first] = this.armed();
    if (first === undefined) throw new Error('fake timers: nothing armed');
    const t = this.pending.get(first.id);
    this.pending.delete(first.id);
    this.now = Math.max(this.now, first.due);
    t?.fn();
    return first.due;
  }
}
