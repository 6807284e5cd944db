/**
 * Conversions between wire messages and backend records, request validation, and the
 * batches of the opt-in batched streams (ProduceRequest.batch, ConsumeRequest.batch_records).
 */
import type { ConsumeRequest, ProduceRequest, Record as PbRecord } from '../gen/v1/log.js';
import type { BackendRecord, ProducerRef } from './backend.js';
import { RecordTooLargeError } from '../log/index.js';
import { InvalidRequestError } from './errors.js';
import { GRPC_DEFAULT_MAX_MESSAGE_BYTES, MAX_CONSUME_FRAMING_BYTES } from './limits.js';

/** Converts a backend record to the wire message without copying the value. */
export function toPb(r: BackendRecord): PbRecord {
  const v = r.value;
  return {
    value: Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength),
    offset: r.offset,
    term: r.term,
    type: r.type,
  };
}

/**
 * The value to append for a ProduceRequest, or a typed error: a request without a record
 * is INVALID_ARGUMENT; an empty value is a valid (empty) record. A batch is refused here
 * (only {@link valuesOf}, on ProduceStream, accepts one).
 */
export function valueOf(
  req: ProduceRequest,
  maxRecordBytes: number,
): Uint8Array | InvalidRequestError | RecordTooLargeError {
  if (req.batch) return new InvalidRequestError('ProduceRequest.batch is only accepted on ProduceStream');
  if (!req.record) return new InvalidRequestError('ProduceRequest.record is required');
  const v = req.record.value;
  if (v.byteLength > maxRecordBytes) return new RecordTooLargeError(v.byteLength, maxRecordBytes);
  return v;
}

/** Longest producer id accepted (the Raft entry envelope's limit, raft/shell/pdata.ts). */
export const MAX_PRODUCER_ID_BYTES = 64;

/**
 * The idempotent producer of a ProduceRequest: undefined when it names none (a book
 * client: at-least-once), or a typed error when it names one badly (id without sequence,
 * sequence without id, an id longer than {@link MAX_PRODUCER_ID_BYTES}).
 */
export function producerOf(req: ProduceRequest): ProducerRef | undefined | InvalidRequestError {
  const id = req.producerId;
  const hasId = id !== undefined && id.byteLength > 0;
  if (!hasId && req.sequence === undefined) return undefined;
  if (!hasId) return new InvalidRequestError('ProduceRequest.sequence needs a producer_id');
  if (req.sequence === undefined) return new InvalidRequestError('ProduceRequest.producer_id needs a sequence');
  if (id.byteLength > MAX_PRODUCER_ID_BYTES)
    return new InvalidRequestError(
      `ProduceRequest.producer_id is ${id.byteLength} bytes, at most ${MAX_PRODUCER_ID_BYTES}`,
    );
  return { id, seq: req.sequence };
}

/**
 * The values of a batched ProduceRequest (`batch` set), or a typed error for the whole
 * batch: both `record` and `batch`, an empty batch, more than `maxBatchRecords` records,
 * or any record over `maxRecordBytes`. Nothing of a refused batch is appended.
 */
export function valuesOf(
  req: ProduceRequest,
  maxRecordBytes: number,
  maxBatchRecords: number,
): readonly Uint8Array[] | InvalidRequestError | RecordTooLargeError {
  const records = req.batch?.records ?? [];
  if (req.record) return new InvalidRequestError('ProduceRequest has both record and batch: send one of them');
  if (records.length === 0) return new InvalidRequestError('ProduceRequest.batch is empty: send at least one record');
  if (records.length > maxBatchRecords)
    return new InvalidRequestError(
      `ProduceRequest.batch has ${records.length} records, at most ${maxBatchRecords} are accepted`,
    );
  const values: Uint8Array[] = [];
  for (const r of records) {
    if (r.value.byteLength > maxRecordBytes) return new RecordTooLargeError(r.value.byteLength, maxRecordBytes);
    values.push(r.value);
  }
  return values;
}

/**
 * The producer of the i-th record of a batch whose first record is `first`: the same id,
 * sequence + i (the wire contract of ProduceRequest.sequence for batches).
 */
export function nthProducer(first: ProducerRef | undefined, i: number): ProducerRef | undefined {
  return first === undefined || i === 0 ? first : { id: first.id, seq: first.seq + i };
}

/**
 * How many records a ConsumeStream sends per message: 0 for one record in `record` (the
 * book's shape: the field unset or 0), else `batch_records` capped at `limit`.
 */
export function consumeBatchSizeOf(req: ConsumeRequest, limit: number): number {
  const n = req.batchRecords ?? 0;
  return n <= 0 ? 0 : Math.min(n, limit);
}

/** Most bytes a ConsumeResponse adds around its RecordBatch (the field's tag and length). */
const BATCH_FIELD_BYTES = 6;

/**
 * Splits records at consecutive offsets into ConsumeStream batches: each has 1..`maxRecords`
 * records, and a second or later record joins only while the batch's values and framing
 * stay within `maxBytes` and gRPC's default message size (a default client can read every
 * batch; a record alone always fits, limits.ts).
 */
export function splitBatches(
  records: readonly BackendRecord[],
  maxRecords: number,
  maxBytes: number,
): BackendRecord[][] {
  const cap = Math.min(maxBytes, GRPC_DEFAULT_MAX_MESSAGE_BYTES - BATCH_FIELD_BYTES);
  const out: BackendRecord[][] = [];
  let cur: BackendRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.value.byteLength + MAX_CONSUME_FRAMING_BYTES;
    if (cur.length > 0 && (cur.length >= maxRecords || bytes + size > cap)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
