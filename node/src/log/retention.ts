/**
 * Which segments retention removes (pure selection; the Log does the removal).
 */
import { type RetentionConfig } from './config.js';

/** What retention needs to know about a segment. */
export interface RetentionCandidate {
  readonly sizeBytes: number;
  readonly nextOffset: number;
  /** Time of the last write (ms since the epoch). */
  lastWriteMs(): number;
}

/**
 * How many of the oldest `segments` to remove: oldest first, while the total store bytes
 * exceed `maxTotalBytes` or the segment's last write is older than `maxAgeMs` (0 = no
 * limit); never the last (active) segment, never one holding an offset >= `floor`.
 */
export function segmentsToExpire(
  segments: readonly RetentionCandidate[],
  retention: RetentionConfig,
  floor: number,
  now: number,
): number {
  const { maxTotalBytes, maxAgeMs } = retention;
  let total = 0;
  for (const s of segments) total += s.sizeBytes;
  let k = 0;
  while (k < segments.length - 1) {
    const s = segments[k];
    if (!s || s.nextOffset > floor) break;
    const overSize = maxTotalBytes > 0 && total > maxTotalBytes;
    const tooOld = maxAgeMs > 0 && now - s.lastWriteMs() > maxAgeMs;
    if (!overSize && !tooOld) break;
    total -= s.sizeBytes;
    k++;
  }
  return k;
}
