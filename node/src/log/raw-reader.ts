/**
 * The raw byte stream of a log's stores (the book's `Reader`, used for snapshots).
 */
import { Readable } from 'node:stream';
import { type Segment } from './segment.js';

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
        for (let pos = 0; pos < size; ) {
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
