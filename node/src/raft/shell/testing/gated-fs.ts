/**
 * A {@link FileSystem} whose asynchronous fdatasync waits at a gate the test opens: a slow
 * disk on demand, to hold a {@link RaftNode}'s loop inside a persist (step 3 of the loop
 * contract) while inputs pile up. Everything else goes straight to the wrapped file system
 * (normally a MemoryFileSystem). The blocking `fdatasyncSync` (segment rolls, suffix
 * truncations) is not gated: it cannot wait without blocking the thread.
 */
import type { FileSystem, OpenFlags } from '../../../log/index.js';

/** The wrapped file system with a gate on `fdatasync`. */
export class GatedFileSystem implements FileSystem {
  private closed = false;
  private waiting: (() => void)[] = [];
  private heldListeners: (() => void)[] = [];

  constructor(private readonly inner: FileSystem) {}

  /** Closes the gate: every `fdatasync` from now on waits until {@link release}. */
  hold(): void {
    this.closed = true;
  }

  /** Opens the gate: the waiting fdatasyncs run, in the order they were called, and later ones pass. */
  release(): void {
    this.closed = false;
    const w = this.waiting;
    this.waiting = [];
    for (const go of w) go();
  }

  /** How many fdatasyncs wait at the gate. */
  get held(): number {
    return this.waiting.length;
  }

  /** Resolves once an fdatasync waits at the gate (at once if one does). */
  whenHeld(): Promise<void> {
    if (this.waiting.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.heldListeners.push(resolve));
  }

  async fdatasync(fd: number): Promise<void> {
    if (this.closed) {
      await new Promise<void>((go) => {
        this.waiting.push(go);
        const ls = this.heldListeners;
        this.heldListeners = [];
        for (const l of ls) l();
      });
    }
    return this.inner.fdatasync(fd);
  }

  open(path: string, flags: OpenFlags): number {
    return this.inner.open(path, flags);
  }
  close(fd: number): void {
    this.inner.close(fd);
  }
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(fd, buf, offset, length, position);
  }
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.write(fd, buf, offset, length, position);
  }
  truncate(fd: number, length: number): void {
    this.inner.truncate(fd, length);
  }
  stat(fd: number): { readonly size: number; readonly mtimeMs: number } {
    return this.inner.stat(fd);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  mkdirp(path: string): void {
    this.inner.mkdirp(path);
  }
  readdir(path: string): string[] {
    return this.inner.readdir(path);
  }
  fdatasyncSync(fd: number): void {
    this.inner.fdatasyncSync(fd);
  }
  fsyncDir(dir: string): Promise<void> {
    return this.inner.fsyncDir(dir);
  }
  fsyncDirSync(dir: string): void {
    this.inner.fsyncDirSync(dir);
  }
}
