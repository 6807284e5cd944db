/**
 * Durable small-file primitives shared by everything that keeps state beside a log: the
 * log's metadata file and the Raft stable store.
 *
 * `writeFileDurable` replaces a file so that after a crash it holds either the old or the
 * new bytes, never a mix: write a temporary file, fsync it, rename it over the old one,
 * then fsync the directory so the rename itself survives (POSIX makes a rename durable
 * only once the directory entry is synced).
 */
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsyncs a directory, making file creations, removals and renames in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Atomically and durably replaces `path` with `bytes` (see the file comment). */
export async function writeFileDurable(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}
