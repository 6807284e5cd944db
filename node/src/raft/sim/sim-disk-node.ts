/**
 * A simulated node on the REAL storage: the shell's {@link LogStorage} (segmented log +
 * stable store) on a {@link MemoryFileSystem}, persisted by the shell's own `persistReady`.
 * Crashes come in two kinds: a process crash (kill -9: the page cache, i.e. the volatile
 * file state, survives; what the log or stable store only buffered in memory is lost) and a
 * power cut (only fdatasynced bytes and fsynced directory entries survive, the last write may
 * tear), which may strike at any file operation of a persist. A restart reopens the storage,
 * so every crash also exercises the log's and the stable store's recovery.
 *
 * Compaction is off here (no retention), so a node's state machine is rebuilt on restart by
 * re-reading its log up to the applied index.
 */
import { MemoryFileSystem, PowerCutError } from '../../log/index.js';
import { raftConfig, type RaftConfig } from '../core/config.js';
import { seededRng, type RaftLogger } from '../core/env.js';
import { RawNode } from '../core/raw-node.js';
import { logIndex, type ConfState, type Ready } from '../core/types.js';
import { LogStorage } from '../shell/log-storage.js';
import { persistReady, StableFlusher } from '../shell/persist-ready.js';
import type { NodeId } from '../core/types.js';
import type { SimMember } from './sim-member.js';
import type { SimNodeHooks } from './sim-node.js';
import { AimedCutFs } from './aimed-cut-fs.js';
import { DURABLE_STATE_LOST, DurablePromises } from './durable-promises.js';
import { InvariantViolation } from './invariants.js';
import { CommitLogStateMachine } from './state-machine.js';

const DIR = '/node';
const CLUSTER = 'sim';
/** Small segments and buffers, so simulated runs roll, seal and truncate across segments. */
const LOG_CONFIG = { maxStoreBytes: 512, writeBufferBytes: 256 } as const;
/** Virtual time units between deferred commit-only stable-state writes. */
const STABLE_FLUSH_UNITS = 40;

/** How a node goes down. */
export type CrashKind = 'process' | 'power';

/** A simulated Raft node on the segmented log and stable store over a simulated disk. */
export class SimDiskNode implements SimMember {
  readonly fs: MemoryFileSystem;
  /** The file system the storage runs on: {@link fs} with cuts aimed after structural operations. */
  private readonly aimed: AimedCutFs;
  /** Chance that a persist is armed to lose power just after its first structural file operation (a roll, a truncation, a replace). */
  aimedCutRate = 0;
  /**
   * Chance that a persist with entries also aims at the stable-state replace (its rename):
   * a cut just after it finds a stable state that got ahead of the log.
   */
  renameCutRate = 0;
  /**
   * Chance that a persist is cut at a moment (aimed-cut-fs.ts): right after its stable-state
   * replace is durable, when its Ready commits entries it is itself writing (a stable state
   * written before the log's fsync then names a commit index the disk does not hold); and at
   * the first fdatasync after a suffix truncation (or just after it), when its entries replace
   * some of the log.
   */
  momentCutRate = 0;
  /** What the last power cut inside a persist was aimed at (null: an operation count or none). */
  lastAimedCut: string | null = null;
  /** True when the last completed persist cut the log (a conflict truncation). */
  truncatedInLastPersist = false;
  /** Power cuts this node suffered inside a persist. */
  cutsInPersist = 0;
  private current: LogStorage | null = null;
  raw: RawNode | null = null;
  sm: CommitLogStateMachine = new CommitLogStateMachine();
  pending: Ready | null = null;
  private flusher: StableFlusher | null = null;
  private restarts = 0;
  /** What this node has promised is durable (checked on every restart). */
  readonly promises = new DurablePromises();

  constructor(
    readonly id: NodeId,
    private readonly bootstrap: ConfState | null,
    private readonly cfg: Partial<Omit<RaftConfig, 'id'>>,
    private readonly seed: number,
    private readonly logger: RaftLogger,
    private readonly hooks: SimNodeHooks,
    private readonly now: () => number,
    private readonly rand: () => number,
    sectorBytes = 1,
  ) {
    this.fs = new MemoryFileSystem(rand, now, undefined, sectorBytes);
    this.aimed = new AimedCutFs(this.fs, rand);
  }

  /** The storage the node runs on (the last one opened; stale while the node is down). */
  get storage(): LogStorage {
    if (this.current === null) throw new Error(`${this.id} has never been started`);
    return this.current;
  }

  /** True while running. */
  get up(): boolean {
    return this.raw !== null;
  }

  /** Starts (or restarts) from the disk: opens and recovers the storage, re-reads the log into the state machine. */
  async start(): Promise<void> {
    if (this.fs.powerIsOff) this.fs.reboot();
    let storage: LogStorage;
    try {
      storage = await LogStorage.open({
        dir: DIR,
        clusterId: CLUSTER,
        initialConf: this.bootstrap ?? { voters: [], learners: [] },
        fs: this.aimed,
        logConfig: LOG_CONFIG,
      });
    } catch (err) {
      // A crash must never leave a node unable to come back with what it made durable.
      throw new InvariantViolation(
        DURABLE_STATE_LOST,
        `${this.id} cannot reopen its storage after a crash: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.promises.checkRecovered(this.id, storage);
    this.current = storage;
    this.sm = new CommitLogStateMachine();
    const applied = storage.appliedIndex;
    if (applied >= storage.firstIndex())
      this.sm.apply(storage.entries(storage.firstIndex(), logIndex(applied + 1), Number.MAX_SAFE_INTEGER));
    this.flusher = new StableFlusher(storage.initialState().hardState, STABLE_FLUSH_UNITS, this.now);
    this.raw = new RawNode({
      config: raftConfig(this.id, this.cfg, 'test'),
      storage,
      rng: seededRng(this.seed * 7919 + this.restarts++),
      logger: this.logger,
      applied: this.sm.applied,
    });
    this.hooks.restarted?.(this);
  }

  /** Goes down. A power cut also throws away everything the disk had not made durable. */
  crash(kind: CrashKind = 'process'): void {
    this.raw = null;
    this.pending = null;
    if (kind === 'power' && !this.fs.powerIsOff) this.fs.powerCut();
  }

  /** Takes a Ready if there is one and no write is in flight; sends the early messages at once. */
  takeReady(): boolean {
    if (this.raw === null || this.pending !== null || !this.raw.hasReady()) return false;
    const rd = this.raw.ready();
    this.pending = rd;
    this.hooks.ready?.(this, rd);
    for (const m of rd.earlyMessages) this.hooks.send(m);
    return true;
  }

  /**
   * Persists the pending Ready with the shell's code, then sends, applies, advances. With
   * `cutAtOp`, the power fails at that file operation of the persist (or right after it,
   * before anything is sent, if the persist needed fewer operations).
   */
  async persist(cutAtOp?: number): Promise<void> {
    const rd = this.pending;
    const raw = this.raw;
    const storage = this.current;
    const flusher = this.flusher;
    if (rd === null || raw === null || storage === null || flusher === null) return;
    this.pending = null;
    if (cutAtOp !== undefined) this.fs.armPowerCut(cutAtOp);
    else if (this.aimedCutRate > 0 && this.rand() < this.aimedCutRate)
      this.aimed.aim(8, { renames: rd.entries.length > 0 && this.rand() < this.renameCutRate });
    this.aimMoments(rd, storage);
    const truncations = this.aimed.truncations;
    if (rd.entries.length > 0) this.hooks.writing?.(this, rd.entries);
    this.promises.persisting(rd);
    try {
      await persistReady(storage, rd, flusher);
      this.promises.persisted(rd);
    } catch (err) {
      if (!(err instanceof PowerCutError)) throw err;
      this.cutsInPersist++;
      this.lastAimedCut = err.message.startsWith('power cut (during aimed cut ') ? err.message : null;
      this.crash('power');
      return;
    } finally {
      this.fs.armPowerCut(null);
      this.aimed.aim(null);
      this.aimed.aimAt(null);
    }
    this.truncatedInLastPersist = this.aimed.truncations > truncations;
    if (rd.snapshot !== undefined) throw new Error('snapshots are not simulated on the disk backend (no compaction)');
    if (rd.entries.length > 0) this.hooks.persisted(this, rd.entries);
    if (cutAtOp !== undefined) {
      this.crash('power');
      return;
    }
    for (const m of rd.messages) this.hooks.send(m);
    const fresh = rd.committedEntries.filter((e) => e.index > this.sm.applied);
    storage.noteApplied(fresh);
    const records = this.sm.apply(fresh);
    if (fresh.length > 0) this.hooks.applied(this, fresh, records);
    for (const rs of rd.readStates) this.hooks.readState(this, rs);
    raw.advance(rd);
  }

  /** Aims this persist's cut at the moments its Ready makes risky (see {@link momentCutRate}). */
  private aimMoments(rd: Ready, storage: LogStorage): void {
    const first = rd.entries[0];
    if (this.momentCutRate <= 0 || first === undefined) return;
    if ((rd.hardState?.commit ?? 0) >= first.index && this.rand() < this.momentCutRate)
      this.aimed.aimAt('after-replace');
    if (first.index > storage.lastIndex()) return;
    // The entries replace some of the log: cut before the truncation's sync, or (the draw
    // after) right after it, when only the cut itself is sure to be durable — always when the
    // truncation deletes whole segments (rare: their directory entries are the rest of it).
    const deletes = storage.log.segmentBases().some((b) => b >= first.index && b > storage.log.lowestOffset);
    if (this.rand() < this.momentCutRate) this.aimed.aimAt('sync-after-truncate');
    else if (deletes || this.rand() < this.momentCutRate) this.aimed.aimAt('after-truncate-sync');
  }

  /** The term and vote a completed persist made durable. */
  durableTermVote(): { readonly term: number; readonly vote: string | null } {
    return this.promises.durableTermVote;
  }

  /** True when this node's entry `i` of term `t` is durable (power-cut proof). */
  holdsDurably(i: number, t: number): boolean {
    return this.promises.termOf(i) === t;
  }

  /** Compaction is not simulated on the disk backend. */
  compact(): boolean {
    return false;
  }
}
