/** Conversions between wire messages and backend records, and request validation. */
import type { ProduceRequest, Record as PbRecord } from '../gen/v1/log.js';
import type { BackendRecord } from './backend.js';
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
