/** UTF-8 text ⇄ record bytes, for tests that propose and read back readable values. */

/** The UTF-8 bytes of `s`. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `b` decoded as UTF-8. */
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
