/** Conversions between wire messages and backend records, and request validation. */
import type { ProduceRequest, Record as PbRecord } from '../gen/v1/log.js';
import type { BackendRecord, ProducerRef } from './backend.js';
import { RecordTooLargeError } from '../log/index.js';
import { InvalidRequestError } from './errors.js';

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
 * is INVALID_ARGUMENT; an empty value is a valid (empty) record.
 */
export function valueOf(
  req: ProduceRequest,
  maxRecordBytes: number,
): Uint8Array | InvalidRequestError | RecordTooLargeError {
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
