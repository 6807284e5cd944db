/**
 * A {@link FileSystem} that dies with its process: after {@link KillableFileSystem.kill}
 * every operation throws {@link ProcessKilledError}, while the file system underneath keeps
 * what it held (kill -9: the page cache survives, only what the process buffered in its own
 * memory is gone). The production-loop simulator (raft-node-sim.ts) puts one over each
 * incarnation of a node, so a killed node's loop can touch the disk no more while the next
 * incarnation opens the same files.
 */
import type { FileSystem, OpenFlags } from '../../log/index.js';

/** Thrown by every operation of a killed {@link KillableFileSystem}. */
export class ProcessKilledError extends Error {
  readonly code = 'process-killed';
  constructor(op: string) {
    super(`process killed (during ${op})`);
    this.name = 'ProcessKilledError';
  }
}

/** `inner`, until {@link kill}; see the module comment. */
export class KillableFileSystem implements FileSystem {
  private killed = false;

  constructor(private readonly inner: FileSystem) {}

  /** The process dies: no operation from now on reaches the disk. */
  kill(): void {
    this.killed = true;
  }

  private alive(op: string): FileSystem {
    if (this.killed) throw new ProcessKilledError(op);
    return this.inner;
  }

  open(path: string, flags: OpenFlags): number {
    return this.alive('open').open(path, flags);
  }
  close(fd: number): void {
    this.alive('close').close(fd);
  }
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.alive('read').read(fd, buf, offset, length, position);
  }
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.alive('write').write(fd, buf, offset, length, position);
  }
  truncate(fd: number, length: number): void {
    this.alive('truncate').truncate(fd, length);
  }
  stat(fd: number): { readonly size: number; readonly mtimeMs: number } {
    return this.alive('stat').stat(fd);
  }
  unlink(path: string): void {
    this.alive('unlink').unlink(path);
  }
  rename(from: string, to: string): void {
    this.alive('rename').rename(from, to);
  }
  mkdirp(path: string): void {
    this.alive('mkdirp').mkdirp(path);
  }
  readdir(path: string): string[] {
    return this.alive('readdir').readdir(path);
  }
  async fdatasync(fd: number): Promise<void> {
    await this.alive('fdatasync').fdatasync(fd);
    // A sync that completes after the kill made nothing of the caller's durable that the
    // dead process could still act on.
    if (this.killed) throw new ProcessKilledError('fdatasync');
  }
  fdatasyncSync(fd: number): void {
    this.alive('fdatasyncSync').fdatasyncSync(fd);
  }
  async fsyncDir(dir: string): Promise<void> {
    await this.alive('fsyncDir').fsyncDir(dir);
    if (this.killed) throw new ProcessKilledError('fsyncDir');
  }
  fsyncDirSync(dir: string): void {
    this.alive('fsyncDirSync').fsyncDirSync(dir);
  }
}
