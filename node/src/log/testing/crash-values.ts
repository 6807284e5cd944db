/**
 * Deterministic record values for crash tests: the value at an offset is a pure function
 * of the offset, so a verifier can tell an intact record from garbage without a model.
 */

/** The value stored at `offset`: 1–700 bytes, starting with the offset itself. */
export function valueFor(offset: number): Buffer {
  const length = 8 + (((offset * 2654435761) >>> 0) % 692);
  const buf = Buffer.allocUnsafe(length);
  buf.writeDoubleLE(offset, 0);
  for (let i = 8; i < length; i++) buf[i] = (offset * 31 + i) & 0xff;
  return buf;
}

/** True when `value` is exactly {@link valueFor}(offset). */
export function isValueFor(offset: number, value: Uint8Array): boolean {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).equals(valueFor(offset));
}
