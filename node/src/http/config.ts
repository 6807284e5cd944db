/**
 * Configuration of the JSON API: request limits, slow-client timeouts, read and tail batch
 * sizes. Defaults, validation with clear messages, and a preset for tests.
 */
import { isLogLevel, type LogLevel } from '../observability/logger.js';

/** Full JSON API configuration. */
export interface HttpApiConfig {
  /** A TLS handshake must finish within this time (ms), else the socket is closed. */
  readonly handshakeTimeoutMs: number;
  /** Every request header must arrive within this time (ms) of the request's start: 408 after it. */
  readonly headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this time (ms): 408 after it. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time (ms). */
  readonly keepAliveTimeoutMs: number;
  /** How often Node checks the header and request timeouts (ms); their precision. */
  readonly timeoutCheckIntervalMs: number;
  /**
   * Bytes a JSON body may have beyond the base64 size of the largest record (field names,
   * a batch's framing). A body over the limit is refused with 413 while it streams in.
   */
  readonly bodyHeadroomBytes: number;
  /** GET /v1/records: records returned when `max` is not given, and the most `max` may ask. */
  readonly rangeDefaultRecords: number;
  readonly rangeMaxRecords: number;
  /** GET /v1/records: most value bytes in one answer (at least one record is always returned). */
  readonly rangeMaxBytes: number;
  /** Tail: most records and value bytes read from the log at a time (the read-ahead bound). */
  readonly tailBatchRecords: number;
  readonly tailBatchBytes: number;
  /** Tail: a client that reads nothing for this long while the server has data for it is disconnected (ms). */
  readonly tailStallTimeoutMs: number;
  /** After refusing a body (413) the rest is read and discarded for at most this long (ms), then the connection closes. */
  readonly lingerMs: number;
  /** Most open connections; more are closed at accept. */
  readonly maxConnections: number;
  /** On close, how long requests in progress may finish before their connections are destroyed (ms). */
  readonly shutdownGraceMs: number;
  /** Level of the one-line-per-request log (`{method, subject, status, code, ms}`); "silent" turns it off. Default "debug" (off at the default log level). */
  readonly requestLogLevel: LogLevel;
}

/** Defaults. */
export const defaultHttpApiConfig: HttpApiConfig = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  timeoutCheckIntervalMs: 1_000,
  bodyHeadroomBytes: 64 * 1024,
  rangeDefaultRecords: 100,
  rangeMaxRecords: 1000,
  rangeMaxBytes: 4 * 1024 * 1024,
  tailBatchRecords: 256,
  tailBatchBytes: 1024 * 1024,
  tailStallTimeoutMs: 60_000,
  lingerMs: 2_000,
  maxConnections: 1024,
  shutdownGraceMs: 5_000,
  requestLogLevel: 'debug',
};

/** Presets: `test` has short timeouts so timeout tests finish quickly. */
export const httpApiConfigPresets = {
  default: defaultHttpApiConfig,
  test: {
    ...defaultHttpApiConfig,
    headersTimeoutMs: 1_000,
    requestTimeoutMs: 2_000,
    timeoutCheckIntervalMs: 100,
    requestLogLevel: 'silent',
  },
} as const satisfies Readonly<Record<string, HttpApiConfig>>;

/** A configuration value that fails validation. */
export class InvalidHttpApiConfigError extends Error {
  readonly code = 'invalid-http-api-config';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`invalid JSON API config ${field}: ${reason}`);
    this.name = 'InvalidHttpApiConfigError';
  }
}

/** Merges `input` over the defaults and validates it. */
export function resolveHttpApiConfig(input: Partial<HttpApiConfig> = {}): HttpApiConfig {
  const c: HttpApiConfig = { ...defaultHttpApiConfig, ...input };
  for (const [field, v] of Object.entries(c)) {
    if (field === 'requestLogLevel') continue;
    if (!Number.isSafeInteger(v) || (v as number) <= 0)
      throw new InvalidHttpApiConfigError(field, `must be a positive integer, got ${String(v)}`);
  }
  if (c.requestTimeoutMs < c.headersTimeoutMs)
    throw new InvalidHttpApiConfigError(
      'requestTimeoutMs',
      `must be >= headersTimeoutMs (${c.headersTimeoutMs}), got ${c.requestTimeoutMs}`,
    );
  if (c.rangeDefaultRecords > c.rangeMaxRecords)
    throw new InvalidHttpApiConfigError('rangeDefaultRecords', `must be <= rangeMaxRecords (${c.rangeMaxRecords})`);
  if (!isLogLevel(c.requestLogLevel))
    throw new InvalidHttpApiConfigError('requestLogLevel', `must be a log level, got ${String(c.requestLogLevel)}`);
  return c;
}

/**
 * Largest JSON body accepted for a log whose records are at most `maxRecordBytes`: the
 * base64 size of the largest record plus the headroom.
 */
export function jsonBodyLimit(maxRecordBytes: number, config: HttpApiConfig): number {
  return Math.ceil(maxRecordBytes / 3) * 4 + config.bodyHeadroomBytes;
}
