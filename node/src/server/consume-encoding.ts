/**
 * A ConsumeResponse encoder for the server's hot path, byte for byte what the generated
 * `ConsumeResponse.encode(m).finish()` writes (asserted by consume-encoding.test.ts).
 *
 * Why: the generated path (ts-proto over @bufbuild/protobuf's BinaryWriter, then
 * `Buffer.from` in the service definition) copies each value four to five times — into the
 * writer, when a fork longer than 127 bytes is joined (once for the Record, once more for
 * a batch), when the writer's buffer doubles, on `finish()` and on `Buffer.from` — and
 * encodes every uint64 through a string parse. Profiled on a follower under ConsumeStream
 * (2026-12-03): the writer's `ensureCapacity`/`finish` 9–14 % of its busy time, GC 19–33 %.
 * This encoder sizes the message first, allocates it once and copies each value once.
 */
import type { ConsumeResponse, Record as PbRecord } from '../gen/v1/log.js';

/** Bytes of `n` (a non-negative safe integer) as a protobuf varint. */
function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    s++;
  }
  return s;
}

/** Writes `n` as a varint at `pos`; returns the position after it. */
function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of a Record's body (without its own tag and length), proto3 defaults omitted. */
function recordSize(r: PbRecord): number {
  const len = r.value.length;
  let s = len !== 0 ? 1 + varintSize(len) + len : 0;
  if (r.offset !== 0) s += 1 + varintSize(r.offset);
  if (r.term !== 0) s += 1 + varintSize(r.term);
  if (r.type !== 0) s += 1 + varintSize(r.type);
  return s;
}

function writeRecord(buf: Buffer, pos: number, tag: number, r: PbRecord, size: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, size);
  const len = r.value.length;
  if (len !== 0) {
    buf[pos++] = 10;
    pos = writeVarint(buf, pos, len);
    buf.set(r.value, pos);
    pos += len;
  }
  if (r.offset !== 0) {
    buf[pos++] = 16;
    pos = writeVarint(buf, pos, r.offset);
  }
  if (r.term !== 0) {
    buf[pos++] = 24;
    pos = writeVarint(buf, pos, r.term);
  }
  if (r.type !== 0) {
    buf[pos++] = 32;
    pos = writeVarint(buf, pos, r.type);
  }
  return pos;
}

/**
 * Encodes a ConsumeResponse: field 2 `record`, then field 3 `batch` (a RecordBatch of
 * field-1 records), each present only when set, exactly as the generated encoder.
 * Offsets, terms and types must be non-negative safe integers (the server's own records).
 */
export function encodeConsumeResponse(m: ConsumeResponse): Buffer {
  const rec = m.record;
  const recSize = rec ? recordSize(rec) : 0;
  let total = rec ? 1 + varintSize(recSize) + recSize : 0;
  const batch = m.batch?.records;
  let sizes: number[] = [];
  let batchSize = 0;
  if (batch) {
    sizes = batch.map(recordSize);
    for (const s of sizes) batchSize += 1 + varintSize(s) + s;
    total += 1 + varintSize(batchSize) + batchSize;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  if (rec) pos = writeRecord(buf, pos, 18, rec, recSize);
  if (batch) {
    buf[pos++] = 26;
    pos = writeVarint(buf, pos, batchSize);
    for (let i = 0; i < batch.length; i++) pos = writeRecord(buf, pos, 10, batch[i] as PbRecord, sizes[i] as number);
  }
  if (pos !== total) throw new Error(`encodeConsumeResponse wrote ${pos} of ${total} bytes`);
  return buf;
}
