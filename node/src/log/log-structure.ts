/**
 * The structural operations of the log, which change what segment files exist: a roll (a new
 * segment), a suffix truncation (Raft conflict repair, §5.3), a prefix removal (retention,
 * snapshot compaction) and a reset (after installing a snapshot). Each one orders its syncs
 * so that a power cut at any point leaves a log that open can read (log-open.ts completes or
 * repairs the rest):
 * - roll: the sealed store, and pending directory changes, are durable *before* the next
 *   segment's files exist;
 * - suffix: the deletion of later segments is made durable (directory fsync) *before* the cut
 *   of the segment that becomes active, and the cut before any append lands in it;
 * - prefix and reset: the metadata file is written durably first (the commit point that open
 *   rolls forward), then segments are deleted.
 * Argument checks, the busy guard and the contract users see stay on `Log` (log.ts).
 */
import { DenseOffsets } from './dense-offsets.js';
import { type LogFiles, activeSegment } from './log-files.js';
import { writeMetaDurable } from './meta.js';
import { Segment } from './segment.js';
import { TermRuns } from './term-runs.js';

/**
 * Seals the active segment and starts the next one. The sealed store is fdatasynced, and
 * pending directory changes fsynced, *before* the next segment's files exist: otherwise a
 * power cut could keep the new segment while the sealed one lost its tail (or its
 * directory entry), a gap that no open can repair. This blocks the thread for one or two
 * syncs once per `maxStoreBytes` of appends; the sealed index is synced by the next round.
 */
export function rollSegment(f: LogFiles): Segment {
  const old = activeSegment(f);
  old.seal();
  old.syncStoreNow();
  if (f.dirDirty) {
    f.fs.fsyncDirSync(f.dir);
    f.dirDirty = false;
  }
  f.sealedUnsynced.push(old);
  const next = Segment.create(f.dir, old.nextOffset, f.config, f.fs);
  f.segments.push(next);
  f.dirDirty = true;
  f.logger.info({ base: next.baseOffset, dir: f.dir }, 'log: rolled to a new segment');
  return next;
}

/**
 * Removes every record at offset >= `from` (checked by the caller: lowestOffset <= from <
 * nextOffset): later segments are deleted, the segment holding `from` is cut. Durable when it
 * returns: the deletion (directory fsync) and then the cut (fdatasync) are made durable at
 * once, blocking the thread, because appends that follow overwrite the cut region in place —
 * had the cut not reached the disk, a power cut could keep new frames in the middle of old
 * ones with valid checksums (a log mixing two leaders' entries); had the deletion not, a power
 * cut after the cut would bring a deleted segment back behind a gap (a log no open can repair).
 */
export function cutSuffix(f: LogFiles, from: number): void {
  f.syncs.mark();
  let removed = false;
  while (f.segments.length > 1 && activeSegment(f).baseOffset >= from) {
    const gone = f.segments.pop();
    if (gone) retireSegment(f, gone);
    removed = true;
  }
  if (removed) {
    f.fs.fsyncDirSync(f.dir);
    f.dirDirty = false;
  }
  const active = activeSegment(f);
  if (from < active.nextOffset) {
    active.truncateFrom(from);
    active.syncNow();
  }
  f.dense.truncateFrom(from);
  f.terms.truncateFrom(from);
}

/** Deletes a segment's files and forgets it (closing it once no sync round can still use its descriptors). */
export function retireSegment(f: LogFiles, segment: Segment): void {
  segment.unlink();
  segment.dropPositionCache();
  f.positionCached = f.positionCached.filter((s) => s !== segment);
  f.sealedUnsynced = f.sealedUnsynced.filter((s) => s !== segment);
  f.dirDirty = true;
  // An fdatasync of its descriptors may be in flight: close only after it settles, so
  // that the descriptor number cannot be reused under it.
  if (f.syncs.inFlight) f.retiredDuringSync.push(segment);
  else segment.close();
}

/**
 * Removes the `count` oldest segments (0 < count < segments.length), the metadata file
 * first: a crash after it is rolled forward on open. Resolves with the new lowest offset
 * once the removal is durable.
 */
export async function removeOldestSegments(f: LogFiles, count: number, operation: string): Promise<number> {
  const keep = f.segments[count];
  if (!keep) throw new Error(`log invariant broken: removing ${count} of ${f.segments.length} segments`);
  const newLowest = keep.baseOffset;
  // Commit point first: a crash after this line is rolled forward on open.
  await writeMetaDurable(
    f.dir,
    { anchorOffset: newLowest, nonDataBelow: f.dense.nonDataBefore(newLowest), resetPending: false },
    f.fs,
  );
  const removed = f.segments.splice(0, count);
  for (const s of removed) retireSegment(f, s);
  f.dense.truncateBelow(newLowest);
  f.terms.truncateBelow(newLowest);
  await f.fs.fsyncDir(f.dir);
  f.logger.info(
    { dir: f.dir, removedSegments: count, lowestOffset: newLowest, operation },
    'log: removed oldest segments',
  );
  return newLowest;
}

/**
 * Empties the log and restarts it at `initialOffset`, with `initialDataOffset` the dense
 * offset of the first data record (both checked by the caller). The metadata file marks the
 * reset pending first, so a crash midway is completed on the next open. Durable when it resolves.
 */
export async function resetSegments(f: LogFiles, initialOffset: number, initialDataOffset: number): Promise<void> {
  const meta = { anchorOffset: initialOffset, nonDataBelow: initialOffset - initialDataOffset };
  await writeMetaDurable(f.dir, { ...meta, resetPending: true }, f.fs);
  const old = f.segments;
  f.segments = [];
  for (const s of old.reverse()) retireSegment(f, s);
  f.sealedUnsynced = [];
  f.segments = [Segment.create(f.dir, initialOffset, f.config, f.fs)];
  f.dense = new DenseOffsets(meta.nonDataBelow);
  f.terms = new TermRuns();
  f.syncs.mark();
  await writeMetaDurable(f.dir, { ...meta, resetPending: false }, f.fs);
  f.logger.info({ dir: f.dir, initialOffset, initialDataOffset }, 'log: reset');
}
