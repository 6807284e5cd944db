/**
 * Validation of segment files on open: a full frame-by-frame scan of a store (length,
 * checksum, offset), and the cheap consistency check of a sealed segment's index.
 *
 * Nothing here trusts file sizes: after a crash a file may be longer than what was written
 * (zero-filled tail), shorter (lost tail), or hold a torn last frame. Reads are synchronous
 * on purpose: this runs once, on open, before the log serves anything.
 */
import type { FileSystem } from './file-system.js';
import { decodeHeader, FRAME_HEADER_BYTES, frameChecksumOk } from './frame.js';
import { decodeIndexEntry, encodeIndexEntry, INDEX_ENTRY_BYTES, indexEntryChecksumOk } from './offset-index.js';

const SCAN_CHUNK_BYTES = 1024 * 1024;

/** Where and why a scan stopped before the end of the file. */
export interface ScanDamage {
  readonly position: number;
  readonly reason: string;
}

/** Result of {@link scanStore}. */
export interface ScanResult {
  /** Index entries rebuilt from the valid frames, `count * INDEX_ENTRY_BYTES` bytes. */
  readonly entries: Buffer;
  /** Number of valid frames. */
  readonly count: number;
  /** End of the last valid frame: the store's true size. */
  readonly validEnd: number;
  /** Set when bytes after `validEnd` do not form a valid frame. */
  readonly damage: ScanDamage | undefined;
}

/**
 * Reads every frame of the store `fd` (of `fileSize` bytes, segment base `base`) and stops
 * at the first frame that is short, fails its checksum or carries an unexpected offset.
 */
export function scanStore(fs: FileSystem, fd: number, base: number, fileSize: number): ScanResult {
  let chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize, FRAME_HEADER_BYTES)));
  let chunkStart = 0;
  let chunkLen = 0;
  let entries = Buffer.allocUnsafe(INDEX_ENTRY_BYTES * 64);
  let count = 0;
  let pos = 0;
  let damage: ScanDamage | undefined;
  const fill = (at: number, need: number): void => {
    if (need > chunk.length) chunk = Buffer.allocUnsafe(need);
    const want = Math.min(chunk.length, fileSize - at);
    let got = 0;
    while (got < want) {
      const n = fs.read(fd, chunk, got, want - got, at + got);
      if (n === 0) break;
      got += n;
    }
    chunkStart = at;
    chunkLen = got;
  };
  while (pos < fileSize) {
    if (fileSize - pos < FRAME_HEADER_BYTES) {
      damage = { position: pos, reason: 'torn frame header' };
      break;
    }
    if (pos + FRAME_HEADER_BYTES > chunkStart + chunkLen) fill(pos, FRAME_HEADER_BYTES);
    const length = chunk.readUInt32LE(pos - chunkStart + 4);
    const frameEnd = pos + FRAME_HEADER_BYTES + length;
    if (frameEnd > fileSize) {
      damage = { position: pos, reason: 'frame runs past the end of the file (torn or corrupt length)' };
      break;
    }
    if (frameEnd > chunkStart + chunkLen) fill(pos, FRAME_HEADER_BYTES + length);
    const at = pos - chunkStart;
    if (!frameChecksumOk(chunk, at, length)) {
      damage = { position: pos, reason: 'checksum mismatch' };
      break;
    }
    const h = decodeHeader(chunk, at);
    if (h.offset !== base + count) {
      damage = { position: pos, reason: `frame holds offset ${h.offset}, expected ${base + count}` };
      break;
    }
    if ((count + 1) * INDEX_ENTRY_BYTES > entries.length) {
      const grown = Buffer.allocUnsafe(entries.length * 2);
      entries.copy(grown, 0, 0, count * INDEX_ENTRY_BYTES);
      entries = grown;
    }
    encodeIndexEntry(entries, count * INDEX_ENTRY_BYTES, count, pos, h.term, h.type);
    count++;
    pos = frameEnd;
  }
  return { entries: entries.subarray(0, count * INDEX_ENTRY_BYTES), count, validEnd: pos, damage };
}

/**
 * The cheap check of a sealed segment (one whose files were complete when the next segment
 * was created): every entry i holds relative offset i at strictly increasing positions
 * starting at 0, each entry carries its checksum (so terms and types, from which open
 * rebuilds the term runs and dense offsets, are what was written), and the last entry
 * points at a valid frame that ends exactly at the end of the store and agrees with the
 * entry. Returns why it fails, or undefined when it holds.
 */
export function checkSealedIndex(
  fs: FileSystem,
  index: Buffer,
  base: number,
  storeFd: number,
  storeSize: number,
): string | undefined {
  if (index.length % INDEX_ENTRY_BYTES !== 0)
    return `index size ${index.length} is not a multiple of ${INDEX_ENTRY_BYTES}`;
  const count = index.length / INDEX_ENTRY_BYTES;
  if (count === 0) return storeSize === 0 ? undefined : 'index is empty but the store is not';
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const rel = index.readUInt32LE(i * INDEX_ENTRY_BYTES);
    const pos = index.readUInt32LE(i * INDEX_ENTRY_BYTES + 4);
    if (!indexEntryChecksumOk(index, i * INDEX_ENTRY_BYTES)) return `index entry ${i} fails its checksum`;
    if (rel !== i) return `index entry ${i} holds relative offset ${rel}`;
    if (i === 0 ? pos !== 0 : pos <= previous) return `index entry ${i} has position ${pos} out of order`;
    previous = pos;
  }
  const last = decodeIndexEntry(index, (count - 1) * INDEX_ENTRY_BYTES);
  const frameBytes = storeSize - last.position;
  if (frameBytes < FRAME_HEADER_BYTES) return 'last index entry points past the end of the store';
  const frame = Buffer.allocUnsafe(frameBytes);
  if (fs.read(storeFd, frame, 0, frameBytes, last.position) !== frameBytes) return 'short read of the last frame';
  const length = frame.readUInt32LE(4);
  if (FRAME_HEADER_BYTES + length !== frameBytes) return 'last frame does not end at the end of the store';
  if (!frameChecksumOk(frame, 0, length)) return 'last frame fails its checksum';
  const h = decodeHeader(frame, 0);
  if (h.offset !== base + count - 1 || h.term !== last.term || h.type !== last.type)
    return 'last frame disagrees with its index entry';
  return undefined;
}
