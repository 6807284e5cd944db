/**
 * Typed failures of the log. Each has a stable `code` (never match on message text) and
 * readonly context; the server maps codes to gRPC status codes in one table.
 */

/** Every error code the log raises. */
export const LogErrorCode = {
  recordTooLarge: 'record-too-large',
  offsetOutOfRange: 'offset-out-of-range',
  corruptSegment: 'corrupt-segment',
  closed: 'log-closed',
  invalidConfig: 'invalid-log-config',
  invalidArgument: 'invalid-argument',
  busy: 'log-busy',
} as const;

/** One of the {@link LogErrorCode} values. */
export type LogErrorCode = (typeof LogErrorCode)[keyof typeof LogErrorCode];

/** Base class of the log's errors; `code` tells them apart. */
export abstract class LogError extends Error {
  abstract readonly code: LogErrorCode;
}

/** An append whose value is larger than `config.maxRecordBytes`; nothing was written. */
export class RecordTooLargeError extends LogError {
  readonly code = LogErrorCode.recordTooLarge;
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`record of ${size} bytes exceeds the maximum record size of ${limit} bytes`);
    this.name = 'RecordTooLargeError';
  }
}

/**
 * A read (or truncation) of an offset outside `[lowest, next)`. `lowest === next` means the
 * log is empty. For dense data offsets the bounds are data offsets too.
 */
export class OffsetOutOfRangeError extends LogError {
  readonly code = LogErrorCode.offsetOutOfRange;
  constructor(
    readonly offset: number,
    readonly lowest: number,
    readonly next: number,
  ) {
    super(`offset ${offset} is outside the log [${lowest}, ${next})`);
    this.name = 'OffsetOutOfRangeError';
  }
}

/**
 * Damage the log refuses to repair silently: a bad frame inside a sealed (non-last) segment,
 * a gap between segments, a frame that fails its checksum when read, or a damaged metadata
 * file. `position` is the byte position in `file` where the damage starts.
 */
export class CorruptSegmentError extends LogError {
  readonly code = LogErrorCode.corruptSegment;
  constructor(
    readonly file: string,
    readonly position: number,
    readonly reason: string,
  ) {
    super(`corrupt log file ${file} at byte ${position}: ${reason}`);
    this.name = 'CorruptSegmentError';
  }
}

/** Any use of a log after `close()`. */
export class LogClosedError extends LogError {
  readonly code = LogErrorCode.closed;
  constructor() {
    super('the log is closed');
    this.name = 'LogClosedError';
  }
}

/** A configuration value that fails validation; `field` names it. */
export class InvalidLogConfigError extends LogError {
  readonly code = LogErrorCode.invalidConfig;
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid log config ${field}: ${reason}`);
    this.name = 'InvalidLogConfigError';
  }
}

/** A call argument the log cannot act on (e.g. a term that is not a safe integer). */
export class InvalidArgumentError extends LogError {
  readonly code = LogErrorCode.invalidArgument;
  constructor(
    readonly argument: string,
    readonly reason: string,
  ) {
    super(`invalid ${argument}: ${reason}`);
    this.name = 'InvalidArgumentError';
  }
}

/**
 * A call that conflicts with a structural operation still in progress (an awaited
 * `truncatePrefix`, `applyRetention`, `reset` or `close`). Retry after it settles.
 */
export class LogBusyError extends LogError {
  readonly code = LogErrorCode.busy;
  constructor(readonly operation: string) {
    super(`the log is busy with ${operation}`);
    this.name = 'LogBusyError';
  }
}
