/**
 * Local health awareness (Lifeguard §4.1, memberlist `awareness.go`): a score in
 * [0, max−1] raised when our own probes fail without nacks or when we must refute, lowered
 * by successful probes. Timeouts are scaled by (score+1), so a slow or overloaded node
 * probes less aggressively instead of falsely accusing healthy peers.
 */

/** Awareness score; 0 is healthy. */
export interface Awareness {
  readonly score: number;
  readonly max: number;
}

/** A healthy awareness with the given multiplier cap. */
export const healthy = (max: number): Awareness => ({ score: 0, max });

/** Applies a delta, clamped to [0, max−1]. */
export function applyDelta(a: Awareness, delta: number): Awareness {
  const score = Math.min(a.max - 1, Math.max(0, a.score + delta));
  return score === a.score ? a : { ...a, score };
}

/** Scales a timeout by the current health: t × (score + 1). */
export function scaleTimeout(a: Awareness, ms: number): number {
  return ms * (a.score + 1);
}
