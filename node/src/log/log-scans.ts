/**
 * Whole-log passes over the segment stores: the raw byte stream (the book's `Reader`, used
 * for snapshots) and the deep verification scrub.
 */
import { Readable } from 'node:stream';
import { CorruptSegmentError } from './errors.js';
import type { DataRecord, LogRecord, ReadRangeOptions } from './record.js';
import { type Segment } from './segment.js';

/** Result of `Log.verify`. */
export interface VerifyReport {
  readonly segments: number;
  readonly records: number;
  /** One entry per damaged segment: where its first bad frame starts. Empty when whole. */
  readonly damage: readonly CorruptSegmentError[];
}

/**
 * Scans every frame of `segments`, yielding to the event loop between segments and skipping
 * those `live` no longer accepts (removed meanwhile).
 */
export async function verifySegments(
  segments: readonly Segment[],
  live: (s: Segment) => boolean,
): Promise<VerifyReport> {
  const damage: CorruptSegmentError[] = [];
  let records = 0;
  for (const segment of segments) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!live(segment)) continue;
    const found = segment.verify();
    if (found) damage.push(new CorruptSegmentError(found.file, found.position, found.reason));
    records += segment.nextOffset - segment.baseOffset;
  }
  return { segments: segments.length, records, damage };
}

const CHUNK_BYTES = 1024 * 1024;

/**
 * A stream of the store bytes of `segments`, oldest first, as of this call: buffers are
 * flushed and each segment's size is fixed now, so later appends are not included. The
 * frames keep their headers (frame.ts), so a reader can re-validate every record.
 */
export function rawReader(segments: readonly Segment[]): Readable {
  const parts = segments.map((s) => {
    s.flush();
    return { segment: s, size: s.sizeBytes };
  });
  return Readable.from(
    (function* chunks() {
      for (const { segment, size } of parts) {
        for (let pos = 0; pos < size;) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - pos));
          const n = segment.store.readAt(buf, pos);
          if (n === 0) break;
          pos += n;
          yield buf.subarray(0, n);
        }
      }
    })(),
  );
}

/** The part of the Log that {@link readDataRange} reads through. */
export interface DenseReader {
  readonly nextOffset: number;
  readonly nextDataOffset: number;
  toLogOffset(dataOffset: number): number;
  isDataRecord(logOffset: number): boolean;
  readRange(from: number, options: ReadRangeOptions): LogRecord[];
}

/**
 * `Log.readDataRange`: ranged read from the data record `fromData`, data records
 * only, each with its dense offset; reads on past non-data records until it has one.
 */
export function readDataRange(log: DenseReader, fromData: number, options: ReadRangeOptions): DataRecord[] {
  if (fromData === log.nextDataOffset && Number.isSafeInteger(fromData)) return [];
  let from = log.toLogOffset(fromData);
  const end = Math.min(options.endOffset ?? log.nextOffset, log.nextOffset);
  let dataOffset = fromData;
  const out: DataRecord[] = [];
  while (out.length === 0 && from < end) {
    const records = log.readRange(from, options);
    if (records.length === 0) break;
    for (const r of records) {
      if (log.isDataRecord(r.offset)) out.push({ ...r, dataOffset: dataOffset++ });
    }
    from = (records[records.length - 1]?.offset ?? from) + 1;
  }
  return out;
}
