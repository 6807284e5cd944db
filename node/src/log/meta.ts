/**
 * The log's small metadata file `log.meta`: the commit point of prefix truncation and
 * reset, and the anchor of the dense data-offset map.
 *
 * ```
 * byte  0  u32 LE  magic 0x474f4c43 ("CLOG")
 * byte  4  u8      version (1)
 * byte  5  u8      flags: bit 0 = reset pending
 * byte  6  2 bytes reserved, zero
 * byte  8  u64 LE  anchor offset: the log's lowest offset
 * byte 16  u64 LE  non-data records below the anchor (dense-offset map, dense-offsets.ts)
 * byte 24  u32 LE  reserved, zero
 * byte 28  u32 LE  crc32 of bytes [0, 28)
 * ```
 *
 * It is replaced atomically (write a temporary file, fdatasync, rename, fsync the
 * directory) *before* segment files are deleted, so an interrupted truncation or reset is
 * rolled forward on the next open.
 */
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileDurable } from './durable-file.js';
import { CorruptSegmentError } from './errors.js';
import { type FileSystem, readWholeFile, realFileSystem } from './file-system.js';
import { readU64, writeU64 } from './frame.js';

const MAGIC = 0x474f4c43;
const VERSION = 1;
const META_BYTES = 32;
/** File name of the metadata file inside the log directory. */
export const META_FILE = 'log.meta';

/** Contents of the metadata file. */
export interface LogMeta {
  /** The lowest offset of the log (first segment's base once the open completes). */
  readonly anchorOffset: number;
  /** How many non-data records lie below `anchorOffset`. */
  readonly nonDataBelow: number;
  /** True between the start and the end of a reset(): open completes the reset. */
  readonly resetPending: boolean;
}

/** Encodes `meta` into its 32-byte form. */
export function encodeMeta(meta: LogMeta): Buffer {
  const buf = Buffer.alloc(META_BYTES);
  buf.writeUInt32LE(MAGIC, 0);
  buf[4] = VERSION;
  buf[5] = meta.resetPending ? 1 : 0;
  writeU64(buf, 8, meta.anchorOffset);
  writeU64(buf, 16, meta.nonDataBelow);
  buf.writeUInt32LE(crc32(buf.subarray(0, 28)), 28);
  return buf;
}

/**
 * Reads the metadata file of `dir`; undefined when there is none.
 * @throws CorruptSegmentError when it exists but does not check out.
 */
export function readMeta(dir: string, fs: FileSystem = realFileSystem): LogMeta | undefined {
  const path = join(dir, META_FILE);
  const buf = readWholeFile(fs, path);
  if (buf === undefined) return undefined;
  if (buf.length !== META_BYTES || buf.readUInt32LE(0) !== MAGIC || buf[4] !== VERSION) {
    throw new CorruptSegmentError(path, 0, 'not a log metadata file (size, magic or version)');
  }
  if (buf.readUInt32LE(28) !== crc32(buf.subarray(0, 28))) throw new CorruptSegmentError(path, 28, 'checksum mismatch');
  return {
    anchorOffset: readU64(buf, 8),
    nonDataBelow: readU64(buf, 16),
    resetPending: (buf[5] ?? 0) & 1 ? true : false,
  };
}

/** Atomically and durably replaces the metadata file of `dir` with `meta`. */
export async function writeMetaDurable(dir: string, meta: LogMeta, fs: FileSystem = realFileSystem): Promise<void> {
  await writeFileDurable(join(dir, META_FILE), encodeMeta(meta), fs);
}
