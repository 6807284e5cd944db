/**
 * Watches a few files for changed contents. Kubernetes updates a mounted Secret or
 * ConfigMap by swapping a `..data` symlink in the mount directory, which a watch on the
 * file itself never sees; so we watch each file's directory and compare contents.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Options of {@link FileWatcher}. */
export interface FileWatcherOptions {
  /** Quiet time after the last event before re-reading (writers replace files in steps). Default 100 ms. */
  readonly debounceMs?: number;
  /** Also re-read every so often, in case an event was missed. 0 = never. Default 0. */
  readonly pollMs?: number;
}

function digest(paths: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of paths) {
    try {
      h.update(readFileSync(p));
    } catch {
      h.update('<missing>');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * Calls `onChange` (never concurrently with itself, at most once per debounce window)
 * after the combined contents of `paths` changed. The callback decides whether the new
 * contents are usable; a throw is passed to `onError` and the watcher keeps going.
 */
export class FileWatcher {
  private readonly paths: readonly string[];
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private last: string;
  private closed = false;

  constructor(
    paths: readonly string[],
    private readonly onChange: () => void,
    private readonly onError: (err: unknown) => void = () => {},
    opts: FileWatcherOptions = {},
  ) {
    this.paths = paths.map((p) => resolve(p));
    this.last = digest(this.paths);
    const debounceMs = opts.debounceMs ?? 100;
    for (const dir of new Set(this.paths.map((p) => dirname(p)))) {
      const w = watch(dir, { persistent: false }, () => this.schedule(debounceMs));
      w.on('error', (err) => this.onError(err));
      this.watchers.push(w);
    }
    if (opts.pollMs) {
      this.poller = setInterval(() => this.check(), opts.pollMs);
      this.poller.unref();
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), ms);
    this.timer.unref();
  }

  /** Re-reads now and calls `onChange` if the contents differ from the last accepted ones. */
  check(): void {
    if (this.closed) return;
    const now = digest(this.paths);
    if (now === this.last) return;
    try {
      this.onChange();
      this.last = now;
    } catch (err) {
      // Keep `last` so the next event retries (e.g. key written before its certificate).
      this.onError(err);
    }
  }

  /** Stops watching. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    for (const w of this.watchers) w.close();
  }
}
