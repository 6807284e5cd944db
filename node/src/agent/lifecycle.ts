/**
 * A process as data: an ordered list of started components, each with its stop
 * (hashicorp's agents, controller-runtime's manager). The contract:
 *
 * 1. {@link Lifecycle.start} runs a component's start and, once it succeeded, appends the
 *    component; start order is list order.
 * 2. A start that throws stops every component started so far, in reverse order, then
 *    rethrows the start's error (a stop failing there is reported, never masks it).
 * 3. {@link Lifecycle.stop} walks the list in reverse, once: every later call returns the
 *    same promise. Every component is stopped even when an earlier stop failed; the
 *    failures are reported through `onStopError` and the first is rethrown at the end.
 * 4. Nothing can start once a stop began.
 */

/** A started component: its name (for logs and errors) and how to stop it. */
export interface Component {
  readonly name: string;
  readonly stop: () => Promise<void> | void;
}

/** Options of {@link Lifecycle}. */
export interface LifecycleOptions {
  /** Called for each component whose stop failed (default: ignored; the first is rethrown by stop()). */
  readonly onStopError?: (name: string, err: unknown) => void;
}

/** Thrown by {@link Lifecycle.start} after a stop began. */
export class LifecycleStoppedError extends Error {
  readonly code = 'lifecycle-stopped';
  constructor(readonly component: string) {
    super(`cannot start ${component}: the process is stopping`);
    this.name = 'LifecycleStoppedError';
  }
}

/** The ordered components of a process; see the module header for the contract. */
export class Lifecycle {
  private readonly started: Component[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: LifecycleOptions = {}) {}

  /** Names of the started components, in start order. */
  get names(): readonly string[] {
    return this.started.map((c) => c.name);
  }

  /**
   * Starts a component: `start()` returns the running thing, `stop(thing)` stops it.
   * On a failing start, stops what started (reverse order) and rethrows.
   */
  async start<T>(name: string, start: () => Promise<T> | T, stop: (t: T) => Promise<void> | void): Promise<T> {
    if (this.stopping !== undefined) throw new LifecycleStoppedError(name);
    let value: T;
    try {
      value = await start();
    } catch (err) {
      await this.stop().catch(() => {});
      throw err;
    }
    this.started.push({ name, stop: () => stop(value) });
    return value;
  }

  /** Appends an already started component (its start cannot fail). */
  add(component: Component): void {
    if (this.stopping !== undefined) throw new LifecycleStoppedError(component.name);
    this.started.push(component);
  }

  /** Stops every started component in reverse order, once (later calls share the first). */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopAll());
  }

  private async stopAll(): Promise<void> {
    let first: { err: unknown } | undefined;
    for (const c of [...this.started].reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.options.onStopError?.(c.name, err);
        first ??= { err };
      }
    }
    if (first !== undefined) throw first.err;
  }
}
