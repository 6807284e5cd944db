/**
 * Configuration of the gRPC server: limits of the streams and the request log. Defaults,
 * validation with clear messages, and presets.
 */
import { isLogLevel, type LogLevel } from '../observability/logger.js';

/** Full server configuration. */
export interface ServerConfig {
  /** ProduceStream: records accepted but not yet acknowledged before the server stops reading the stream. */
  readonly maxInFlightPerStream: number;
  /**
   * Streams: most messages handed to grpc-js and not yet written to HTTP/2, per call (the
   * bound on what a stalled client costs; see message-writer.ts).
   */
  readonly streamWindowMessages: number;
  /** ConsumeStream: most records read from the log in one batch. */
  readonly consumeBatchRecords: number;
  /**
   * ConsumeStream: most value bytes read from the log in one batch; also the most bytes of
   * one batched ConsumeResponse (ConsumeRequest.batch_records), which holds at most
   * `consumeBatchRecords` records.
   */
  readonly consumeBatchBytes: number;
  /**
   * Batched ConsumeStream: most ConsumeResponse batches in flight per call (its window;
   * `streamWindowMessages` is the window of one-record messages). A stalled batched
   * consumer costs at most this many batches of `consumeBatchBytes`.
   */
  readonly streamWindowBatches: number;
  /**
   * ProduceStream: most records in one batched ProduceRequest (ProduceRequest.batch); a
   * larger batch is INVALID_ARGUMENT and none of it is appended. Records of batches count
   * toward `maxInFlightPerStream`, so one stream holds at most
   * `maxInFlightPerStream + produceBatchMaxRecords - 1` records pending.
   */
  readonly produceBatchMaxRecords: number;
  /**
   * Level of the one-line-per-request log (`{method, subject, code, ms}`); "silent" turns it
   * off. Default "debug": off the hot path at the default log level "info" (issue 15: the line
   * cost 7–8 % of the leader's CPU under load); `--request-log-level=info` shows it again.
   */
  readonly requestLogLevel: LogLevel;
  /** On shutdown, how long calls in progress may finish before they are cancelled (ms). */
  readonly shutdownGraceMs: number;
  /**
   * grpc-js receive limit = the backend's maxRecordBytes plus this headroom, so an
   * oversized record reaches our check (INVALID_ARGUMENT, with size and limit) unless it is
   * absurdly large (RESOURCE_EXHAUSTED from grpc-js).
   */
  readonly receiveHeadroomBytes: number;
  /** Serve gRPC server reflection (reflection.ts) next to the API, behind its TLS and ACL. */
  readonly reflection: boolean;
}

/** Defaults. */
export const defaultServerConfig: ServerConfig = {
  maxInFlightPerStream: 1024,
  streamWindowMessages: 64,
  consumeBatchRecords: 256,
  consumeBatchBytes: 1024 * 1024,
  streamWindowBatches: 8,
  produceBatchMaxRecords: 1024,
  requestLogLevel: 'debug',
  shutdownGraceMs: 5000,
  receiveHeadroomBytes: 1024 * 1024,
  reflection: true,
};

/** Presets: `quiet` for benchmarks (no request log). */
export const serverConfigPresets = {
  default: defaultServerConfig,
  quiet: { ...defaultServerConfig, requestLogLevel: 'silent' },
} as const satisfies Readonly<Record<string, ServerConfig>>;

/** A configuration value that fails validation. */
export class InvalidServerConfigError extends Error {
  readonly code = 'invalid-server-config';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`invalid server config ${field}: ${reason}`);
    this.name = 'InvalidServerConfigError';
  }
}

function positiveInt(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new InvalidServerConfigError(field, `must be a positive integer, got ${v}`);
}

/** Merges `input` over the defaults and validates it. */
export function resolveServerConfig(input: Partial<ServerConfig> = {}): ServerConfig {
  const c: ServerConfig = { ...defaultServerConfig, ...input };
  positiveInt('maxInFlightPerStream', c.maxInFlightPerStream);
  positiveInt('streamWindowMessages', c.streamWindowMessages);
  positiveInt('consumeBatchRecords', c.consumeBatchRecords);
  positiveInt('consumeBatchBytes', c.consumeBatchBytes);
  positiveInt('streamWindowBatches', c.streamWindowBatches);
  positiveInt('produceBatchMaxRecords', c.produceBatchMaxRecords);
  if (!Number.isSafeInteger(c.shutdownGraceMs) || c.shutdownGraceMs < 0)
    throw new InvalidServerConfigError('shutdownGraceMs', `must be >= 0, got ${c.shutdownGraceMs}`);
  if (!Number.isSafeInteger(c.receiveHeadroomBytes) || c.receiveHeadroomBytes < 0)
    throw new InvalidServerConfigError('receiveHeadroomBytes', `must be >= 0, got ${c.receiveHeadroomBytes}`);
  if (typeof c.reflection !== 'boolean')
    throw new InvalidServerConfigError('reflection', `must be true or false, got ${String(c.reflection)}`);
  if (!isLogLevel(c.requestLogLevel))
    throw new InvalidServerConfigError('requestLogLevel', `must be a log level, got ${String(c.requestLogLevel)}`);
  return c;
}
