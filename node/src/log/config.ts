/**
 * Configuration of the segmented log: defaults, validation and presets.
 */
import { InvalidLogConfigError } from './errors.js';
import { FRAME_HEADER_BYTES } from './frame.js';
import { INDEX_ENTRY_BYTES } from './offset-index.js';

/** Retention limits; both are applied by {@link Log.applyRetention}. */
export interface RetentionConfig {
  /** Remove oldest sealed segments while the log's store bytes exceed this. 0 = no limit. */
  readonly maxTotalBytes: number;
  /** Remove sealed segments whose last write is older than this (ms). 0 = no limit. */
  readonly maxAgeMs: number;
}

/** Full configuration of a {@link Log}. */
export interface LogConfig {
  /** Roll to a new segment once the store file reaches this size (bytes, < 4 GiB). */
  readonly maxStoreBytes: number;
  /** Roll to a new segment once the index file reaches this size (bytes). */
  readonly maxIndexBytes: number;
  /** Largest value accepted by append (bytes); larger ones throw RecordTooLargeError. */
  readonly maxRecordBytes: number;
  /** Offset of the first record of a fresh (empty, never used) log directory. */
  readonly initialOffset: number;
  /**
   * Size of the in-memory append buffer of the active segment (bytes). Appends are copied
   * into it and written with one positional write when it fills or on sync().
   */
  readonly writeBufferBytes: number;
  /** Retention limits. */
  readonly retention: RetentionConfig;
}

/** What callers pass: any subset, the rest comes from {@link defaultLogConfig}. */
export type LogConfigInput = Partial<Omit<LogConfig, 'retention'>> & {
  readonly retention?: Partial<RetentionConfig>;
};

/**
 * Defaults: 64 MiB segments (etcd's WAL segment size), records up to 4 MiB − 1 KiB (the
 * server's DEFAULT_MAX_RECORD_BYTES: a record read back over gRPC must fit, with its
 * framing, in clients' default 4 MiB message limit; node/src/server/limits.ts), no retention.
 */
export const defaultLogConfig: LogConfig = {
  maxStoreBytes: 64 * 1024 * 1024,
  maxIndexBytes: 8 * 1024 * 1024,
  maxRecordBytes: 4 * 1024 * 1024 - 1024,
  initialOffset: 0,
  writeBufferBytes: 256 * 1024,
  retention: { maxTotalBytes: 0, maxAgeMs: 0 },
};

/** Named presets. `tiny` rolls every few records: for tests of segment handling. */
export const logConfigPresets = {
  default: defaultLogConfig,
  tiny: {
    ...defaultLogConfig,
    maxStoreBytes: 1024,
    maxIndexBytes: INDEX_ENTRY_BYTES * 8,
    maxRecordBytes: 512,
    writeBufferBytes: 256,
  },
} as const satisfies { readonly [name: string]: LogConfig };

const MAX_STORE_BYTES = 0xffff_ffff; // index positions are u32

function requireInt(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidLogConfigError(field, `must be an integer in [${min}, ${max}], got ${value}`);
  }
}

/**
 * Merges `input` over the defaults and validates the result.
 * @throws InvalidLogConfigError naming the first bad field.
 */
export function resolveLogConfig(input: LogConfigInput = {}): LogConfig {
  const config: LogConfig = {
    ...defaultLogConfig,
    ...input,
    retention: { ...defaultLogConfig.retention, ...input.retention },
  };
  requireInt('maxStoreBytes', config.maxStoreBytes, FRAME_HEADER_BYTES + 1, MAX_STORE_BYTES);
  requireInt('maxIndexBytes', config.maxIndexBytes, INDEX_ENTRY_BYTES, Number.MAX_SAFE_INTEGER);
  requireInt('maxRecordBytes', config.maxRecordBytes, 0, MAX_STORE_BYTES - FRAME_HEADER_BYTES);
  requireInt('initialOffset', config.initialOffset, 0, Number.MAX_SAFE_INTEGER);
  requireInt('writeBufferBytes', config.writeBufferBytes, 64, 64 * 1024 * 1024);
  requireInt('retention.maxTotalBytes', config.retention.maxTotalBytes, 0, Number.MAX_SAFE_INTEGER);
  requireInt('retention.maxAgeMs', config.retention.maxAgeMs, 0, Number.MAX_SAFE_INTEGER);
  return config;
}
