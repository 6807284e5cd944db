/**
 * An in-memory {@link FileSystem} with power cuts, for the simulator and crash tests (STYLE.md
 * 4: in-memory implementations are real code).
 *
 * Every file has a *volatile* content (what reads see: the page cache) and a *durable* one
 * (what survives a power cut); every directory has volatile and durable entries. The rules
 * are POSIX's weakest: a file's writes and truncations become durable only when the file is
 * fdatasynced; a creation, removal or rename only when its directory is fsynced. A power cut
 * ({@link MemoryFileSystem.powerCut}) throws the volatile state away: directories fall back
 * to their durable entries, files to their durable bytes, and the last unsynced write of a
 * file may land partially (a torn write: a random prefix of it, possibly past the durable end,
 * leaving a zero-filled gap). POSIX also lets the kernel write metadata back early: with
 * probability `dirWriteBack` a directory's current entries were written back before the cut
 * (new files then exist with whatever of their data was synced, removed ones are gone),
 * which is how a file system can keep a new segment while losing the previous one's
 * unsynced tail. All descriptors die with it. {@link MemoryFileSystem.armPowerCut}
 * cuts the power at the n-th mutating operation from now, so a test can cut between any two
 * file operations. Directories themselves are created durably (mkdirp is not modelled).
 *
 * Deterministic: the only randomness (how much of a torn write lands) comes from `rand`.
 */
import { basename, dirname } from 'node:path';
import type { FileSystem, OpenFlags } from './file-system.js';

interface Inode {
  data: Buffer;
  durable: Buffer;
  mtimeMs: number;
  /** The last write or truncation since the file was last synced (the one a power cut may tear). */
  lastWrite: { readonly position: number; readonly bytes: Buffer } | null;
}

interface Dir {
  entries: Map<string, Inode>;
  durable: Map<string, Inode>;
}

/** Thrown by every operation once the power was cut by {@link MemoryFileSystem.armPowerCut}, until the test "reboots". */
export class PowerCutError extends Error {
  readonly code = 'EPOWERCUT';
  constructor(op: string) {
    super(`power cut (during ${op})`);
    this.name = 'PowerCutError';
  }
}

function fsError(code: string, op: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${op} '${path}'`), { code });
}

/** Counters of what the simulated disk was asked to do (for tests and the simulator's statistics). */
export interface MemoryFsStats {
  fdatasyncs: number;
  dirSyncs: number;
  powerCuts: number;
}

/** The simulated file system. */
export class MemoryFileSystem implements FileSystem {
  private readonly dirs = new Map<string, Dir>();
  private readonly fds = new Map<number, { inode: Inode; path: string; writable: boolean }>();
  private nextFd = 3;
  private cutIn: number | null = null;
  private dead = false;
  readonly stats: MemoryFsStats = { fdatasyncs: 0, dirSyncs: 0, powerCuts: 0 };

  constructor(
    private readonly rand: () => number = lcg(1),
    private readonly now: () => number = () => 0,
    private readonly dirWriteBack = 0.25,
    private readonly sectorBytes = 1,
  ) {
    if (!Number.isSafeInteger(sectorBytes) || sectorBytes < 1)
      throw new RangeError(`sectorBytes must be a positive integer, got ${sectorBytes}`);
  }

  /**
   * Cuts the power at the `ops`-th mutating operation from now (1 = the next one: open for
   * create, write, truncate, unlink, rename, fdatasync, fsyncDir). That operation and every
   * later one throw {@link PowerCutError} until {@link reboot}. `null` disarms.
   */
  armPowerCut(ops: number | null): void {
    this.cutIn = ops;
  }

  /** True after an armed power cut fired (and before {@link reboot}). */
  get powerIsOff(): boolean {
    return this.dead;
  }

  /** Brings the machine back after an armed power cut fired: operations work again, on the post-cut disk. */
  reboot(): void {
    this.dead = false;
  }

  /**
   * Cuts the power now, as an armed cut does: the volatile state is lost and every later
   * operation throws {@link PowerCutError} until {@link reboot}. For wrappers that aim a cut
   * at a moment rather than at an operation count (the simulator's aimed-cut-fs.ts).
   */
  cutNow(): void {
    if (this.dead) return;
    this.cutIn = null;
    this.powerCut();
    this.dead = true;
  }

  /** Cuts the power now: volatile state is lost (see the module comment) and every descriptor closes. */
  powerCut(): void {
    this.stats.powerCuts++;
    this.fds.clear();
    for (const d of this.dirs.values()) {
      const writtenBack = this.rand() < this.dirWriteBack;
      d.entries = new Map(writtenBack ? d.entries : d.durable);
      d.durable = new Map(d.entries);
      for (const inode of d.entries.values()) this.restoreDurable(inode);
    }
  }

  private restoreDurable(inode: Inode): void {
    let data = Buffer.from(inode.durable);
    const w = inode.lastWrite;
    if (w !== null && this.rand() < 0.5) {
      // A torn write: some prefix of the last unsynced write reached the platter.
      const keep = this.tornLength(w.position, w.bytes.length);
      const end = w.position + keep;
      if (end > data.length) {
        const grown = Buffer.alloc(end);
        data.copy(grown);
        data = grown;
      }
      w.bytes.copy(data, w.position, 0, keep);
    }
    inode.data = data;
    inode.durable = Buffer.from(data);
    inode.lastWrite = null;
  }

  /** How many bytes of a write of `length` at `position` a tear keeps: whole sectors only. */
  private tornLength(position: number, length: number): number {
    if (this.sectorBytes === 1) return Math.floor(this.rand() * (length + 1));
    // Cut points: the write's start, each sector boundary inside it, its end.
    const cuts = [0];
    const first = Math.ceil((position + 1) / this.sectorBytes) * this.sectorBytes;
    for (let b = first; b < position + length; b += this.sectorBytes) cuts.push(b - position);
    if (length > 0) cuts.push(length);
    return cuts[Math.floor(this.rand() * cuts.length)] ?? 0;
  }

  private tick(op: string): void {
    if (this.dead) throw new PowerCutError(op);
    if (this.cutIn === null) return;
    this.cutIn--;
    if (this.cutIn > 0) return;
    this.cutIn = null;
    this.powerCut();
    this.dead = true;
    throw new PowerCutError(op);
  }

  private alive(op: string): void {
    if (this.dead) throw new PowerCutError(op);
  }

  private dir(path: string, op: string): Dir {
    const d = this.dirs.get(path);
    if (d === undefined) throw fsError('ENOENT', op, path);
    return d;
  }

  private handle(fd: number, op: string): { inode: Inode; path: string; writable: boolean } {
    this.alive(op);
    const h = this.fds.get(fd);
    if (h === undefined) throw fsError('EBADF', op, String(fd));
    return h;
  }

  open(path: string, flags: OpenFlags): number {
    this.alive('open');
    const d = this.dir(dirname(path), 'open');
    const name = basename(path);
    let inode = d.entries.get(name);
    if (flags === 'wx+' && inode !== undefined) throw fsError('EEXIST', 'open', path);
    if ((flags === 'r+' || flags === 'r') && inode === undefined) throw fsError('ENOENT', 'open', path);
    if (inode === undefined) {
      this.tick('open');
      inode = { data: Buffer.alloc(0), durable: Buffer.alloc(0), mtimeMs: this.now(), lastWrite: null };
      d.entries.set(name, inode);
    } else if (flags === 'w+') {
      this.tick('open');
      this.setData(inode, Buffer.alloc(0), 0, Buffer.alloc(0));
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { inode, path, writable: flags !== 'r' });
    return fd;
  }

  close(fd: number): void {
    if (this.dead) return;
    this.fds.delete(fd);
  }

  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    const { inode } = this.handle(fd, 'read');
    const n = Math.max(0, Math.min(length, inode.data.length - position));
    if (n > 0) buf.set(inode.data.subarray(position, position + n), offset);
    return n;
  }

  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    const h = this.handle(fd, 'write');
    if (!h.writable) throw fsError('EBADF', 'write', h.path);
    this.tick('write');
    const inode = h.inode;
    const bytes = Buffer.from(buf.subarray(offset, offset + length));
    let data = inode.data;
    if (position + length > data.length) {
      data = Buffer.alloc(position + length);
      inode.data.copy(data);
    }
    bytes.copy(data, position);
    this.setData(inode, data, position, bytes);
    return length;
  }

  truncate(fd: number, length: number): void {
    const h = this.handle(fd, 'truncate');
    this.tick('truncate');
    const inode = h.inode;
    const data = Buffer.alloc(length);
    inode.data.copy(data, 0, 0, Math.min(length, inode.data.length));
    this.setData(inode, data, length, Buffer.alloc(0));
  }

  private setData(inode: Inode, data: Buffer, position: number, bytes: Buffer): void {
    inode.data = data;
    inode.mtimeMs = this.now();
    // Only the last unsynced change may tear; after a truncation nothing partial can land.
    inode.lastWrite = bytes.length > 0 ? { position, bytes } : null;
  }

  /** Bytes of the file behind `fd` that would survive a power cut now, tearing aside (checkers: is a write landing on durable data?). */
  durableSize(fd: number): number {
    return this.handle(fd, 'durableSize').inode.durable.length;
  }

  stat(fd: number): { readonly size: number; readonly mtimeMs: number } {
    const { inode } = this.handle(fd, 'stat');
    return { size: inode.data.length, mtimeMs: inode.mtimeMs };
  }

  unlink(path: string): void {
    this.alive('unlink');
    const d = this.dir(dirname(path), 'unlink');
    if (!d.entries.has(basename(path))) throw fsError('ENOENT', 'unlink', path);
    this.tick('unlink');
    d.entries.delete(basename(path));
  }

  rename(from: string, to: string): void {
    this.alive('rename');
    const d = this.dir(dirname(from), 'rename');
    const inode = d.entries.get(basename(from));
    if (inode === undefined) throw fsError('ENOENT', 'rename', from);
    if (dirname(to) !== dirname(from)) throw fsError('EXDEV', 'rename', to);
    this.tick('rename');
    d.entries.delete(basename(from));
    d.entries.set(basename(to), inode);
  }

  mkdirp(path: string): void {
    this.alive('mkdir');
    for (let p = path; !this.dirs.has(p); p = dirname(p)) {
      this.dirs.set(p, { entries: new Map(), durable: new Map() });
      if (dirname(p) === p) break;
    }
  }

  readdir(path: string): string[] {
    this.alive('readdir');
    const own = [...this.dir(path, 'readdir').entries.keys()];
    const subdirs = [...this.dirs.keys()].filter((p) => p !== path && dirname(p) === path).map((p) => basename(p));
    return [...own, ...subdirs].sort();
  }

  fdatasync(fd: number): Promise<void> {
    try {
      this.fdatasyncSync(fd);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  fdatasyncSync(fd: number): void {
    const { inode } = this.handle(fd, 'fdatasync');
    this.tick('fdatasync');
    inode.durable = Buffer.from(inode.data);
    inode.lastWrite = null;
    this.stats.fdatasyncs++;
  }

  fsyncDir(dir: string): Promise<void> {
    try {
      this.fsyncDirSync(dir);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  fsyncDirSync(dir: string): void {
    this.alive('fsyncDir');
    const d = this.dir(dir, 'fsyncDir');
    this.tick('fsyncDir');
    d.durable = new Map(d.entries);
    this.stats.dirSyncs++;
  }

  /**
   * A new file system holding exactly what would survive a power cut right now, without
   * tearing (tests: "if the power failed at this instant, what would the node restart from?").
   */
  crashImage(): MemoryFileSystem {
    const img = new MemoryFileSystem(() => 1, this.now);
    for (const [path, d] of this.dirs) {
      const durable = new Map<string, Inode>();
      for (const [name, inode] of d.durable)
        durable.set(name, {
          data: Buffer.from(inode.durable),
          durable: Buffer.from(inode.durable),
          mtimeMs: inode.mtimeMs,
          lastWrite: null,
        });
      img.dirs.set(path, { entries: new Map(durable), durable });
    }
    return img;
  }

  /** The volatile bytes of `path` (tests: inspect or damage a file). */
  fileBytes(path: string): Buffer | undefined {
    return this.dirs.get(dirname(path))?.entries.get(basename(path))?.data;
  }

  /** Replaces the bytes of `path`, volatile and durable alike (tests: damage a file "on the platter"). */
  setFileBytes(path: string, bytes: Buffer): void {
    const inode = this.dirs.get(dirname(path))?.entries.get(basename(path));
    if (inode === undefined) throw fsError('ENOENT', 'setFileBytes', path);
    inode.data = Buffer.from(bytes);
    inode.durable = Buffer.from(bytes);
    inode.lastWrite = null;
  }
}

/** A small deterministic generator in [0, 1) (the file system must not use Math.random). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
