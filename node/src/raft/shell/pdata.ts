/**
 * The payload of a `pdata` Raft entry (a record of an idempotent producer): the producer id
 * and sequence number travel with the record through the Raft log, so every node's state
 * machine sees them at apply time and decides the same (producer-table.ts).
 *
 * Format: u8 version (1) | u8 id length (1..64) | id bytes | u64 BE sequence | value. The log
 * stores the whole payload as the record (record type `pdata`); readers strip it
 * ({@link decodePdata}) so consumers see the value alone, as a type-0 user record.
 */

/** Longest producer id accepted, in bytes. */
export const MAX_PRODUCER_ID_BYTES = 64;
const VERSION = 1;

/** The identity of one record of an idempotent producer. */
export interface ProducerSeq {
  /** Client-chosen random id (1..64 bytes). */
  readonly id: Uint8Array;
  /** Per producer, increasing; a safe integer >= 0. */
  readonly seq: number;
}

/** A decoded pdata payload. */
export interface Pdata {
  /** The producer id as lower-case hex (the producer table's key). */
  readonly producer: string;
  readonly seq: number;
  readonly value: Uint8Array;
}

/** Why a producer id / sequence is not acceptable, or undefined when it is. */
export function producerSeqProblem(p: ProducerSeq): string | undefined {
  if (p.id.byteLength === 0 || p.id.byteLength > MAX_PRODUCER_ID_BYTES)
    return `producer id must be 1..${MAX_PRODUCER_ID_BYTES} bytes, got ${p.id.byteLength}`;
  if (!Number.isSafeInteger(p.seq) || p.seq < 0) return `sequence must be an integer in [0, 2^53), got ${p.seq}`;
  return undefined;
}

/** Bytes a pdata payload adds to a value of this producer. */
export function pdataOverhead(p: ProducerSeq): number {
  return 2 + p.id.byteLength + 8;
}

/**
 * Encodes a pdata payload.
 * @throws RangeError when the producer id or sequence is invalid ({@link producerSeqProblem}).
 */
export function encodePdata(p: ProducerSeq, value: Uint8Array): Uint8Array {
  const problem = producerSeqProblem(p);
  if (problem !== undefined) throw new RangeError(problem);
  const b = Buffer.allocUnsafe(pdataOverhead(p) + value.byteLength);
  b.writeUInt8(VERSION, 0);
  b.writeUInt8(p.id.byteLength, 1);
  b.set(p.id, 2);
  const at = 2 + p.id.byteLength;
  b.writeBigUInt64BE(BigInt(p.seq), at);
  b.set(value, at + 8);
  return b;
}

/**
 * Decodes a pdata payload (the value is a view into `data`).
 * @throws RangeError when `data` is not one (a corrupt or foreign entry).
 */
export function decodePdata(data: Uint8Array): Pdata {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 2 || b.readUInt8(0) !== VERSION) throw new RangeError('pdata: unknown version');
  const n = b.readUInt8(1);
  if (n === 0 || n > MAX_PRODUCER_ID_BYTES || b.length < 2 + n + 8) throw new RangeError('pdata: truncated');
  const seq = Number(b.readBigUInt64BE(2 + n));
  if (!Number.isSafeInteger(seq)) throw new RangeError('pdata: sequence beyond 2^53');
  return { producer: b.toString('hex', 2, 2 + n), seq, value: data.subarray(2 + n + 8) };
}

/** Record type of a pdata record in the log (log/record.ts RecordType.pdata) and of a user record. */
const PDATA_RECORD_TYPE = 3;
const DATA_RECORD_TYPE = 0;

/**
 * What a consumer sees of a log record: a pdata record is the user's value alone, as a
 * plain user record (type 0); every other record is unchanged.
 */
export function userView(r: { readonly type: number; readonly value: Uint8Array }): {
  readonly type: number;
  readonly value: Uint8Array;
} {
  return r.type === PDATA_RECORD_TYPE ? { type: DATA_RECORD_TYPE, value: decodePdata(r.value).value } : r;
}
