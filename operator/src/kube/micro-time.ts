/**
 * metav1.MicroTime serialization. The API server parses MicroTime (Lease acquireTime and
 * renewTime, Event eventTime) with the layout `2006-01-02T15:04:05.000000Z07:00`: exactly six
 * fractional digits. `Date.toISOString()` gives three, and @kubernetes/client-node's own
 * model serializer has mis-formatted these fields, which makes Lease updates fail with 400;
 * we format them ourselves.
 */

/** `d` as an RFC 3339 UTC timestamp with microsecond precision. */
export function formatMicroTime(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 23)}000Z`;
}

/** Parses a MicroTime or RFC 3339 time; `undefined` when absent or malformed. */
export function parseMicroTime(s: unknown): Date | undefined {
  if (typeof s !== 'string') return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t);
}
