/**
 * A {@link FileSystem} in front of a {@link MemoryFileSystem} that aims power cuts at the
 * moments recovery bugs live in: just after a structural operation (a file created, a
 * directory entry removed, a file cut short) — a segment roll, a suffix truncation — before
 * the syncs that make it safe. Random cuts
 * at any file operation rarely land there (a roll is one persist in dozens).
 *
 * {@link AimedCutFs.aim} arms it for one persist: after one of its structural operations
 * (each one in turn with probability 1/2) the power fails 1–`spread` mutating operations
 * later (the disk decides what survived). Renames (every stable-state replace) count as
 * structural only when armed with `renames`, so that window is aimed at now and then without
 * cutting every stable write. {@link AimedCutFs.truncations} counts suffix cuts (unlinks and
 * truncations), so the simulator can aim the next cut at the disk a truncation left behind.
 *
 * {@link AimedCutFs.aimAt} aims at a moment instead of an operation count (issue 13):
 * - `after-replace`: the power fails as soon as a replaced file (a rename: the stable state)
 *   is durable, i.e. right after the fsync of its directory — whatever the persist had not
 *   synced before it (the log's new entries, if the stable state went first) is lost;
 * - `sync-after-truncate`: after a file was cut short (a suffix truncation), the power fails
 *   at the next fdatasync, before it runs — the truncation and whatever was written after it
 *   reach the disk only as far as an earlier sync (or the last write's torn sectors) took them;
 * - `after-truncate-sync`: after a file was cut short, the power fails right after the next
 *   fdatasync completes — the cut is durable, and whatever else the truncation did (the
 *   directory entries of the segments it deleted) only if it was made durable before.
 */
import { type FileSystem, type MemoryFileSystem, type OpenFlags, PowerCutError } from '../../log/index.js';
import { InvariantViolation, type InvariantName } from './invariant-violation.js';

/**
 * The rule invariant checked at every write to a segment's store file: a write never lands
 * below the file's durable end. The store is append-only; the one way to write below it is a
 * suffix truncation that was not fdatasynced first, and then a power cut before the next sync
 * can leave new frames on the platter next to the old frames they were replacing (a log that
 * mixes two leaders' entries). The consequence needs the tear to end on a frame boundary of
 * frames of equal size; the rule is checked where it is broken.
 */
export const STORE_WRITE_OVER_DURABLE = 'store write over durable frames' satisfies InvariantName;

/** A moment {@link AimedCutFs.aimAt} can cut at. */
export type AimedMoment = 'after-replace' | 'sync-after-truncate' | 'after-truncate-sync';

/** The simulated disk with cuts aimed just after structural operations. */
export class AimedCutFs implements FileSystem {
  private armed: number | null = null;
  private renames = false;
  /** Unlinks and truncations so far (a conflict truncation does one or more). */
  truncations = 0;
  /** The moments aimed at, and whether the operation that opens each window has happened. */
  private moments = new Map<AimedMoment, boolean>();
  /** Cuts at a moment so far, by moment. */
  readonly momentCuts: Record<AimedMoment, number> = {
    'after-replace': 0,
    'sync-after-truncate': 0,
    'after-truncate-sync': 0,
  };
  /** Open store files (the rule {@link STORE_WRITE_OVER_DURABLE} is checked on them), by descriptor. */
  private readonly stores = new Map<number, string>();

  constructor(
    private readonly inner: MemoryFileSystem,
    private readonly rand: () => number,
  ) {}

  /** Cuts the power 1–`spread` mutating operations after the next structural one (null disarms). */
  aim(spread: number | null, opts: { readonly renames?: boolean } = {}): void {
    this.armed = spread;
    this.renames = spread !== null && opts.renames === true;
  }

  /** Also cuts at `moment` in this persist (null disarms every moment). */
  aimAt(moment: AimedMoment | null): void {
    if (moment === null) this.moments.clear();
    else this.moments.set(moment, false);
  }

  /** The operation that opens `moment`'s window happened. */
  private opened(moment: AimedMoment): void {
    if (this.moments.has(moment)) this.moments.set(moment, true);
  }

  /** Cuts the power now if `moment`'s window is open. @throws PowerCutError when it cut. */
  private cutIfOpen(moment: AimedMoment): void {
    if (this.moments.get(moment) !== true) return;
    this.moments.clear();
    this.momentCuts[moment]++;
    this.inner.cutNow();
    throw new PowerCutError(`aimed cut ${moment}`);
  }

  private structural(): void {
    // Half the time wait for a later structural operation of the same persist (a truncation
    // unlinks segments, then cuts the active one).
    if (this.armed === null || this.rand() < 0.5) return;
    const n = 1 + Math.floor(this.rand() * this.armed);
    this.armed = null;
    this.inner.armPowerCut(n);
  }

  open(path: string, flags: OpenFlags): number {
    const fd = this.inner.open(path, flags);
    if (path.endsWith('.store')) this.stores.set(fd, path);
    if (flags === 'wx+') this.structural(); // a new segment (the stable store's temp files use w+)
    return fd;
  }
  close(fd: number): void {
    this.stores.delete(fd);
    this.inner.close(fd);
  }
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(fd, buf, offset, length, position);
  }
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    const store = this.stores.get(fd);
    if (store !== undefined && length > 0 && !this.inner.powerIsOff) {
      const durable = this.inner.durableSize(fd);
      if (position < durable)
        throw new InvariantViolation(
          STORE_WRITE_OVER_DURABLE,
          `${store}: a write of ${length} bytes at ${position} lands below the durable end ${durable} (a truncation not yet synced)`,
        );
    }
    return this.inner.write(fd, buf, offset, length, position);
  }
  truncate(fd: number, length: number): void {
    this.inner.truncate(fd, length);
    this.truncations++;
    this.opened('sync-after-truncate');
    this.opened('after-truncate-sync');
    this.structural();
  }
  stat(fd: number): { readonly size: number; readonly mtimeMs: number } {
    return this.inner.stat(fd);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
    this.truncations++;
    this.structural();
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
    this.opened('after-replace');
    if (this.renames) this.structural(); // every stable-state write renames: aimed at only when asked
  }
  mkdirp(path: string): void {
    this.inner.mkdirp(path);
  }
  readdir(path: string): string[] {
    return this.inner.readdir(path);
  }
  async fdatasync(fd: number): Promise<void> {
    this.cutIfOpen('sync-after-truncate');
    await this.inner.fdatasync(fd);
    this.cutIfOpen('after-truncate-sync');
  }
  fdatasyncSync(fd: number): void {
    this.cutIfOpen('sync-after-truncate');
    this.inner.fdatasyncSync(fd);
    this.cutIfOpen('after-truncate-sync');
  }
  async fsyncDir(dir: string): Promise<void> {
    await this.inner.fsyncDir(dir);
    this.cutIfOpen('after-replace');
  }
  fsyncDirSync(dir: string): void {
    this.inner.fsyncDirSync(dir);
    this.cutIfOpen('after-replace');
  }
}
