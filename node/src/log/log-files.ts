/**
 * The mutable state of one open log, shared by the `Log` class (log.ts) and the structural
 * operations that change which segment files exist (log-structure.ts). Plain data: every
 * rule about it (which syncs make what durable, in which order) lives with the code that
 * changes it.
 */
import { type LogConfig } from './config.js';
import { type DenseOffsets } from './dense-offsets.js';
import { type FileSystem } from './file-system.js';
import { type LogLogger } from './logger.js';
import { type Segment } from './segment.js';
import { type SyncRounds } from './sync-rounds.js';
import { type TermRuns } from './term-runs.js';

/** The files of an open log and what is kept of them in memory. */
export interface LogFiles {
  /** The directory holding the segment files. */
  readonly dir: string;
  readonly config: LogConfig;
  readonly fs: FileSystem;
  readonly logger: LogLogger;
  /** The segments, oldest first; the last one is active (takes appends). Never empty. */
  segments: Segment[];
  /** Non-data records and hidden records, for dense data offsets. */
  dense: DenseOffsets;
  /** The term of every record, as runs (no disk read for `termAt`). */
  terms: TermRuns;
  /** Sealed segments whose index the next sync round fdatasyncs (their store was synced at the roll). */
  sealedUnsynced: Segment[];
  /** Sealed segments holding a position cache, oldest first (bounded FIFO). */
  positionCached: Segment[];
  /** A segment was created or removed since the directory was last fsynced. */
  dirDirty: boolean;
  /** Segments removed while a sync round was in flight: closed when it settles. */
  retiredDuringSync: Segment[];
  /** Group commit: `mark()` notes a change, `inFlight` tells whether a round is running. */
  readonly syncs: SyncRounds;
}

/** The active segment (the last). @throws Error when there is none (a broken invariant). */
export function activeSegment(f: LogFiles): Segment {
  const s = f.segments[f.segments.length - 1];
  if (!s) throw new Error('log invariant broken: no active segment');
  return s;
}
