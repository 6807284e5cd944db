/**
 * Durable small-file primitives shared by everything that keeps state beside a log: the
 * log's metadata file and the Raft stable store.
 *
 * `writeFileDurable` replaces a file so that after a crash it holds either the old or the
 * new bytes, never a mix: write a temporary file, fdatasync it, rename it over the old one,
 * then fsync the directory so the rename itself survives (POSIX makes a rename durable
 * only once the directory entry is synced).
 */
import { dirname } from 'node:path';
import { type FileSystem, realFileSystem, writeAllFd } from './file-system.js';

/** fsyncs a directory, making file creations, removals and renames in it durable. */
export async function fsyncDir(dir: string, fs: FileSystem = realFileSystem): Promise<void> {
  await fs.fsyncDir(dir);
}

/** Atomically and durably replaces `path` with `bytes` (see the file comment). */
export async function writeFileDurable(
  path: string,
  bytes: Uint8Array,
  fs: FileSystem = realFileSystem,
): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = fs.open(tmp, 'w+');
  try {
    writeAllFd(fs, fd, bytes, bytes.length, 0);
    await fs.fdatasync(fd);
  } finally {
    fs.close(fd);
  }
  fs.rename(tmp, path);
  await fs.fsyncDir(dirname(path));
}
