/**
 * Protocol parameters of the core and the formulas derived from them (memberlist
 * `util.go`: suspicionTimeout, retransmitLimit, pushPullScale). Pure; shared by the core,
 * the simulator's bounds and the benchmark.
 */

/** Timing and fan-out parameters the core runs with (all durations in ms). */
export interface CoreParams {
  /** Period between failure-detector probes (SWIM protocol period). */
  readonly probeIntervalMs: number;
  /** How long to wait for a direct ack before indirect probes. */
  readonly probeTimeoutMs: number;
  /** k: members asked to probe indirectly (SWIM §3.1). */
  readonly indirectChecks: number;
  /** Retransmit limit = retransmitMult × ⌈log10(N+1)⌉ (memberlist). */
  readonly retransmitMult: number;
  /** Suspicion min timeout = suspicionMult × max(1, log10 N) × probeInterval. */
  readonly suspicionMult: number;
  /** Suspicion max timeout = suspicionMaxTimeoutMult × min timeout (Lifeguard §4.2). */
  readonly suspicionMaxTimeoutMult: number;
  /** Local health multiplier cap (Lifeguard §4.1); 1 disables awareness. */
  readonly awarenessMaxMultiplier: number;
  /** Period of piggyback-only gossip rounds. */
  readonly gossipIntervalMs: number;
  /** Members gossiped to per round. */
  readonly gossipNodes: number;
  /** Keep gossiping to a dead member this long (lets it learn it was declared dead). */
  readonly gossipToTheDeadMs: number;
  /** Anti-entropy period (scaled up past 32 members); 0 disables. */
  readonly pushPullIntervalMs: number;
  /** Serf-style: push/pull with a random failed member this often (heals partitions); 0 disables. */
  readonly reconnectIntervalMs: number;
  /** Forget (reap) a failed member after this long. */
  readonly reapFailedMs: number;
  /** Forget (reap) a member that left after this long. */
  readonly reapLeftMs: number;
  /** Deadline the shell applies to a stream (TCP) exchange. */
  readonly streamTimeoutMs: number;
  /** Bytes available for one UDP packet's encoding (header + messages), net of the envelope. */
  readonly packetBudget: number;
  /** Also probe over a stream when UDP probes fail (memberlist `DisableTcpPings = false`). */
  readonly streamFallbackPing: boolean;
}

/**
 * Minimum suspicion timeout: suspicionMult × max(1, log10 n) × probeInterval, as memberlist
 * `suspicionTimeout`. Grows with cluster size so the suspect message has time to spread.
 */
export function suspicionMinMs(p: CoreParams, n: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(p.suspicionMult * scale * p.probeIntervalMs);
}

/** Maximum suspicion timeout (no independent confirmations yet). */
export function suspicionMaxMs(p: CoreParams, n: number): number {
  return p.suspicionMaxTimeoutMult * suspicionMinMs(p, n);
}

/** Confirmations that shrink suspicion to its minimum: suspicionMult − 2 (0 in tiny clusters). */
export function suspicionConfirmationsWanted(p: CoreParams, n: number): number {
  const k = p.suspicionMult - 2;
  return n - 2 < k ? 0 : Math.max(0, k);
}

/** How many times a broadcast is piggybacked before it is dropped: mult × ⌈log10(n+1)⌉. */
export function retransmitLimit(p: CoreParams, n: number): number {
  return p.retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** Push/pull interval scaled for large clusters (memberlist `pushPullScale`, threshold 32). */
export function pushPullIntervalMs(p: CoreParams, n: number): number {
  if (n <= 32) return p.pushPullIntervalMs;
  const mult = Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
  return p.pushPullIntervalMs * mult;
}
