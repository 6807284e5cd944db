/**
 * One simulated node: durable MemoryStorage (survives crashes), the RawNode and state
 * machine (lost on crash), and the Ready in flight between `ready()` and the moment its
 * writes become durable. A crash in that window loses the unpersisted Ready — exactly
 * what a real crash before fsync loses.
 */
import { raftConfig, type RaftConfig } from '../core/config.js';
import { seededRng, type RaftLogger } from '../core/env.js';
import { MemoryStorage } from '../core/memory-storage.js';
import { RawNode } from '../core/raw-node.js';
import type { ConfState, Entry, Message, NodeId, Ready, ReadState } from '../core/types.js';
import { CommitLogStateMachine, type SimRecord } from './state-machine.js';

/** What a node reports to its cluster. */
export interface SimNodeHooks {
  send(m: Message): void;
  persisted(node: SimNode, entries: readonly Entry[]): void;
  applied(node: SimNode, entries: readonly Entry[], records: readonly SimRecord[]): void;
  readState(node: SimNode, rs: ReadState): void;
  ready?(node: SimNode, rd: Ready): void;
}

/** A simulated Raft node with crash/restart. */
export class SimNode {
  readonly storage: MemoryStorage;
  raw: RawNode | null = null;
  sm: CommitLogStateMachine = new CommitLogStateMachine();
  /** The Ready taken from the core whose writes are not yet durable. */
  pending: Ready | null = null;
  private restarts = 0;

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
  }

  /** Crashes: everything not yet durable is lost. */
  crash(): void {
    this.raw = null;
    this.pending = null;
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

  /** Makes the pending Ready durable, sends its messages, applies, advances (README loop steps 3–6). */
  persist(): void {
    const rd = this.pending;
    const raw = this.raw;
    if (rd === null || raw === null) return;
    this.pending = null;
    for (const c of rd.snapshotChunks) this.storage.applySnapshotChunk(c);
    if (rd.snapshot !== undefined) {
      this.storage.applySnapshot(rd.snapshot);
      this.sm = CommitLogStateMachine.restore(this.storage.snapshotData());
    }
    this.storage.append(rd.entries);
    if (rd.entries.length > 0) this.hooks.persisted(this, rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    if (rd.confState !== undefined) this.storage.setConfState(rd.confState);
    for (const m of rd.messages) this.hooks.send(m);
    const fresh = rd.committedEntries.filter((e) => e.index > this.sm.applied);
    const records = this.sm.apply(fresh);
    if (fresh.length > 0) this.hooks.applied(this, fresh, records);
    for (const rs of rd.readStates) this.hooks.readState(this, rs);
    raw.advance(rd);
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
