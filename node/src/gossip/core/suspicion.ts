/**
 * Lifeguard suspicion timer as a pure value (memberlist `suspicion.go`, Lifeguard §4.2):
 * starts at the max timeout and shrinks logarithmically toward the min as independent
 * members confirm the suspicion, so a truly dead member is declared quickly while a single
 * slow accuser cannot kill a healthy one.
 */
import { type Incarnation, type NodeName } from './types.js';

/** A running suspicion about one member. */
export interface Suspicion {
  readonly incarnation: Incarnation;
  readonly startedAt: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Confirmations after which the timeout reaches `minMs`. */
  readonly k: number;
  /** Accusers seen so far (the first accuser included). */
  readonly confirmedBy: ReadonlySet<NodeName>;
  /** When the member is declared dead unless it refutes. */
  readonly deadline: number;
}

/** Timeout after `c` independent confirmations: max − (max−min)·log(c+1)/log(k+1). */
export function suspicionTimeoutMs(minMs: number, maxMs: number, k: number, c: number): number {
  if (k < 1) return minMs;
  const frac = Math.log(c + 1) / Math.log(k + 1);
  const raw = Math.floor(maxMs - frac * (maxMs - minMs));
  return Math.max(minMs, raw);
}

/** Starts a suspicion raised by `from` at `now`. */
export function startSuspicion(
  from: NodeName,
  incarnation: Incarnation,
  now: number,
  minMs: number,
  maxMs: number,
  k: number,
): Suspicion {
  return {
    incarnation,
    startedAt: now,
    minMs,
    maxMs,
    k,
    confirmedBy: new Set([from]),
    deadline: now + suspicionTimeoutMs(minMs, maxMs, k, 0),
  };
}

/**
 * Records an independent confirmation. Returns the new suspicion, or undefined when `from`
 * already counted or enough confirmations are in (nothing changes, nothing to re-gossip).
 */
export function confirmSuspicion(s: Suspicion, from: NodeName): Suspicion | undefined {
  const confirmations = s.confirmedBy.size - 1;
  if (confirmations >= s.k || s.confirmedBy.has(from)) return undefined;
  const confirmedBy = new Set(s.confirmedBy).add(from);
  const deadline = s.startedAt + suspicionTimeoutMs(s.minMs, s.maxMs, s.k, confirmations + 1);
  return { ...s, confirmedBy, deadline };
}
