/**
 * The store's frame format: one record per frame, length-prefixed and checksummed.
 *
 * ```
 * byte  0  u32 LE  crc32 (zlib polynomial) of bytes [4, 28 + length)
 * byte  4  u32 LE  length of the value in bytes
 * byte  8  u64 LE  log offset of the record
 * byte 16  u64 LE  Raft term
 * byte 24  u8      record type
 * byte 25  3 bytes reserved, zero
 * byte 28  value   `length` bytes
 * ```
 *
 * The checksum comes first (as in LevelDB's log format) so that it covers one contiguous
 * range: the length, the header fields and the payload. Offset, term and type live in the
 * frame itself so that recovery can validate every frame and rebuild the index and the
 * dense-offset map from the store alone. A zero-filled region never validates: the crc32
 * of 24 zero bytes is not zero.
 */
import { crc32 } from 'node:zlib';

/** Size of the fixed frame header in bytes. */
export const FRAME_HEADER_BYTES = 28;

const TWO_32 = 0x1_0000_0000;

/** The decoded fixed header of a frame. */
export interface FrameHeader {
  readonly crc: number;
  readonly length: number;
  readonly offset: number;
  readonly term: number;
  readonly type: number;
}

/** Writes a u64 that is a safe integer as two u32 halves. */
export function writeU64(buf: Buffer, at: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, at);
  buf.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

/** Reads a u64 written by {@link writeU64}; values above 2^53 come back inexact. */
export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
}

/** Total size of the frame of a `valueLength`-byte value. */
export function frameSize(valueLength: number): number {
  return FRAME_HEADER_BYTES + valueLength;
}

/**
 * Encodes one frame into `buf` at `at` (the caller guarantees room) and returns its size.
 */
export function encodeFrame(
  buf: Buffer,
  at: number,
  offset: number,
  term: number,
  type: number,
  value: Uint8Array,
): number {
  buf.writeUInt32LE(value.length, at + 4);
  writeU64(buf, at + 8, offset);
  writeU64(buf, at + 16, term);
  buf[at + 24] = type;
  buf[at + 25] = 0;
  buf[at + 26] = 0;
  buf[at + 27] = 0;
  buf.set(value, at + FRAME_HEADER_BYTES);
  const end = at + FRAME_HEADER_BYTES + value.length;
  buf.writeUInt32LE(crc32(buf.subarray(at + 4, end)), at);
  return end - at;
}

/** Decodes the fixed header at `at`; the caller guarantees FRAME_HEADER_BYTES are present. */
export function decodeHeader(buf: Buffer, at: number): FrameHeader {
  return {
    crc: buf.readUInt32LE(at),
    length: buf.readUInt32LE(at + 4),
    offset: readU64(buf, at + 8),
    term: readU64(buf, at + 16),
    type: buf[at + 24] ?? 0,
  };
}

/** True when the whole frame at `at` (header + `length` value bytes, all present) checks out. */
export function frameChecksumOk(buf: Buffer, at: number, length: number): boolean {
  const end = at + FRAME_HEADER_BYTES + length;
  return buf.readUInt32LE(at) === crc32(buf.subarray(at + 4, end));
}
