/**
 * The store file of a segment: frames (see frame.ts) appended back to back.
 *
 * Appends are encoded straight into an in-memory buffer and written with one positional
 * write when it fills, on flush() and on sync(): one write syscall per buffer, not per
 * record. Reads see buffered bytes too. I/O is synchronous (readSync/writeSync) because
 * page-cache copies take microseconds and a thread-pool hop per record would cap reads far
 * below the 1M records/s goal; fdatasync, which waits for the device, is asynchronous so
 * the event loop never blocks on the disk.
 */
import { CorruptSegmentError } from './errors.js';
import { type FileSystem, realFileSystem, writeAllFd } from './file-system.js';
import { decodeHeader, encodeFrame, FRAME_HEADER_BYTES, frameChecksumOk } from './frame.js';
import { type LogRecord, type RecordType } from './record.js';
import { type ScanResult, scanStore } from './recovery.js';

const EMPTY = Buffer.alloc(0);

/** An open store file. */
export class Store {
  private buffer: Buffer = EMPTY;
  private bufferUsed = 0;
  private flushedBytes: number;

  /**
   * Wraps an open descriptor whose first `size` bytes are valid frames (validated by the
   * caller, anything after already cut off).
   */
  constructor(
    readonly path: string,
    private readonly fd: number,
    size: number,
    private readonly bufferBytes: number,
    private readonly fs: FileSystem = realFileSystem,
  ) {
    this.flushedBytes = size;
  }

  /** Logical size in bytes, buffered frames included. */
  get size(): number {
    return this.flushedBytes + this.bufferUsed;
  }

  /** True when some appended bytes are still only in memory. */
  get dirty(): boolean {
    return this.bufferUsed > 0;
  }

  /** Appends one frame and returns its position. */
  append(offset: number, term: number, type: RecordType, value: Uint8Array): number {
    const size = FRAME_HEADER_BYTES + value.length;
    const position = this.size;
    // The buffer is allocated on first append and released when the segment is sealed,
    // so that only the active segment holds one.
    if (this.buffer.length === 0) this.buffer = Buffer.allocUnsafe(this.bufferBytes);
    if (this.bufferUsed + size > this.buffer.length) {
      this.flush();
      if (size > this.buffer.length) {
        // A frame larger than the buffer gets a buffer of its own for one write.
        const big = Buffer.allocUnsafe(size);
        encodeFrame(big, 0, offset, term, type, value);
        writeAllFd(this.fs, this.fd, big, size, this.flushedBytes);
        this.flushedBytes += size;
        return position;
      }
    }
    this.bufferUsed += encodeFrame(this.buffer, this.bufferUsed, offset, term, type, value);
    return position;
  }

  /**
   * The book's `ReadAt`: copies `length` raw bytes at `position` into `into` (file and
   * buffer alike) and returns how many were available.
   */
  readAt(into: Buffer, position: number, length = into.length, intoOffset = 0): number {
    const end = Math.min(position + length, this.size);
    let done = 0;
    if (position < this.flushedBytes) {
      const fromFile = Math.min(end, this.flushedBytes) - position;
      while (done < fromFile) {
        const n = this.fs.read(this.fd, into, intoOffset + done, fromFile - done, position + done);
        if (n === 0) break;
        done += n;
      }
    }
    const bufStart = Math.max(position, this.flushedBytes);
    if (end > bufStart) {
      this.buffer.copy(into, intoOffset + done, bufStart - this.flushedBytes, end - this.flushedBytes);
      done += end - bufStart;
    }
    return done;
  }

  /**
   * Reads and verifies the frame at `position`; `end` (the next frame's position, when
   * known) saves a header read. Never returns unverified bytes.
   * @throws CorruptSegmentError when the frame is short or fails its checksum.
   */
  readFrame(position: number, end?: number): LogRecord {
    let buf: Buffer;
    let length: number;
    if (end !== undefined) {
      buf = Buffer.allocUnsafe(end - position);
      if (this.readAt(buf, position) !== buf.length) throw this.corrupt(position, 'short frame');
      length = buf.readUInt32LE(4);
      if (FRAME_HEADER_BYTES + length !== buf.length)
        throw this.corrupt(position, 'frame length disagrees with the index');
    } else {
      const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      if (this.readAt(head, position) !== FRAME_HEADER_BYTES) throw this.corrupt(position, 'short frame header');
      length = head.readUInt32LE(4);
      if (position + FRAME_HEADER_BYTES + length > this.size)
        throw this.corrupt(position, 'frame runs past the end of the store');
      buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
      head.copy(buf);
      this.readAt(buf, position + FRAME_HEADER_BYTES, length, FRAME_HEADER_BYTES);
    }
    if (!frameChecksumOk(buf, 0, length)) throw this.corrupt(position, 'checksum mismatch');
    const h = decodeHeader(buf, 0);
    return { value: buf.subarray(FRAME_HEADER_BYTES), offset: h.offset, term: h.term, type: h.type as RecordType };
  }

  /** The book's `Read(pos)`: the value of the frame at `position`. */
  read(position: number): Uint8Array {
    return this.readFrame(position).value;
  }

  /** A typed corruption error for this file. */
  corrupt(position: number, reason: string): CorruptSegmentError {
    return new CorruptSegmentError(this.path, position, reason);
  }

  /** Writes buffered frames to the file (one positional write). */
  flush(): void {
    if (this.bufferUsed === 0) return;
    writeAllFd(this.fs, this.fd, this.buffer, this.bufferUsed, this.flushedBytes);
    this.flushedBytes += this.bufferUsed;
    this.bufferUsed = 0;
  }

  /** Flushes and gives the append buffer back (the segment was sealed). */
  release(): void {
    this.flush();
    this.buffer = EMPTY;
  }

  /** Keeps only the first `size` bytes (suffix truncation); durable after sync(). */
  truncate(size: number): void {
    this.flush();
    this.fs.truncate(this.fd, size);
    this.flushedBytes = size;
  }

  /** Flushes and waits for the data to reach the device (async fdatasync). */
  async sync(): Promise<void> {
    this.flush();
    await this.fs.fdatasync(this.fd);
  }

  /** Flushes and waits for the data to reach the device, blocking the thread (segment rolls). */
  syncNow(): void {
    this.flush();
    this.fs.fdatasyncSync(this.fd);
  }

  /** Flushes, then checks every frame of the file (see recovery.ts `scanStore`). */
  scan(base: number): ScanResult {
    this.flush();
    return scanStore(this.fs, this.fd, base, this.flushedBytes);
  }

  /** Time of the last write to the file, from the file system (ms since the epoch). */
  mtimeMs(): number {
    return this.fs.stat(this.fd).mtimeMs;
  }

  /** Flushes and closes the file descriptor (the book's `Close`). */
  close(): void {
    this.flush();
    this.fs.close(this.fd);
  }
}
