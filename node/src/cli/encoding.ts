/**
 * How the CLI writes record values on the command line and reads them back: `utf8` (text,
 * the default; bytes that are not UTF-8 print as U+FFFD), `base64` or `hex` (any bytes,
 * round-trip exact). Pure functions; bad input is an {@link EncodingError} naming the value.
 */

/** The value encodings of `--encoding`. */
export const encodings = ['utf8', 'base64', 'hex'] as const;
/** One of {@link encodings}. */
export type Encoding = (typeof encodings)[number];

/** A value that is not valid in the chosen encoding (a usage error: exit 2). */
export class EncodingError extends Error {
  readonly code = 'invalid-encoding';
  constructor(message: string) {
    super(message);
    this.name = 'EncodingError';
  }
}

/** True for a supported encoding name. */
export function isEncoding(v: string): v is Encoding {
  return (encodings as readonly string[]).includes(v);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** The bytes a command-line value stands for. */
export function decodeValue(text: string, encoding: Encoding): Buffer {
  switch (encoding) {
    case 'utf8':
      return Buffer.from(text, 'utf8');
    case 'base64':
      if (!BASE64.test(text))
        throw new EncodingError(`not base64: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
      return Buffer.from(text, 'base64');
    case 'hex':
      if (!HEX.test(text))
        throw new EncodingError(
          `not hex (pairs of 0-9a-f): ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`,
        );
      return Buffer.from(text, 'hex');
  }
}

/** A value as the CLI prints it. */
export function encodeValue(value: Uint8Array, encoding: Encoding): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString(encoding);
}
