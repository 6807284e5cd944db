/**
 * One simulated node: durable MemoryStorage (survives crashes), the RawNode and state
 * machine (lost on crash), and the Ready in flight between `ready()` and the moment its
 * writes become durable. A crash in that window loses the unpersisted Ready — exactly
 * what a real crash before fsync loses.
 *
 * Persistence is modelled as the shell does it (shell/raft-node.ts), in two separate
 * writes: first the log (snapshot, entries; one fsync), then the stable state (hard state
 * and configuration, one atomic file replace). The second write is skipped when only the
 * commit index changed (the shell defers those by `stableFlushMs`), so the durable commit
 * may lag; and a crash may fall between the two writes ({@link SimNode.persist} with
 * `crashAfterLog`), leaving a log newer than the stable state.
 */
import { raftConfig, type RaftConfig } from '../core/config.js';
import { seededRng, type RaftLogger } from '../core/env.js';
import { MemoryStorage } from '../core/memory-storage.js';
import { RawNode } from '../core/raw-node.js';
import type {
  ConfState,
  Entry,
  HardState,
  LogIndex,
  Message,
  NodeId,
  Ready,
  ReadState,
  SnapshotMeta,
} from '../core/types.js';
import type { SimMember } from './sim-member.js';
import { CommitLogStateMachine, type SimRecord } from './state-machine.js';

/** A Ready that changes only the commit index leaves the stable state unwritten this many times in a row at most. */
const COMMIT_FLUSH_EVERY = 4;

/** What a node reports to its cluster. */
export interface SimNodeHooks {
  send(m: Message): void;
  /** Called before entries are written to the node's log (they may replace a suffix). */
  writing?(node: SimMember, entries: readonly Entry[]): void;
  persisted(node: SimMember, entries: readonly Entry[]): void;
  /** Called after a snapshot was installed in the node's storage. */
  installed?(node: SimMember, meta: SnapshotMeta): void;
  /** Called when the node (re)started on its storage (what a crash left of its log). */
  restarted?(node: SimMember): void;
  applied(node: SimMember, entries: readonly Entry[], records: readonly SimRecord[]): void;
  readState(node: SimMember, rs: ReadState): void;
  ready?(node: SimMember, rd: Ready): void;
}

/** A simulated Raft node with crash/restart. */
export class SimNode implements SimMember {
  readonly storage: MemoryStorage;
  raw: RawNode | null = null;
  sm: CommitLogStateMachine = new CommitLogStateMachine();
  /** The Ready taken from the core whose writes are not yet durable. */
  pending: Ready | null = null;
  private restarts = 0;
  /** Hard state and configuration handed out but not yet written (a deferred commit-only flush). */
  private unflushed: { hardState?: HardState; confState?: ConfState } = {};
  /** Persists since the last stable write: a commit-only change is written every {@link COMMIT_FLUSH_EVERY}. */
  private sinceFlush = 0;

  constructor(
    readonly id: NodeId,
    bootstrap: ConfState | null,
    private readonly cfg: Partial<Omit<RaftConfig, 'id'>>,
    private readonly seed: number,
    private readonly logger: RaftLogger,
    private readonly hooks: SimNodeHooks,
  ) {
    this.storage = new MemoryStorage(bootstrap === null ? {} : { confState: bootstrap });
    this.start();
  }

  /** True while running. */
  get up(): boolean {
    return this.raw !== null;
  }

  /** Starts (or restarts) from durable state: the state machine is rebuilt from the snapshot. */
  start(): void {
    this.sm = CommitLogStateMachine.restore(this.storage.snapshotData());
    this.raw = new RawNode({
      config: raftConfig(this.id, this.cfg, 'test'),
      storage: this.storage,
      rng: seededRng(this.seed * 7919 + this.restarts++),
      logger: this.logger,
      applied: this.sm.applied,
    });
    this.hooks.restarted?.(this);
  }

  /** Crashes: everything not yet durable is lost. */
  crash(): void {
    this.raw = null;
    this.pending = null;
    this.unflushed = {};
    this.sinceFlush = 0;
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
   * Makes the pending Ready durable, sends its messages, applies, advances (README loop
   * steps 3–6). With `crashAfterLog` the node crashes after the log write and before the
   * stable-state write: the shell's non-atomic window.
   */
  persist(crashAfterLog = false): void {
    const rd = this.pending;
    const raw = this.raw;
    if (rd === null || raw === null) return;
    this.pending = null;
    // Write 1: the log (the shell installs a snapshot with its own stable write first).
    for (const c of rd.snapshotChunks) this.storage.applySnapshotChunk(c);
    if (rd.snapshot !== undefined) {
      this.storage.applySnapshot(rd.snapshot);
      this.sm = CommitLogStateMachine.restore(this.storage.snapshotData());
      this.hooks.installed?.(this, rd.snapshot);
    }
    if (rd.entries.length > 0) this.hooks.writing?.(this, rd.entries);
    this.storage.append(rd.entries);
    if (rd.entries.length > 0) this.hooks.persisted(this, rd.entries);
    if (crashAfterLog) {
      this.crash();
      return;
    }
    // Write 2: the stable state, atomically; a commit-only change may be deferred.
    this.writeState(rd);
    for (const m of rd.messages) this.hooks.send(m);
    const fresh = rd.committedEntries.filter((e) => e.index > this.sm.applied);
    const records = this.sm.apply(fresh);
    if (fresh.length > 0) this.hooks.applied(this, fresh, records);
    for (const rs of rd.readStates) this.hooks.readState(this, rs);
    raw.advance(rd);
  }

  private writeState(rd: Ready): void {
    const prev = this.storage.initialState().hardState;
    if (rd.hardState !== undefined) this.unflushed = { ...this.unflushed, hardState: rd.hardState };
    if (rd.confState !== undefined) this.unflushed = { ...this.unflushed, confState: rd.confState };
    const hs = this.unflushed.hardState;
    const cs = this.unflushed.confState;
    if (hs === undefined && cs === undefined) return;
    this.sinceFlush++;
    const termVote = hs !== undefined && (hs.term !== prev.term || hs.vote !== prev.vote);
    if (!termVote && cs === undefined && this.sinceFlush < COMMIT_FLUSH_EVERY) return;
    if (hs !== undefined) this.storage.setHardState(hs);
    if (cs !== undefined) this.storage.setConfState(cs);
    this.unflushed = {};
    this.sinceFlush = 0;
  }

  /** The term and vote in the durable MemoryStorage. */
  durableTermVote(): { readonly term: number; readonly vote: string | null } {
    return this.storage.initialState().hardState;
  }

  /** True when entry `i` of term `t` is in the durable MemoryStorage, or compacted into its snapshot. */
  holdsDurably(i: number, t: number): boolean {
    if (i <= this.storage.snapshot().index) return true;
    return this.storage.term(i as LogIndex) === t;
  }

  /** Takes a snapshot at the applied index and compacts the log, keeping `keep` entries for slow followers. */
  compact(keep: number): boolean {
    const raw = this.raw;
    if (raw === null || this.pending !== null) return false;
    const st = raw.status();
    if (st.applied !== st.commit || st.applied - keep <= this.storage.snapshot().index) return false;
    if (st.applied !== this.sm.applied) return false;
    this.storage.createSnapshot(st.applied, st.confState, this.sm.snapshot());
    return true;
  }
}
