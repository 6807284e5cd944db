/**
 * Opening a log directory: list segment files, complete interrupted prefix truncations
 * and resets (meta.ts), open and validate every segment (segment.ts), check that segments
 * are contiguous, and rebuild the in-memory term runs and dense-offset map from the index
 * entries (never from the stores). Runs once, before the log serves anything, so its file
 * calls may be synchronous.
 */
import { join } from 'node:path';
import { type LogConfig, type LogConfigInput, resolveLogConfig } from './config.js';
import { DenseOffsets } from './dense-offsets.js';
import { CorruptSegmentError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { readU64 } from './frame.js';
import { type LogLogger } from './logger.js';
import { type LogMeta, META_FILE, readMeta, writeMetaDurable } from './meta.js';
import { INDEX_ENTRY_BYTES } from './offset-index.js';
import { isDataRecordType } from './record.js';
import { parseSegmentFile, Segment, segmentStem } from './segment.js';
import { TermRuns } from './term-runs.js';

/** The state {@link openLogFiles} hands to the Log. */
export interface OpenedLog {
  readonly config: LogConfig;
  readonly segments: Segment[];
  readonly dense: DenseOffsets;
  readonly terms: TermRuns;
}

function removeSegmentFiles(fs: FileSystem, dir: string, base: number): void {
  for (const ext of ['store', 'index']) {
    try {
      fs.unlink(join(dir, `${segmentStem(base)}.${ext}`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Opens and recovers the log files of `dir` (see the module comment). */
export async function openLogFiles(
  dir: string,
  input: LogConfigInput,
  logger: LogLogger,
  fs: FileSystem,
): Promise<OpenedLog> {
  const config = resolveLogConfig(input);
  fs.mkdirp(dir);
  const meta = readMeta(dir, fs);
  const names = fs.readdir(dir);
  if (names.includes(`${META_FILE}.tmp`)) fs.unlink(join(dir, `${META_FILE}.tmp`));
  let bases = [...new Set(names.map(parseSegmentFile).flatMap((p) => (p ? [p.base] : [])))].sort((a, b) => a - b);
  let rewriteMeta = meta === undefined;

  if (meta?.resetPending) {
    logger.warn(
      { dir, initialOffset: meta.anchorOffset, removedSegments: bases.length },
      'log: completing an interrupted reset',
    );
    for (const base of bases.reverse()) removeSegmentFiles(fs, dir, base);
    bases = [];
    rewriteMeta = true;
  } else if (meta) {
    const stale = bases.filter((b) => b < meta.anchorOffset);
    if (stale.length > 0) {
      logger.warn(
        { dir, lowestOffset: meta.anchorOffset, removedSegments: stale.length },
        'log: completing an interrupted prefix truncation',
      );
      for (const base of stale) removeSegmentFiles(fs, dir, base);
      bases = bases.filter((b) => b >= meta.anchorOffset);
    }
  } else if (bases.length > 0) {
    logger.warn({ dir }, 'log: metadata file missing; assuming no non-data records below the lowest offset');
  }

  const segments: Segment[] = [];
  const dense = new DenseOffsets(meta?.nonDataBelow ?? 0);
  const terms = new TermRuns();
  let created = false;
  try {
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i] ?? 0;
      const opened = Segment.open(dir, base, config, i === bases.length - 1, logger, fs);
      const { segment, entries } = opened;
      created ||= opened.created;
      const previous = segments[segments.length - 1];
      segments.push(segment);
      if (previous && previous.nextOffset !== base) {
        throw new CorruptSegmentError(
          segment.store.path,
          0,
          `segment starts at ${base} but the previous one ends at ${previous.nextOffset}`,
        );
      }
      for (let at = 0; at < entries.length; at += INDEX_ENTRY_BYTES) {
        const offset = base + at / INDEX_ENTRY_BYTES;
        if (!isDataRecordType(entries[at + 16] ?? 0)) dense.addNonData(offset);
        terms.add(offset, readU64(entries, at + 8));
      }
    }
    // A file recreated by the open (the last segment's store or index, lost to an interrupted
    // truncation or roll) is appended to and fdatasynced like any other: its directory entry
    // must be durable first, or a later power cut takes it and the synced records with it.
    if (created) await fs.fsyncDir(dir);
    const first = segments[0];
    if (meta && !meta.resetPending && first && first.baseOffset !== meta.anchorOffset) {
      throw new CorruptSegmentError(
        first.store.path,
        0,
        `the log should start at ${meta.anchorOffset}: segments below ${first.baseOffset} are missing`,
      );
    }
    if (segments.length === 0) {
      segments.push(Segment.create(dir, meta?.anchorOffset ?? config.initialOffset, config, fs));
      rewriteMeta = true;
    }
    if (rewriteMeta) {
      const lowest = segments[0]?.baseOffset ?? 0;
      const next: LogMeta = { anchorOffset: lowest, nonDataBelow: dense.removedNonData, resetPending: false };
      await writeMetaDurable(dir, next, fs);
    }
  } catch (err) {
    for (const s of segments) s.close();
    throw err;
  }
  return { config, segments, dense, terms };
}
