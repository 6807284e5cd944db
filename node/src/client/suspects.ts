/**
 * Suspects: the servers a client stopped hearing from (an attempt's deadline passed, or the
 * connection failed before the server answered), and the probes that clear them.
 *
 * A paused (SIGSTOP) or partitioned server keeps its TCP connections open and answers
 * nothing, so every call sent to it costs a whole attempt deadline. The client therefore
 * marks it suspect after one such attempt: the picker does not choose it, and resolution
 * asks the other servers first (picker.ts, get-servers.ts). Meanwhile one probe at a time
 * (a GetServers with its own deadline) asks the suspect whether it is alive; the first
 * answer clears it — a slow but healthy server is trusted again as soon as it answers,
 * a frozen one stays suspect until it is resumed. A probe that fails is repeated after
 * `retryMs`. Probing stops when the suspect is cleared or {@link Suspects.close} is called;
 * its timers never keep the process alive.
 */

/** Options of {@link Suspects}. */
export interface SuspectsOptions {
  /** Asks `addr` whether it is alive (resolves when it answered, rejects otherwise); bounded by its own deadline. */
  readonly probe: (addr: string) => Promise<unknown>;
  /** The pause between a failed probe and the next one. */
  readonly retryMs: number;
}

/** The set of suspect server addresses, each with its probe loop. */
export class Suspects {
  private readonly suspects = new Set<string>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private closed = false;

  constructor(private readonly o: SuspectsOptions) {}

  /** True while `addr` is suspect. */
  has(addr: string): boolean {
    return this.suspects.has(addr);
  }

  /** The suspect addresses. */
  get addrs(): readonly string[] {
    return [...this.suspects];
  }

  /** Marks `addr` as suspect and starts probing it (once: a suspect already probed is left alone). */
  add(addr: string): void {
    if (this.closed || this.suspects.has(addr)) return;
    this.suspects.add(addr);
    void this.probeUntilAnswered(addr);
  }

  /** `addr` answered a call: it is not suspect any more. */
  clear(addr: string): void {
    this.suspects.delete(addr);
  }

  /** Stops every probe; nothing is suspect any more. */
  close(): void {
    this.closed = true;
    this.suspects.clear();
    for (const [t, wake] of this.timers) {
      clearTimeout(t);
      wake();
    }
    this.timers.clear();
  }

  private async probeUntilAnswered(addr: string): Promise<void> {
    while (!this.closed && this.suspects.has(addr)) {
      try {
        await this.o.probe(addr);
        this.suspects.delete(addr);
        return;
      } catch {
        await this.pause();
      }
    }
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, this.o.retryMs);
      t.unref();
      this.timers.set(t, resolve);
    });
  }
}
