/**
 * Step 3 of the loop (node/src/raft/README.md) on the segmented log and the stable store:
 * the one place that decides what a Ready writes and in which order. {@link RaftNode} runs
 * it in production and the simulator runs it on a simulated disk with power cuts, so the
 * persistence the simulator checks is the code that ships.
 *
 * Order: snapshot chunks are staged, a snapshot is installed (its own stable write, then the
 * log reset), entries are appended, and the log is fsynced once; then the stable state
 * (hard state + committed configuration) is written in a second, atomic write — at once when
 * term, vote or configuration changed (a vote may only be sent once durable), otherwise at
 * most every `stableFlushMs` (a commit index that lags on disk is re-learned from the leader;
 * the configuration in force comes from the log itself, see conf-log.ts).
 */
import type { Ready } from '../core/types.js';
import type { LogStorage } from './log-storage.js';

/** When the stable state was last written, to defer commit-only changes. */
export class StableFlusher {
  private flushedTermVote: string;
  private lastFlushMs = -Infinity;

  constructor(
    initial: { readonly term: number; readonly vote: string | null },
    private readonly stableFlushMs: number,
    private readonly now: () => number,
  ) {
    this.flushedTermVote = `${initial.term}/${initial.vote ?? ''}`;
  }

  /** Writes the stable state if `rd` requires it now (see the module comment). */
  async maybeFlush(storage: LogStorage, rd: Ready): Promise<void> {
    const tv = rd.hardState !== undefined ? `${rd.hardState.term}/${rd.hardState.vote ?? ''}` : this.flushedTermVote;
    const now = this.now();
    if (
      tv !== this.flushedTermVote ||
      rd.confState !== undefined ||
      (storage.needsFlush && now - this.lastFlushMs >= this.stableFlushMs)
    ) {
      await storage.flush();
      this.flushedTermVote = tv;
      this.lastFlushMs = now;
    }
  }
}

/**
 * Makes everything `rd` asks to persist durable, in the README's order. Resolves true when a
 * snapshot was installed. Messages of `rd` may be sent once it resolves.
 */
export async function persistReady(storage: LogStorage, rd: Ready, flusher: StableFlusher): Promise<boolean> {
  for (const c of rd.snapshotChunks) storage.stageChunk(c);
  if (rd.snapshot !== undefined) await storage.installSnapshot(rd.snapshot);
  storage.append(rd.entries);
  storage.setState(rd.hardState, rd.confState);
  if (rd.entries.length > 0 || rd.mustSync) await storage.sync();
  await flusher.maybeFlush(storage, rd);
  return rd.snapshot !== undefined;
}
