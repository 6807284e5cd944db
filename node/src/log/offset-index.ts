/**
 * The index file of a segment: fixed-width entries mapping a relative offset to the
 * position of its frame in the store, plus the record's term and type.
 *
 * ```
 * byte  0  u32 LE  offset relative to the segment's base offset (entry i holds i)
 * byte  4  u32 LE  position of the frame in the store file
 * byte  8  u64 LE  term of the record
 * byte 16  u8      record type
 * byte 17  u24 LE  low 24 bits of the CRC-32 of bytes [0, 17)
 * ```
 *
 * Term and type are copies of the frame's fields so that opening a log can rebuild the
 * term runs and the dense data-offset map from index files alone, without reading every
 * store byte. The relative offset is redundant by design: entry i must hold i, which is
 * how a zero-filled tail (a crash after the file grew but before the data landed) is
 * recognised. The checksum makes every other field verifiable on open: without it a flipped
 * bit in a term or a type would silently change the term runs or shift every dense data
 * offset after it (24 bits detect any single-bit error in the 17 covered bytes; older
 * files with zero checksums fail the check and are rebuilt from their store once). The
 * file is never pre-grown and never memory-mapped: entries are appended
 * with positional writes, so the file size is the number of entries written.
 *
 * I/O is synchronous (readSync/writeSync): these are page-cache copies of a few bytes
 * that cost microseconds, far less than a libuv thread-pool round trip; only fdatasync,
 * which waits for the device, is asynchronous.
 */
import { crc32 } from 'node:zlib';
import { type FileSystem, realFileSystem, writeAllFd } from './file-system.js';
import { readU64, writeU64 } from './frame.js';

/** Size of one index entry in bytes. */
export const INDEX_ENTRY_BYTES = 20;

const EMPTY = Buffer.alloc(0);

/** One decoded index entry. */
export interface IndexEntry {
  readonly relativeOffset: number;
  readonly position: number;
  readonly term: number;
  readonly type: number;
}

/** Encodes one entry into `buf` at `at`. */
export function encodeIndexEntry(buf: Buffer, at: number, rel: number, pos: number, term: number, type: number): void {
  buf.writeUInt32LE(rel, at);
  buf.writeUInt32LE(pos, at + 4);
  writeU64(buf, at + 8, term);
  buf[at + 16] = type;
  buf.writeUIntLE(indexEntryChecksum(buf, at), at + 17, 3);
}

/** The 24-bit checksum of the entry at `at` (over its first 17 bytes). */
export function indexEntryChecksum(buf: Buffer, at: number): number {
  return crc32(buf.subarray(at, at + 17)) & 0xffffff;
}

/** True when the entry at `at` carries the checksum of its fields. */
export function indexEntryChecksumOk(buf: Buffer, at: number): boolean {
  return buf.readUIntLE(at + 17, 3) === indexEntryChecksum(buf, at);
}

/** Decodes the entry at `at` of `buf`. */
export function decodeIndexEntry(buf: Buffer, at: number): IndexEntry {
  return {
    relativeOffset: buf.readUInt32LE(at),
    position: buf.readUInt32LE(at + 4),
    term: readU64(buf, at + 8),
    type: buf[at + 16] ?? 0,
  };
}

/**
 * An open index file. Entries are appended into a small in-memory buffer and written with
 * one positional write per flush; reads see buffered entries too.
 */
export class OffsetIndex {
  private pending: Buffer = EMPTY;
  private pendingBytes = 0;
  private flushedEntries: number;
  private readonly scratch = Buffer.alloc(INDEX_ENTRY_BYTES * 2);

  /**
   * Wraps an open file descriptor whose first `entries` entries are valid (the caller has
   * validated them and truncated anything after).
   */
  constructor(
    readonly path: string,
    private readonly fd: number,
    entries: number,
    private readonly bufferBytes: number,
    private readonly fs: FileSystem = realFileSystem,
  ) {
    this.flushedEntries = entries;
  }

  /** The book's `Name()`: the file path. */
  name(): string {
    return this.path;
  }

  /** Number of entries, buffered ones included. */
  get entries(): number {
    return this.flushedEntries + this.pendingBytes / INDEX_ENTRY_BYTES;
  }

  /** Size of the file once flushed, in bytes. */
  get sizeBytes(): number {
    return this.entries * INDEX_ENTRY_BYTES;
  }

  /** True when there are buffered entries not yet written to the file. */
  get dirty(): boolean {
    return this.pendingBytes > 0;
  }

  /** Appends the entry for relative offset `rel` (must equal `entries`). */
  write(rel: number, pos: number, term: number, type: number): void {
    if (this.pending.length === 0) {
      // Allocated on first write and released when the segment is sealed.
      this.pending = Buffer.allocUnsafe(
        Math.max(1, Math.floor(this.bufferBytes / INDEX_ENTRY_BYTES)) * INDEX_ENTRY_BYTES,
      );
    }
    if (this.pendingBytes === this.pending.length) this.flush();
    encodeIndexEntry(this.pending, this.pendingBytes, rel, pos, term, type);
    this.pendingBytes += INDEX_ENTRY_BYTES;
  }

  /**
   * Position of entry `rel` and, when there is a following entry, its position (= the end
   * of `rel`'s frame); `undefined` ends mean "up to the end of the store".
   * @returns undefined when `rel` is not in the index.
   */
  positions(rel: number): { readonly start: number; readonly end: number | undefined } | undefined {
    if (rel < 0 || rel >= this.entries || !Number.isInteger(rel)) return undefined;
    const count = rel + 1 < this.entries ? 2 : 1;
    const buf = this.scratch;
    this.readEntries(rel, count, buf);
    return { start: buf.readUInt32LE(4), end: count === 2 ? buf.readUInt32LE(INDEX_ENTRY_BYTES + 4) : undefined };
  }

  /** The book's `Read(rel)`: the whole entry, or undefined past the end. */
  read(rel: number): IndexEntry | undefined {
    if (rel < 0 || rel >= this.entries || !Number.isInteger(rel)) return undefined;
    this.readEntries(rel, 1, this.scratch);
    return decodeIndexEntry(this.scratch, 0);
  }

  private readEntries(rel: number, count: number, into: Buffer): void {
    for (let i = 0; i < count; i++) {
      const r = rel + i;
      if (r >= this.flushedEntries) {
        const at = (r - this.flushedEntries) * INDEX_ENTRY_BYTES;
        this.pending.copy(into, i * INDEX_ENTRY_BYTES, at, at + INDEX_ENTRY_BYTES);
      } else {
        this.fs.read(this.fd, into, i * INDEX_ENTRY_BYTES, INDEX_ENTRY_BYTES, r * INDEX_ENTRY_BYTES);
      }
    }
  }

  /** The store positions of all entries, read from the file in one go (4 bytes each). */
  readAllPositions(): Uint32Array {
    this.flush();
    const count = this.flushedEntries;
    const raw = Buffer.allocUnsafe(count * INDEX_ENTRY_BYTES);
    let done = 0;
    while (done < raw.length) {
      const n = this.fs.read(this.fd, raw, done, raw.length - done, done);
      if (n === 0) break;
      done += n;
    }
    const positions = new Uint32Array(Math.floor(done / INDEX_ENTRY_BYTES));
    for (let i = 0; i < positions.length; i++) positions[i] = raw.readUInt32LE(i * INDEX_ENTRY_BYTES + 4);
    return positions;
  }

  /** Writes buffered entries to the file (one positional write). */
  flush(): void {
    if (this.pendingBytes === 0) return;
    writeAllFd(this.fs, this.fd, this.pending, this.pendingBytes, this.flushedEntries * INDEX_ENTRY_BYTES);
    this.flushedEntries += this.pendingBytes / INDEX_ENTRY_BYTES;
    this.pendingBytes = 0;
  }

  /** Flushes and gives the write buffer back (the segment was sealed). */
  release(): void {
    this.flush();
    this.pending = EMPTY;
  }

  /** Keeps only the first `entries` entries (suffix truncation); durable after sync(). */
  truncate(entries: number): void {
    this.flush();
    this.fs.truncate(this.fd, entries * INDEX_ENTRY_BYTES);
    this.flushedEntries = entries;
  }

  /** Flushes and waits for the file's data to reach the device (async fdatasync). */
  async sync(): Promise<void> {
    this.flush();
    await this.fs.fdatasync(this.fd);
  }

  /** Flushes and waits for the data to reach the device, blocking the thread. */
  syncNow(): void {
    this.flush();
    this.fs.fdatasyncSync(this.fd);
  }

  /** Flushes and closes the file descriptor. */
  close(): void {
    this.flush();
    this.fs.close(this.fd);
  }
}
