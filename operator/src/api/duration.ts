/**
 * Durations in the CommitLogCluster spec (`spec.tls.leafValidity`, `leafRenewBefore`): whole
 * hours, minutes and seconds in Go's notation (`24h`, `1h30m`, `90m`, `45s`), the subset that
 * both CEL's `duration()` (the CRD's rules) and {@link parseDuration} (the operator) read
 * the same way. Pure.
 */

/** The schema pattern of a duration: at least one of `<n>h`, `<n>m`, `<n>s`, in that order. */
export const DURATION_PATTERN = '^([0-9]+h)?([0-9]+m)?([0-9]+s)?$';

const DURATION = new RegExp(DURATION_PATTERN);

/** Milliseconds of a duration such as `1h30m`, or `undefined` when it is not one (or empty). */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (m === null || s === '') return undefined;
  const [h, min, sec] = [m[1], m[2], m[3]].map((p) => (p === undefined ? 0 : Number(p.slice(0, -1))));
  return (((h ?? 0) * 60 + (min ?? 0)) * 60 + (sec ?? 0)) * 1000;
}
