/**
 * RaftNode: the effectful runner around one {@link RawNode} (etcd-io/raft node.go's role).
 * It owns the timers (shell-loop.ts), the storage on the segmented log and the transport, and runs the loop
 * of node/src/raft/README.md exactly: send early messages; persist snapshot chunks, snapshot,
 * entries (ONE log fsync per Ready) and hard state; send messages; apply; advance.
 *
 * Inputs (ticks, received messages, proposals, requests) are queued and fed to the core only
 * between two Ready batches, never while one is being persisted: everything that arrives
 * during an fsync goes into the next Ready together — that is the group commit under load.
 * They are fed messages first, then at most one heartbeat interval of the ticks that piled up
 * (loop-inputs.ts; shell/README.md "Ticks after a stall"). Time is injected: `clock` and
 * `loopTimers` (loop-clock.ts, shell-loop.ts) default to the real ones.
 *
 * Because the state machine is the log, "applying" a data entry only makes it visible: it
 * resolves the proposal with its dense data offset and moves `appliedIndex`, which bounds
 * what consumers may read.
 */
import { randomBytes } from 'node:crypto';
import { raftConfig } from '../core/config.js';
import { seededRng } from '../core/env.js';
import { RawNode } from '../core/raw-node.js';
import type { ConfChange, Entry, LogIndex, Message, NodeId, Ready, Role } from '../core/types.js';
import { type ShellConfig, shellConfig } from './config.js';
import { NodeStoppedError, RaftNotLeaderError } from './errors.js';
import { propose, proposeBatch, proposeRecords, type ProposeHost } from './propose.js';
import { LogStorage } from './log-storage.js';
import type { ProducerSeq } from './pdata.js';
import { persistReady, StableFlusher } from './persist-ready.js';
import { ProposalTracker, type ProposeOutcome } from './proposal-tracker.js';
import { realClock, type ShellClock } from './loop-clock.js';
import { LoopInputs, tickBurstCap } from './loop-inputs.js';
import { type LoopTimers, proposeConfChange, startLoopTimers } from './shell-loop.js';
import { Listeners } from './listeners.js';
import { emptyStats, type LeaderChange, type NodeStats, type RaftNodeStatus, statusOf } from './node-status.js';
import type { RaftTransport } from './transport.js';
import type { RaftNodeOptions, ShellLogger } from './raft-node-options.js';
import { Waiters } from './waiters.js';
import { AfterTurn } from './after-turn.js';
import { readIndex, type RequestHost, transferLeadership } from './requests.js';

export type { RaftNodeOptions, ShellLogger };

const silent: ShellLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** One Raft member: storage, timer, transport and the README loop. */
export class RaftNode {
  private readonly raw: RawNode;
  private readonly cfg: ShellConfig;
  private readonly log: ShellLogger;
  private readonly clock: ShellClock;
  private timers: LoopTimers | null = null;
  private readonly inputs: LoopInputs;
  private readonly proposals: ProposalTracker;
  private readonly reads = new Map<string, { resolve(): void; reject(e: Error): void }>();
  private readonly applied: Waiters;
  private lastDropWarnMs = -Infinity;
  private looping: Promise<void> | null = null;
  private compactDue = false;
  /** Commit-only appends, sent two turns later, after the answers (after-turn.ts). */
  private readonly afterTurn: AfterTurn;
  private stopping = false;
  private fatal: Error | null = null;
  private readonly flusher: StableFlusher;
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  private readonly stats: NodeStats = emptyStats();
  private readonly leaderListeners = new Listeners<LeaderChange>();
  private readonly appliedListeners = new Listeners<LogIndex>();
  private readonly fsyncListeners = new Listeners<number>();
  private readonly fatalListeners = new Listeners<Error>();
  /** What the proposal entry points (propose.ts) read of this node. */
  private readonly proposeHost: ProposeHost;
  private readonly requestHost: RequestHost;

  private constructor(
    readonly id: NodeId,
    readonly clusterId: string,
    /** Storage on the segmented log; `storage.log` is the data consumers read (up to {@link appliedIndex}). */
    readonly storage: LogStorage,
    private readonly transport: RaftTransport,
    o: RaftNodeOptions,
  ) {
    this.cfg = shellConfig(o.shellConfig, o.shellPreset ?? 'lan');
    this.log = o.logger ?? silent;
    this.afterTurn = new AfterTurn(
      (m) => transport.send(m),
      () => !this.stopping && this.fatal === null,
    );
    this.clock = o.clock ?? realClock;
    const now = (): number => this.clock.now();
    this.proposals = new ProposalTracker(this.cfg.requestTimeoutMs, now);
    this.applied = new Waiters(this.clock);
    this.flusher = new StableFlusher(storage.initialState().hardState, this.cfg.stableFlushMs, now);
    const config = raftConfig(o.id, o.raftConfig ?? {}, o.raftPreset ?? 'lan');
    this.inputs = new LoopInputs(tickBurstCap(config.heartbeatTicks));
    this.raw = new RawNode({
      config,
      storage,
      rng: seededRng(o.seed ?? randomBytes(4).readUInt32LE(0)),
      logger: this.log,
      applied: storage.appliedIndex,
    });
    this.applied.advance(storage.appliedIndex);
    this.proposeHost = {
      proposals: this.proposals,
      storage,
      maxQueuedProposals: this.cfg.maxQueuedProposals,
      refuseInput: () => this.refuseInput(),
      role: () => this.role,
      leader: () => this.leader,
      term: () => this.raw.status().term,
      kick: () => this.kick(),
    };
    this.requestHost = {
      clock: this.clock,
      raw: this.raw,
      reads: this.reads,
      refuseInput: () => this.refuseInput(),
      act: (f) => this.act(f),
      leader: () => this.leader,
      onLeaderChange: (fn) => this.onLeaderChange(fn),
    };
    storage.log.onSync((e) => {
      this.stats.fsyncs++;
      this.stats.fsyncMsTotal += e.durationMs;
      this.stats.fsyncMsLast = e.durationMs;
      this.fsyncListeners.emit(e.durationMs);
    });
  }

  /**
   * Opens the storage in `o.dir` and starts the node: ticks begin, the transport delivers.
   * Bootstraps only when the directory is empty AND `o.bootstrap` is given.
   * @throws ClusterIdMismatchError, StableStateCorruptError, StorageInconsistentError from the storage.
   */
  static async start(o: RaftNodeOptions): Promise<RaftNode> {
    const storage = await LogStorage.open({
      dir: o.dir,
      clusterId: o.clusterId,
      initialConf: { voters: [...(o.bootstrap?.voters ?? [])].sort(), learners: [] },
      ...(o.logConfig !== undefined ? { logConfig: o.logConfig } : {}),
      ...(o.logger !== undefined ? { logger: o.logger } : {}),
      ...(o.fs !== undefined ? { fs: o.fs } : {}),
      ...(o.onLostTail !== undefined ? { onLostTail: o.onLostTail } : {}),
    });
    const node = new RaftNode(o.id, o.clusterId, storage, o.transport, o);
    for (const [id, addr] of Object.entries(o.peers ?? {})) if (id !== o.id) o.transport.setPeer(id as NodeId, addr);
    o.transport.listen((m, clusterId) => node.receive(m, clusterId));
    node.timers = (o.loopTimers ?? startLoopTimers)(node.cfg, {
      tick: () => {
        node.inputs.tick();
        node.kick();
      },
      compact: () => {
        node.compactDue = true;
        node.kick();
      },
      sweep: () => node.proposals.sweep(),
    });
    node.log.info(
      {
        id: o.id,
        clusterId: o.clusterId,
        fresh: storage.fresh,
        applied: storage.appliedIndex,
        lastIndex: storage.lastIndex(),
      },
      'raft: node started',
    );
    node.kick();
    return node;
  }

  // ---------------------------------------------------------------- public API

  /**
   * Proposes one record; resolves once it is committed and applied on this node. With
   * `producer` (an idempotent producer's id and sequence) the record is deduplicated by the
   * replicated state machine (producer-state.ts): a retry of a record already in the log
   * resolves with the original's offset (`duplicate: true`) and appends nothing visible.
   * @throws RaftNotLeaderError (with leaderHint) when this node is not the leader.
   * @throws ProposalDroppedError when leadership changed and another entry took its index.
   * @throws ProducerSequenceError when `producer.seq` is older than the producer's window.
   */
  propose(value: Uint8Array, producer?: ProducerSeq): Promise<ProposeOutcome> {
    return propose(this.proposeHost, value, producer);
  }

  /** Proposes records at consecutive indexes; resolves with where the first landed (the rest follow densely). */
  proposeBatch(values: readonly Uint8Array[]): Promise<ProposeOutcome> {
    return proposeBatch(this.proposeHost, values);
  }

  /**
   * Proposes `values` as ONE proposal (consecutive indexes, one Ready, one fsync); resolves
   * with every record's dense data offset once all are committed and applied here. With
   * `producer`, record i carries sequence `producer.seq + i` and is deduplicated on its own
   * as {@link propose}'s (a retried batch resolves with the original offsets; all already
   * applied: no entry at all). A failure of any record rejects the call (others may have been
   * appended: retry with the same producer id and sequence).
   * @throws as {@link propose}, for the whole batch before anything is proposed.
   */
  proposeRecords(values: readonly Uint8Array[], producer?: ProducerSeq): Promise<readonly number[]> {
    return proposeRecords(this.proposeHost, values, producer);
  }

  /** A linearizable read barrier (ReadIndex, thesis §6.4): resolves once this node has applied everything committed when it was called. */
  readIndex(timeoutMs = this.cfg.requestTimeoutMs): Promise<void> {
    return readIndex(this.requestHost, timeoutMs);
  }

  /** Adds `id` (at `address`) as a learner with its data dir's `storage` id (issue 12); resolves when the change commits. */
  addLearner(id: NodeId, address: string, storage?: string): Promise<ProposeOutcome> {
    this.transport.setPeer(id, address);
    return this.confChange({ type: 'addLearner', node: id, ...(storage !== undefined ? { storage } : {}) });
  }
  /** The storage id the configuration in force records for member `id` (ConfState.storage). */
  memberStorage(id: NodeId): string | undefined {
    return this.raw.memberStorage(id);
  }
  /** Promotes learner `id` to voter; resolves when the change commits. */
  promote(id: NodeId): Promise<ProposeOutcome> {
    return this.confChange({ type: 'promote', node: id });
  }
  /** Removes member `id`; resolves when the change commits (a removed leader then steps down). */
  removeMember(id: NodeId): Promise<ProposeOutcome> {
    return this.confChange({ type: 'remove', node: id });
  }
  /** Updates a peer's address (e.g. its DNS name now resolves elsewhere). */
  setPeerAddress(id: NodeId, address: string): void {
    this.transport.setPeer(id, address);
  }

  /** Transfers leadership to voter `to` (TimeoutNow, thesis §3.10); resolves when `to` is the leader seen by this node. */
  transferLeadership(to: NodeId, timeoutMs = this.cfg.requestTimeoutMs): Promise<void> {
    return transferLeadership(this.requestHost, to, timeoutMs);
  }

  /** Resolves once this node has applied `index` (no polling: woken by the loop). */
  waitForApplied(index: number, timeoutMs?: number): Promise<void> {
    const err = this.refuseInput();
    if (err !== null) return Promise.reject(err);
    return this.applied.wait(index, timeoutMs);
  }

  /** Highest Raft index applied here; consumers may read log records up to it. */
  get appliedIndex(): LogIndex {
    return this.storage.appliedIndex;
  }

  /** One past the dense data offset of the last applied data record: consumers may read data offsets below it. */
  get committedDataEnd(): number {
    return this.storage.log.toDataOffset(Math.min(this.storage.appliedIndex + 1, this.storage.log.nextOffset));
  }

  // Observation: the only way to watch the node. Each `on*` subscribes a listener called
  // synchronously from the loop and returns the function that unsubscribes it (listeners.ts).

  /** Calls `fn` on every leader or role change; returns an unsubscribe function. */
  onLeaderChange(fn: (e: LeaderChange) => void): () => void {
    return this.leaderListeners.add(fn);
  }

  /** Calls `fn` with the applied index after each batch of applied entries (wake consumers); returns an unsubscribe function. */
  onApplied(fn: (index: LogIndex) => void): () => void {
    return this.appliedListeners.add(fn);
  }

  /** Calls `fn` with the duration in ms of every log fsync round (histogram `commitlog_raft_fsync_seconds`); returns an unsubscribe function. */
  onFsync(fn: (ms: number) => void): () => void {
    return this.fsyncListeners.add(fn);
  }

  /**
   * Calls `fn` once when the node hits a fatal storage error and stops serving; at once if it
   * already has (so a subscription made after {@link RaftNode.start} misses nothing). Returns
   * an unsubscribe function.
   */
  onFatal(fn: (err: Error) => void): () => void {
    if (this.fatal !== null) {
      fn(this.fatal);
      return () => {};
    }
    return this.fatalListeners.add(fn);
  }

  /** Current state: term, role, leader, indexes, members with per-follower match/lag (leader only), counters. */
  status(): RaftNodeStatus {
    return statusOf(this.raw.status(), this.clusterId, this.stats, this.transport.stats(), this.storage.log.syncStats);
  }

  /** True while this node believes it is the leader. */
  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /** The leader this node knows of (null during elections). */
  get leaderId(): NodeId | null {
    return this.leader;
  }

  /**
   * Stops gracefully: timers stop, the current Ready finishes, the stable state is flushed,
   * the transport and the log close. Pending proposals reject with NodeStoppedError
   * (indeterminate: they may still commit elsewhere).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearTimers();
    await this.looping;
    this.failAll(new NodeStoppedError());
    await this.transport.close();
    try {
      if (this.fatal === null) await this.storage.flush();
    } finally {
      await this.storage.close();
    }
    this.log.info({ id: this.id }, 'raft: node stopped');
  }

  // ---------------------------------------------------------------- the loop

  private refuseInput(): Error | null {
    if (this.fatal !== null) return this.fatal;
    return this.stopping ? new NodeStoppedError() : null;
  }

  private receive(m: Message, clusterId: string): void {
    if (clusterId !== this.clusterId) {
      this.stats.foreignClusterMessages++;
      return;
    }
    if (this.stopping || !this.inputs.receive(m)) return;
    this.kick();
  }

  private act(f: () => void): void {
    this.inputs.act(f);
    this.kick();
  }

  /** Proposes a configuration change, retrying a new leader's transient refusal (shell-loop.ts). */
  private confChange(cc: ConfChange): Promise<ProposeOutcome> {
    return proposeConfChange(
      {
        refuseInput: () => this.refuseInput(),
        act: (f) => this.act(f),
        propose: (c) => this.raw.proposeConfChange(c),
        isLeader: () => this.role === 'leader',
        clock: this.clock,
        onApplied: (fn) => this.onApplied(fn),
        track: (index, term, resolve, reject) => this.proposals.track(index, term, resolve, reject),
      },
      cc,
      this.cfg.requestTimeoutMs,
    );
  }

  private kick(): void {
    if (this.looping !== null || this.fatal !== null) return;
    this.looping = this.run().finally(() => {
      this.looping = null;
      // Input that arrived after the last feed but before this settled (a proposal made when
      // an apply resolved its caller's promise) found the loop running and did not start it:
      // run again rather than leave it for the next tick.
      if (this.hasPendingInput() && !this.stopping) this.kick();
    });
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        if (this.compactDue && !this.stopping) {
          this.compactDue = false;
          if (await this.storage.compact()) this.stats.compactions++;
        }
        this.feedInputs();
        if (!this.raw.hasReady()) break;
        const rd = this.raw.ready();
        await this.handleReady(rd);
        this.raw.advance(rd);
        this.afterAdvance(rd);
      }
    } catch (err) {
      this.die(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private hasPendingInput(): boolean {
    return this.inputs.pending || this.proposals.queuedCount > 0 || this.compactDue;
  }

  /** Messages, then at most one heartbeat interval of ticks, then requests, then proposals (loop-inputs.ts). */
  private feedInputs(): void {
    const { ticksDropped } = this.inputs.feed(this.raw);
    if (ticksDropped > 0) this.noteDroppedTicks(ticksDropped);
    this.stats.proposals += this.proposals.feed(this.raw, this.storage.log);
  }

  private noteDroppedTicks(n: number): void {
    this.stats.ticksDropped += n;
    const now = this.clock.now();
    if (now - this.lastDropWarnMs < 10_000) return;
    this.lastDropWarnMs = now;
    const total = this.stats.ticksDropped;
    this.log.warn({ id: this.id, dropped: n, total }, 'raft: ticks dropped, the loop was busy (a slow persist?)');
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.noteSoftState(rd.softState.leader, rd.softState.role);
    // 2. The leader's replication messages go out while it writes its own copy (thesis §10.2.1),
    // before it: at one record in flight the commit waits on a follower's answer (after-turn.ts).
    this.afterTurn.sendEarly(rd);
    // 3. Persist: chunks, snapshot, entries (one log fsync, submitted before persistReady
    // first yields: LogStorage.sync starts its round at once), then hard state + conf state.
    if (await persistReady(this.storage, rd, this.flusher)) this.stats.snapshotsInstalled++;
    // 4. Messages that depend on durable state.
    if (rd.messages.length > 0) this.transport.send(rd.messages);
    // 5. Apply.
    if (rd.committedEntries.length > 0) this.apply(rd.committedEntries);
    for (const rs of rd.readStates) {
      const w = this.reads.get(rs.ctx);
      if (w === undefined) continue;
      this.reads.delete(rs.ctx);
      this.applied.wait(rs.index).then(w.resolve, w.reject);
    }
  }

  private apply(ents: readonly Entry[]): void {
    const outcomes = this.storage.noteApplied(ents);
    this.proposals.settle(ents, this.storage.log, outcomes);
  }

  private afterAdvance(rd: Ready): void {
    const last = rd.committedEntries[rd.committedEntries.length - 1];
    const idx = this.storage.appliedIndex;
    if (last !== undefined || rd.snapshot !== undefined) {
      this.applied.advance(idx);
      this.appliedListeners.emit(idx);
    }
  }

  private noteSoftState(leader: NodeId | null, role: Role): void {
    const changedLeader = leader !== this.leader;
    const wasLeader = this.role === 'leader';
    this.leader = leader;
    this.role = role;
    if (role === 'candidate') this.stats.elections++;
    if (changedLeader) this.stats.leaderChanges++;
    if (wasLeader && role !== 'leader') {
      // Queued proposals never reached the core: refuse them now, the client retries at the new leader.
      this.proposals.rejectQueued(new RaftNotLeaderError(leader));
    }
    const t = this.raw.status().term;
    this.log.info({ id: this.id, leader, role, term: t }, 'raft: leader or role changed');
    this.leaderListeners.emit({ leader, role, term: t });
  }

  private clearTimers(): void {
    this.timers?.stop();
  }

  private failAll(e: Error): void {
    this.proposals.failAll(e);
    for (const [ctx, w] of this.reads) {
      this.reads.delete(ctx);
      w.reject(e);
    }
    this.applied.failAll(e);
  }

  /** A storage failure (fsync error, invariant breach) is fatal: stop serving rather than risk safety. */
  private die(err: Error): void {
    this.fatal = err;
    this.log.error({ id: this.id, err }, 'raft: fatal error; the node stops');
    this.clearTimers();
    this.failAll(err);
    this.fatalListeners.emit(err);
  }
}
