/**
 * Suspects: the servers that did not work *from this client* lately (an attempt's deadline
 * passed without an answer, or the connection was refused, reset or never established),
 * and the probes that clear them.
 *
 * A paused (SIGSTOP) or partitioned server keeps its TCP connections open and answers
 * nothing, so every call sent to it costs a whole attempt deadline; a server whose
 * client-facing address refuses connections (a Kubernetes LoadBalancer Service while its pod
 * restarts) fails every call although it may well be the Raft leader. The client therefore
 * marks it suspect after one such attempt. Suspicion is a PREFERENCE, never an exclusion
 * (picker.ts's `route`): a suspect leader's writes go to a follower, which forwards them to
 * the leader over the cluster's own addresses; a suspect is still chosen when no other
 * server fits, so there is always a server to send a call to. Resolution asks the other
 * servers first (get-servers.ts).
 *
 * Suspicion ends three ways: a call the server answers (the client clears it); one probe at
 * a time (a GetServers with its own deadline) that the server answers — a slow but healthy
 * server is trusted again as soon as it answers, a frozen one stays suspect until it is
 * resumed; and expiry, `ttlMs` after it was marked, so a server is tried again even if
 * its probes keep failing (a call that fails there again marks it again). A probe that
 * fails is repeated after `retryMs`. Probing stops when the suspicion ends or
 * {@link Suspects.close} is called; its timers never keep the process alive.
 */

/** Options of {@link Suspects}. */
export interface SuspectsOptions {
  /** Asks `addr` whether it is alive (resolves when it answered, rejects otherwise); bounded by its own deadline. */
  readonly probe: (addr: string) => Promise<unknown>;
  /** The pause between a failed probe and the next one. */
  readonly retryMs: number;
  /** How long a suspicion lasts at most: it expires this long after it was marked. */
  readonly ttlMs: number;
  /** The clock (default `Date.now`); tests inject one. */
  readonly now?: () => number;
}

/** The set of suspect server addresses, each with its probe loop. */
export class Suspects {
  /** Suspect address → when it was marked. */
  private readonly suspects = new Map<string, number>();
  /** Addresses with a probe loop running (at most one each). */
  private readonly probing = new Set<string>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly o: SuspectsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** True while `addr` is suspect (marked, not cleared, not expired). */
  has(addr: string): boolean {
    const since = this.suspects.get(addr);
    if (since === undefined) return false;
    if (this.now() - since < this.o.ttlMs) return true;
    this.suspects.delete(addr);
    return false;
  }

  /** The suspect addresses. */
  get addrs(): readonly string[] {
    return [...this.suspects.keys()].filter((a) => this.has(a));
  }

  /**
   * Marks `addr` as suspect and starts probing it. A suspect marked again keeps its one
   * probe loop and its expiry restarts: it failed a call again.
   */
  add(addr: string): void {
    if (this.closed) return;
    this.suspects.set(addr, this.now());
    if (!this.probing.has(addr)) void this.probeUntilAnswered(addr);
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
    this.probing.add(addr);
    try {
      while (!this.closed && this.has(addr)) {
        try {
          await this.o.probe(addr);
          this.suspects.delete(addr);
          return;
        } catch {
          await this.pause();
        }
      }
    } finally {
      this.probing.delete(addr);
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
