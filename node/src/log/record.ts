/**
 * Record types of the commit log.
 *
 * The log stores every Raft entry (Raft index = log offset). Only `data` records are user
 * data; `noop` (one per elected leader, Raft §8) and `config` (membership changes, Raft §6)
 * are Raft's own. The log stores the type so that it can give users dense offsets over data
 * records only (see {@link Log.toDataOffset}).
 */
import { InvalidArgumentError, RecordTooLargeError } from './errors.js';

export const RecordType = {
  /** A user record produced through the API. */
  data: 0,
  /** An empty entry a new leader appends to commit entries of earlier terms (Raft §8). */
  noop: 1,
  /** A cluster-membership change (Raft §6). */
  config: 2,
  /**
   * A user record of an idempotent producer: the value is the producer id, sequence and the
   * user's value (raft/shell/pdata.ts). A data record, unless the state machine found it a
   * duplicate at apply time and hid it ({@link Log.hideRecord}).
   */
  pdata: 3,
} as const;

/** One of the {@link RecordType} values. Stored in one byte; other values up to 255 are kept as-is. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** True for the record types that are user records and get dense data offsets (`data`, `pdata`). */
export function isDataRecordType(t: number): boolean {
  return t === RecordType.data || t === RecordType.pdata;
}

/** Largest value a record type may take on disk (one byte). */
export const MAX_RECORD_TYPE = 255;

/**
 * A record read from the log.
 *
 * Named `LogRecord` so that modules importing it do not shadow TypeScript's built-in
 * `Record<K, V>`; it is also exported as `Record` for code that follows the book's naming.
 * `value` may be a view into a buffer shared with neighbouring records of the same read:
 * copy it before mutating it.
 */
export interface LogRecord {
  /** The payload bytes. */
  readonly value: Uint8Array;
  /** The log offset (= Raft index). A safe integer >= 0. */
  readonly offset: number;
  /** The Raft term the record was appended in; 0 for logs used without Raft. */
  readonly term: number;
  /** What kind of entry this is. */
  readonly type: RecordType;
}

export type { LogRecord as Record };

/** A record returned by `Log.readDataRange`/`readData`: a data record with its dense offset. */
export interface DataRecord extends LogRecord {
  readonly dataOffset: number;
}

/**
 * What a caller hands to {@link Log.append}: the log assigns the offset.
 * `term` defaults to 0 and `type` to {@link RecordType.data}.
 */
export interface AppendInput {
  readonly value: Uint8Array;
  readonly term?: number;
  readonly type?: RecordType;
}

/** Options of a ranged read ({@link Log.readRange}). */
export interface ReadRangeOptions {
  /** Return at most this many records (default 1000). */
  readonly maxCount?: number;
  /**
   * Stop once the values returned add up to this many bytes (default 4 MiB). At least one
   * record is always returned when `from` is readable, even if it alone is larger.
   */
  readonly maxBytes?: number;
  /** Exclusive upper bound on offsets (e.g. Raft's commit index + 1). Default: nextOffset. */
  readonly endOffset?: number;
}

/**
 * Checks an append input: a Uint8Array value of at most `maxRecordBytes`, a safe-integer
 * term >= 0, a type in [0, 255].
 * @throws RecordTooLargeError or InvalidArgumentError.
 */
export function validateAppendInput(input: AppendInput, maxRecordBytes: number): void {
  const { value } = input;
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('value', 'must be a Uint8Array');
  if (value.length > maxRecordBytes) throw new RecordTooLargeError(value.length, maxRecordBytes);
  const term = input.term ?? 0;
  if (!Number.isSafeInteger(term) || term < 0)
    throw new InvalidArgumentError('term', `must be a safe integer >= 0, got ${term}`);
  const type = input.type ?? RecordType.data;
  if (!Number.isInteger(type) || type < 0 || type > MAX_RECORD_TYPE)
    throw new InvalidArgumentError('type', `must be an integer in [0, 255], got ${type}`);
}
