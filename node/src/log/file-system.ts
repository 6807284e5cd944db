/**
 * The file-system interface under the segmented log and the Raft stable store, so the same
 * code runs on the real disk ({@link realFileSystem}) and on a simulated one that loses
 * what was not made durable when the power is cut (memory-fs.ts).
 *
 * It is the small POSIX subset the log needs, with POSIX durability rules: a write or
 * truncation reaches the disk only through `fdatasync` of that file; a creation, removal
 * or rename of a directory entry only through `fsyncDir` of its directory. Plain reads and
 * writes are synchronous (page-cache copies, see store.ts for why); the syncs, which wait
 * for the device, are asynchronous, with synchronous variants for the rare places that
 * must order a sync before the next step without yielding (segment rolls).
 *
 * Errors are Node's: an `Error` with `code` 'ENOENT', 'EEXIST', 'EBADF', …
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';

/** How a file is opened: read-write existing (`r+`), create or empty (`w+`), create exclusively (`wx+`), read-only (`r`). */
export type OpenFlags = 'r+' | 'w+' | 'wx+' | 'r';

/** What the log needs from a file system. */
export interface FileSystem {
  /** Opens `path` and returns a descriptor. @throws ENOENT / EEXIST as POSIX open. */
  open(path: string, flags: OpenFlags): number;
  close(fd: number): void;
  /** Reads up to `length` bytes at `position` into `buf[offset…]`; returns the count (0 at the end). */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Writes `length` bytes of `buf[offset…]` at `position`; returns the count written. */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number;
  /** Sets the file's length (cuts or zero-extends). */
  truncate(fd: number, length: number): void;
  /** Size and last-write time (ms since the epoch) of an open file. */
  stat(fd: number): { readonly size: number; readonly mtimeMs: number };
  /** Removes a directory entry; open descriptors stay valid. */
  unlink(path: string): void;
  /** Atomically replaces `to` by `from` (same directory). */
  rename(from: string, to: string): void;
  /** Creates a directory and its parents (no error when it exists). */
  mkdirp(path: string): void;
  /** Names in a directory. */
  readdir(path: string): string[];
  /** Makes the file's data and size durable. */
  fdatasync(fd: number): Promise<void>;
  /** {@link fdatasync}, blocking the thread. */
  fdatasyncSync(fd: number): void;
  /** Makes the directory's entries (creations, removals, renames) durable. */
  fsyncDir(dir: string): Promise<void>;
  /** {@link fsyncDir}, blocking the thread. */
  fsyncDirSync(dir: string): void;
}

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

/** The real file system (node:fs). */
export const realFileSystem: FileSystem = {
  open: (path, flags) => openSync(path, flags),
  close: (fd) => closeSync(fd),
  read: (fd, buf, offset, length, position) => readSync(fd, buf, offset, length, position),
  write: (fd, buf, offset, length, position) => writeSync(fd, buf, offset, length, position),
  truncate: (fd, length) => ftruncateSync(fd, length),
  stat: (fd) => {
    const s = fstatSync(fd);
    return { size: s.size, mtimeMs: s.mtimeMs };
  },
  unlink: (path) => unlinkSync(path),
  rename: (from, to) => renameSync(from, to),
  mkdirp: (path) => void mkdirSync(path, { recursive: true }),
  readdir: (path) => readdirSync(path),
  fdatasync: (fd) => fdatasyncAsync(fd),
  fdatasyncSync: (fd) => fdatasyncSync(fd),
  fsyncDir: async (dir) => {
    const fd = openSync(dir, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
  },
  fsyncDirSync: (dir) => {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

/** Reads a whole file; undefined when it does not exist. */
export function readWholeFile(fs: FileSystem, path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return readAllFd(fs, fd);
  } finally {
    fs.close(fd);
  }
}

/** Reads everything an open file holds, from position 0. */
export function readAllFd(fs: FileSystem, fd: number): Buffer {
  const size = fs.stat(fd).size;
  const buf = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const n = fs.read(fd, buf, done, size - done, done);
    if (n === 0) break;
    done += n;
  }
  return done === size ? buf : buf.subarray(0, done);
}

/** Writes all `length` bytes of `buf` at `position`. */
export function writeAllFd(fs: FileSystem, fd: number, buf: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) done += fs.write(fd, buf, done, length - done, position + done);
}
