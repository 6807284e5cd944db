/**
 * A segment: one store file and one index file covering offsets [baseOffset, nextOffset).
 * Files are named by the zero-padded base offset so that a directory listing sorts them.
 */
import { join } from 'node:path';
import { type LogConfig } from './config.js';
import { CorruptSegmentError } from './errors.js';
import { type FileSystem, readAllFd, realFileSystem, writeAllFd } from './file-system.js';
import { FRAME_HEADER_BYTES, frameChecksumOk, readU64 } from './frame.js';
import { type LogLogger } from './logger.js';
import { INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js';
import { type LogRecord, type RecordType } from './record.js';
import { checkSealedIndex, scanStore } from './recovery.js';
import { Store } from './store.js';

/** Width of the zero-padded base offset in file names (fits Number.MAX_SAFE_INTEGER). */
const NAME_WIDTH = 20;
const READ_CHUNK_MAX = 1024 * 1024;

/** File name stem of the segment starting at `base`: `00000000000000000016`. */
export function segmentStem(base: number): string {
  return base.toString().padStart(NAME_WIDTH, '0');
}

/** Parses a segment file name; undefined for files that are not segment files. */
export function parseSegmentFile(
  name: string,
): { readonly base: number; readonly kind: 'store' | 'index' } | undefined {
  const m = /^(\d{20})\.(store|index)$/.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  const base = Number(m[1]);
  if (!Number.isSafeInteger(base)) return undefined;
  return { base, kind: m[2] as 'store' | 'index' };
}

/** What a segment's index told the opener, for rebuilding log-wide maps. */
export interface OpenedSegment {
  readonly segment: Segment;
  /** The segment's validated index entries (INDEX_ENTRY_BYTES each). */
  readonly entries: Buffer;
  /**
   * True when opening created a missing store or index file: its directory entry is not
   * durable until the caller fsyncs the directory (a later fdatasync of the file does not).
   */
  readonly created: boolean;
}

function openOrCreate(fs: FileSystem, path: string): { fd: number; existed: boolean } {
  try {
    return { fd: fs.open(path, 'r+'), existed: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { fd: fs.open(path, 'w+'), existed: false };
  }
}

function rewriteFile(fs: FileSystem, fd: number, content: Buffer): void {
  fs.truncate(fd, 0);
  writeAllFd(fs, fd, content, content.length, 0);
}

/** One segment of the log; owned by the Log, which serialises all calls. */
export class Segment {
  private positionCache: Uint32Array | undefined;

  private constructor(
    readonly baseOffset: number,
    private next: number,
    readonly store: Store,
    readonly index: OffsetIndex,
    private readonly config: LogConfig,
    private readonly fs: FileSystem,
  ) {}

  /** Creates the files of a new, empty segment (they must not exist). */
  static create(dir: string, base: number, config: LogConfig, fs: FileSystem = realFileSystem): Segment {
    const stem = join(dir, segmentStem(base));
    const storeFd = fs.open(`${stem}.store`, 'wx+');
    const indexFd = fs.open(`${stem}.index`, 'wx+');
    return new Segment(
      base,
      base,
      new Store(`${stem}.store`, storeFd, 0, config.writeBufferBytes, fs),
      new OffsetIndex(`${stem}.index`, indexFd, 0, Math.max(INDEX_ENTRY_BYTES, config.writeBufferBytes >> 3), fs),
      config,
      fs,
    );
  }

  /**
   * Opens an existing segment and validates it. The last segment is scanned frame by frame:
   * a torn or corrupt tail is cut off and an index that disagrees is rewritten. A sealed
   * segment gets the cheap index check; if that fails its store is scanned, the index is
   * rebuilt when the store is whole, and damage inside the store is a CorruptSegmentError.
   * Every repair is logged as a warning.
   */
  static open(
    dir: string,
    base: number,
    config: LogConfig,
    last: boolean,
    logger: LogLogger,
    fs: FileSystem = realFileSystem,
  ): OpenedSegment {
    const stem = join(dir, segmentStem(base));
    const storePath = `${stem}.store`;
    const indexPath = `${stem}.index`;
    const store = openOrCreate(fs, storePath);
    const index = openOrCreate(fs, indexPath);
    try {
      if (!store.existed && !last)
        throw new CorruptSegmentError(storePath, 0, 'store file of a sealed segment is missing');
      if (!index.existed) logger.warn({ file: indexPath }, 'log: index file missing, rebuilding it from the store');
      // Sizes come from fstat only as an upper bound; every byte below is validated.
      const storeSize = fs.stat(store.fd).size;
      let entries: Buffer = readAllFd(fs, index.fd);
      let storeEnd = storeSize;
      const problem = last
        ? 'last segment is always scanned'
        : checkSealedIndex(fs, entries, base, store.fd, storeSize);
      if (problem !== undefined) {
        const scan = scanStore(fs, store.fd, base, storeSize);
        if (scan.damage) {
          if (!last) throw new CorruptSegmentError(storePath, scan.damage.position, scan.damage.reason);
          logger.warn(
            {
              file: storePath,
              position: scan.damage.position,
              reason: scan.damage.reason,
              cutBytes: storeSize - scan.validEnd,
            },
            'log: cutting torn or corrupt tail of the last segment',
          );
          fs.truncate(store.fd, scan.validEnd);
          storeEnd = scan.validEnd;
          // Durable before anything is appended: new frames must never land on the cut bytes,
          // where a later torn write could leave them next to the old ones (Log.truncateSuffix).
          fs.fdatasyncSync(store.fd);
        }
        if (!entries.equals(scan.entries)) {
          if (index.existed) {
            logger.warn(
              {
                file: indexPath,
                reason: last ? 'index disagrees with the store' : problem,
                indexBytes: entries.length,
                rebuiltBytes: scan.entries.length,
              },
              'log: rebuilding index from the store',
            );
          }
          rewriteFile(fs, index.fd, scan.entries);
          entries = scan.entries;
        }
      }
      const count = entries.length / INDEX_ENTRY_BYTES;
      const segment = new Segment(
        base,
        base + count,
        new Store(storePath, store.fd, storeEnd, config.writeBufferBytes, fs),
        new OffsetIndex(indexPath, index.fd, count, Math.max(INDEX_ENTRY_BYTES, config.writeBufferBytes >> 3), fs),
        config,
        fs,
      );
      return { segment, entries, created: !store.existed || !index.existed };
    } catch (err) {
      fs.close(store.fd);
      fs.close(index.fd);
      throw err;
    }
  }

  /** One past the last offset in the segment. */
  get nextOffset(): number {
    return this.next;
  }

  /** Store bytes, buffered ones included. */
  get sizeBytes(): number {
    return this.store.size;
  }

  /** True when buffered data has not been written to the files yet. */
  get dirty(): boolean {
    return this.store.dirty || this.index.dirty;
  }

  /** True when the store or the index has no room for another record (roll now). */
  isMaxed(): boolean {
    return (
      this.store.size >= this.config.maxStoreBytes ||
      this.index.sizeBytes + INDEX_ENTRY_BYTES > this.config.maxIndexBytes
    );
  }

  /** Appends a record (buffered) and returns its offset. */
  append(term: number, type: RecordType, value: Uint8Array): number {
    this.positionCache = undefined;
    const offset = this.next;
    const position = this.store.append(offset, term, type, value);
    this.index.write(offset - this.baseOffset, position, term, type);
    this.next = offset + 1;
    return offset;
  }

  /**
   * Loads the store positions of this sealed segment into memory (4 bytes per record) so
   * that random reads cost one pread instead of two. The Log bounds how many segments hold
   * such a cache; appends, truncation and sealing drop it.
   */
  cachePositions(): void {
    this.positionCache = this.index.readAllPositions();
  }

  /** True when {@link cachePositions} is in effect. */
  get hasPositionCache(): boolean {
    return this.positionCache !== undefined;
  }

  /** Frees the position cache. */
  dropPositionCache(): void {
    this.positionCache = undefined;
  }

  /** Reads and verifies the record at `offset` (the caller checked the range). */
  read(offset: number): LogRecord {
    const rel = offset - this.baseOffset;
    const cache = this.positionCache;
    if (cache && rel < cache.length) {
      const start = cache[rel] ?? 0;
      const record = this.store.readFrame(start, rel + 1 < cache.length ? cache[rel + 1] : this.store.size);
      if (record.offset !== offset)
        throw this.store.corrupt(start, `frame holds offset ${record.offset}, expected ${offset}`);
      return record;
    }
    const p = this.index.positions(offset - this.baseOffset);
    if (!p)
      throw new CorruptSegmentError(
        this.index.path,
        (offset - this.baseOffset) * INDEX_ENTRY_BYTES,
        'index entry missing',
      );
    const record = this.store.readFrame(p.start, p.end);
    if (record.offset !== offset)
      throw this.store.corrupt(p.start, `frame holds offset ${record.offset}, expected ${offset}`);
    return record;
  }

  /**
   * Appends to `out` the records from `from` on, stopping before `end`, after `maxCount`
   * records in `out`, or once `bytes + value bytes` reach `maxBytes` (with at least one
   * record in `out`). Reads the store in large chunks. Returns the updated byte count.
   */
  readRange(from: number, end: number, maxCount: number, maxBytes: number, out: LogRecord[], bytes: number): number {
    const p = this.index.positions(from - this.baseOffset);
    if (!p) return bytes;
    const storeEnd = this.store.size;
    const last = Math.min(end, this.next, from + maxCount - out.length);
    // Where the frames of [from, last) end, from the index: a chunk is never larger than
    // what the wanted records occupy. Their values are views into the chunk, so an
    // oversized one (256 small records in a 1 MiB buffer) would be held, unused, for as
    // long as any of them lives: 14× the record bytes per ConsumeStream batch, in malloc.
    const wantedEnd = last < this.next ? (this.index.positions(last - this.baseOffset)?.start ?? 0) : storeEnd;
    if (last > from && wantedEnd <= p.start)
      throw this.store.corrupt(p.start, `index entry of ${last} is not after ${from}`);
    let pos = p.start;
    let offset = from;
    while (offset < last && out.length < maxCount && (bytes < maxBytes || out.length === 0)) {
      const estimate = Math.min(maxBytes - bytes, READ_CHUNK_MAX) + (maxCount - out.length) * FRAME_HEADER_BYTES;
      let chunk = Buffer.allocUnsafe(Math.min(wantedEnd - pos, READ_CHUNK_MAX, Math.max(4096, estimate)));
      let got = this.store.readAt(chunk, pos);
      if (got < FRAME_HEADER_BYTES) throw this.store.corrupt(pos, 'short frame header');
      const firstLength = chunk.readUInt32LE(4);
      if (FRAME_HEADER_BYTES + firstLength > got) {
        // One frame larger than the chunk: read exactly it.
        if (pos + FRAME_HEADER_BYTES + firstLength > storeEnd)
          throw this.store.corrupt(pos, 'frame runs past the end of the store');
        chunk = Buffer.allocUnsafe(FRAME_HEADER_BYTES + firstLength);
        got = this.store.readAt(chunk, pos);
      }
      let at = 0;
      while (offset < last && out.length < maxCount && (bytes < maxBytes || out.length === 0)) {
        if (at + FRAME_HEADER_BYTES > got) break;
        const length = chunk.readUInt32LE(at + 4);
        if (at + FRAME_HEADER_BYTES + length > got) break;
        if (!frameChecksumOk(chunk, at, length)) throw this.store.corrupt(pos + at, 'checksum mismatch');
        // Hot loop (sequential consumption): fields are read in place, no header object.
        const frameOffset = readU64(chunk, at + 8);
        if (frameOffset !== offset)
          throw this.store.corrupt(pos + at, `frame holds offset ${frameOffset}, expected ${offset}`);
        out.push({
          value: new Uint8Array(chunk.buffer, chunk.byteOffset + at + FRAME_HEADER_BYTES, length),
          offset,
          term: readU64(chunk, at + 16),
          type: chunk[at + 24] as RecordType,
        });
        bytes += length;
        at += FRAME_HEADER_BYTES + length;
        offset++;
      }
      pos += at;
    }
    return bytes;
  }

  /** Removes every record at or after `from` (base <= from <= next); durable after sync(). */
  truncateFrom(from: number): void {
    this.positionCache = undefined;
    if (from >= this.next) return;
    const rel = from - this.baseOffset;
    const p = this.index.positions(rel);
    if (!p) throw new CorruptSegmentError(this.index.path, rel * INDEX_ENTRY_BYTES, 'index entry missing');
    this.index.truncate(rel);
    this.store.truncate(p.start);
    this.next = from;
  }

  /**
   * Reads and checks every frame of the store (length, checksum, offset) and that they are
   * exactly the segment's records. Returns the damage found, or undefined.
   */
  verify(): { readonly file: string; readonly position: number; readonly reason: string } | undefined {
    const scan = this.store.scan(this.baseOffset);
    if (scan.damage) return { file: this.store.path, ...scan.damage };
    if (this.baseOffset + scan.count !== this.next) {
      return {
        file: this.store.path,
        position: scan.validEnd,
        reason: `store holds ${scan.count} records, index ${this.next - this.baseOffset}`,
      };
    }
    return undefined;
  }

  /** Writes buffered data to the files. */
  flush(): void {
    this.store.flush();
    this.index.flush();
  }

  /** Flushes and releases the write buffers: the segment is sealed (no more appends). */
  seal(): void {
    this.positionCache = undefined;
    this.store.release();
    this.index.release();
  }

  /** fdatasyncs the store now, blocking the thread (the log does it once per roll, see Log.roll). */
  syncStoreNow(): void {
    this.store.syncNow();
  }

  /** fdatasyncs store and index now, blocking the thread (after a suffix truncation, see Log.truncateSuffix). */
  syncNow(): void {
    this.store.syncNow();
    this.index.syncNow();
  }

  /**
   * Flushes both files and fdatasyncs the store, and the index too when `withIndex`.
   *
   * The index is derived data: on open the last segment's index is rebuilt from a full scan
   * of its store, and a sealed segment whose index fails the check is rebuilt as well. So
   * making a record durable needs only the store's fdatasync; the log syncs an index once,
   * when its segment is sealed, so that a normal open after a power loss stays cheap.
   */
  async sync(withIndex: boolean): Promise<void> {
    this.flush();
    await (withIndex ? Promise.all([this.store.sync(), this.index.sync()]) : this.store.sync());
  }

  /** Time of the last write to the store, from the file system (ms since the epoch). */
  lastWriteMs(): number {
    return this.store.mtimeMs();
  }

  /** Flushes and closes both files. */
  close(): void {
    this.store.close();
    this.index.close();
  }

  /** Deletes both files (the descriptors stay open until close()). */
  unlink(): void {
    this.fs.unlink(this.store.path);
    this.fs.unlink(this.index.path);
  }

  /** The book's `Remove`: close, then delete the files. */
  remove(): void {
    this.close();
    this.unlink();
  }
}
