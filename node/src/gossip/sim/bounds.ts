/**
 * Time bounds the simulation checks, derived from the protocol parameters (see README.md,
 * "Bounds"). All in ms of virtual time; `loss` is the UDP loss probability.
 *
 * - Dissemination D(N, p): push epidemic with fan-out f = gossipNodes thinned by loss to
 *   f(1−p) reaches all N members w.h.p. within log_{1+f(1−p)} N + ln N / (f(1−p)) + 2
 *   rounds (Pittel 1987; SWIM §4.1 infection-style), one round per gossip interval.
 * - Anti-entropy P(N): push/pull periods (scaled past 32 members) repair whoever the
 *   epidemic missed (a broadcast dies after the retransmit limit).
 * - First suspicion: with shuffled round-robin probing (SWIM §4.3) every live member probes
 *   the victim within 2(N−1) of its probe periods (deterministic). The victim sits at a
 *   uniformly random place in each of the N−1 independent orders, so the chance that no one
 *   has probed it after j periods is at most (1 − j/(N−1))^(N−1) ≤ e^(−j): j = ⌈ln 10⁶⌉ + 1
 *   periods bound it with probability ≥ 1 − 10⁻⁶. A period lasts at most I·A (A = awareness
 *   cap, counted only when there is loss to make a healthy node doubt itself).
 * - Suspicion: at most the Lifeguard maximum S_max(N), started by everyone at most D later.
 */
import { type CoreParams, pushPullIntervalMs, retransmitLimit, suspicionMaxMs } from '../core/params.js';

/** Epidemic dissemination estimate D(N, p). */
export function disseminationMs(p: CoreParams, n: number, loss: number): number {
  const f = Math.max(0.5, p.gossipNodes * (1 - loss));
  const rounds = Math.log(Math.max(2, n)) / Math.log(1 + f) + Math.log(Math.max(2, n)) / f + 2;
  return Math.ceil(rounds) * p.gossipIntervalMs;
}

/**
 * All members joining through one seed agree on the member set within this: one join
 * retry if the first exchange is lost (stream timeout + retry interval R), the epidemic D,
 * then push/pull anti-entropy — itself an epidemic between random pairs, which reaches
 * everyone in ⌈log2 N⌉ + 1 periods — for whoever the broadcasts missed.
 */
export function joinBoundMs(p: CoreParams, n: number, loss: number): number {
  const rounds = Math.ceil(Math.log2(Math.max(2, n))) + 1;
  const retry = p.streamTimeoutMs + (p.reconnectIntervalMs || p.pushPullIntervalMs);
  return retry + disseminationMs(p, n, loss) + rounds * pushPullIntervalMs(p, n) + p.streamTimeoutMs;
}

/** Every live member marks a crashed member dead within this. */
export function failureBoundMs(p: CoreParams, n: number, loss: number): number {
  const a = loss > 0 ? p.awarenessMaxMultiplier : 1;
  const periods = Math.min(2 * (n - 1), Math.ceil(Math.log(1e6)) + 1);
  const firstSuspicion = (periods + 1) * p.probeIntervalMs * a;
  return firstSuspicion + 2 * disseminationMs(p, n, loss) + suspicionMaxMs(p, n) + pushPullIntervalMs(p, n);
}

/**
 * After a partition heals, all live members agree again within this: the first reconnect
 * push/pull across the cut (≤ R), refutations spreading on each side (D), a second
 * reconnect carrying the refuted incarnations back (≤ R, plus the stream timeout), their
 * spread (D), and the Lifeguard maximum for suspicions the stale views raised on the way.
 */
export function healBoundMs(p: CoreParams, n: number, loss: number): number {
  const d = disseminationMs(p, n, loss);
  return 2 * (p.reconnectIntervalMs + p.streamTimeoutMs) + 2 * d + suspicionMaxMs(p, n) + pushPullIntervalMs(p, n);
}

/** Retransmit limit at this size (exported for the README and the benchmark). */
export const retransmits = (p: CoreParams, n: number): number => retransmitLimit(p, n);
