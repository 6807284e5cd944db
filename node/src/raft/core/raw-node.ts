/**
 * RawNode: the public face of the Raft core (etcd-io/raft rawnode.go). Feed it ticks,
 * messages and proposals; collect a {@link Ready}; persist, send and apply it as the loop
 * in node/src/raft/README.md says; then `advance`. Single-threaded and synchronous: the
 * shell owns the only reference and calls it from one loop.
 */
import { validateRaftConfig, type RaftConfig } from './config.js';
import { hup } from './election.js';
import { silentLogger, type RaftLogger, type Rng } from './env.js';
import { RaftUsageError } from './errors.js';
import { proposeConfChange } from './membership.js';
import { checkMessage } from './message-check.js';
import { maybeUpdate } from './progress.js';
import { RaftLog } from './raft-log.js';
import { requestRead } from './read-index.js';
import { activeConf, noteConfEntries } from './conf-log.js';
import { bcastAppend, leaderAppend, leaderMaybeCommit, sendAppend } from './replication.js';
import { becomeFollower } from './roles.js';
import type { RaftCounters, RaftState } from './state.js';
import { settle, stepMessage } from './step.js';
import type { Storage } from './storage.js';
import { tick } from './tick.js';
import { transferLeadership } from './transfer.js';
import { newTracker } from './tracker.js';
import {
  isUserEntry,
  logIndex,
  type ConfChange,
  type ConfState,
  type HardState,
  type LogIndex,
  type Message,
  type NodeId,
  type ProposeResult,
  type ReadIndexResult,
  type UserEntry,
  type Ready,
  type Role,
  type SoftState,
  type StepResult,
  type Term,
  type TransferResult,
} from './types.js';
import type { ProgressState } from './progress.js';

/** What a RawNode is built from. */
export interface RawNodeOptions {
  readonly config: RaftConfig;
  readonly storage: Storage;
  /** Seeded in simulation; seeded from real entropy by the shell. */
  readonly rng: Rng;
  readonly logger?: RaftLogger;
  /** Highest index the application has already applied (restart); defaults to the snapshot index. */
  readonly applied?: LogIndex;
}

/** A follower's replication state as seen by the leader (for metrics: lag = lastIndex - match). */
export interface FollowerStatus {
  readonly id: NodeId;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: ProgressState;
  readonly lag: number;
  readonly recentActive: boolean;
  /** Payload bytes of appends sent and not yet acknowledged (bounded by `maxInflightBytes`). */
  readonly inflightBytes: number;
}

/** A snapshot of the node's state for metrics, admin APIs and tests. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly lead: NodeId | null;
  readonly role: Role;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  /** The committed configuration (what is persisted with the hard state; members as the cluster has agreed). */
  readonly confState: ConfState;
  /** The configuration in force: the latest in the log, committed or not (thesis §4.1); elections and commitment count it. */
  readonly activeConf: ConfState;
  readonly leadTransferee: NodeId | null;
  /** Present on the leader only. */
  readonly progress?: readonly FollowerStatus[];
  readonly counters: Readonly<RaftCounters>;
}

/** One Raft node's protocol state machine. */
export class RawNode {
  private readonly r: RaftState;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private awaitingAdvance = false;

  constructor(opts: RawNodeOptions) {
    const cfg = validateRaftConfig(opts.config);
    const init = opts.storage.initialState();
    const log = new RaftLog(opts.storage, init.hardState.commit, opts.applied);
    this.r = {
      id: cfg.id,
      cfg,
      rng: opts.rng,
      logger: opts.logger ?? silentLogger,
      log,
      tracker: newTracker(init.confState, cfg.maxInflightMsgs, cfg.maxInflightBytes),
      term: init.hardState.term,
      vote: init.hardState.vote,
      lead: null,
      role: 'follower',
      electionElapsed: 0,
      heartbeatElapsed: 0,
      randomizedElectionTimeout: cfg.electionTicks,
      leadTransferee: null,
      pendingConfIndex: logIndex(0),
      uncommittedConf: [],
      committedConf: init.confState,
      confChanged: false,
      readSeq: 0,
      pendingReads: [],
      readsAwaitingCommit: [],
      readStates: [],
      snapIn: null,
      snapChunks: [],
      needBcast: false,
      uncommittedBytes: 0,
      msgs: [],
      earlyMsgs: [],
      counters: {
        electionsStarted: 0,
        preVotesStarted: 0,
        leaderChanges: 0,
        stepDowns: 0,
        snapshotsSent: 0,
        snapshotsInstalled: 0,
        proposalsDropped: 0,
      },
    };
    const vote = this.r.vote;
    becomeFollower(this.r, this.r.term, null);
    this.r.vote = vote;
    // Config entries above the persisted commit are in force at once (thesis §4.1): the
    // configuration comes from the log, so a lost stable-state write cannot make it stale.
    if (log.lastIndex() > log.committed)
      noteConfEntries(
        this.r,
        log.slice(logIndex(log.committed + 1), logIndex(log.lastIndex() + 1), Number.MAX_SAFE_INTEGER),
      );
    this.prevSoft = this.softState();
    this.prevHard = this.hardState();
  }

  /** Advances the logical clock by one tick (the shell calls this every tick interval). */
  tick(): void {
    tick(this.r);
    settle(this.r);
  }

  /** Feeds one received message. Messages addressed to another node, or malformed (see message-check.ts), are refused. */
  step(m: Message): StepResult {
    if (m.to !== this.r.id) return { ok: false, reason: 'wrong-recipient' };
    const bad = checkMessage(m);
    if (bad !== null) {
      this.r.logger.warn(
        { id: this.r.id, from: String(m.from), type: String(m.type), problem: bad },
        'refusing malformed message',
      );
      return { ok: false, reason: 'malformed', detail: bad };
    }
    stepMessage(this.r, m);
    settle(this.r);
    return { ok: true };
  }

  /** Starts an election now (tests, or an operator forcing one); ignored by non-voters. */
  campaign(): void {
    hup(this.r);
    settle(this.r);
  }

  /**
   * Proposes one data record. Proposals made between two Ready calls are replicated
   * together (batching). `ok` means appended at (index, term), not committed.
   */
  propose(data: Uint8Array): ProposeResult {
    return this.proposeBatch([data]);
  }

  /** Proposes several records at once; they get consecutive indexes. The result names the last. */
  proposeBatch(datas: readonly Uint8Array[]): ProposeResult {
    return this.proposeEntries(datas.map((data) => ({ type: 'data' as const, data })));
  }

  /** Proposes user records of either type (`data`, `pdata`) at consecutive indexes; the result names the last. */
  proposeEntries(ents: readonly UserEntry[]): ProposeResult {
    const datas = ents.map((e) => e.data);
    const r = this.r;
    if (r.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: r.lead };
    if (r.leadTransferee !== null) return { ok: false, reason: 'transferring', leaderHint: r.lead };
    let bytes = 0;
    for (const d of datas) {
      if (d.byteLength > r.cfg.maxProposalBytes)
        return { ok: false, reason: 'too-large', size: d.byteLength, limit: r.cfg.maxProposalBytes };
      bytes += d.byteLength;
    }
    const limit = r.cfg.maxUncommittedBytes;
    if (limit > 0 && r.uncommittedBytes > 0 && r.uncommittedBytes + bytes > limit) {
      // As etcd's MaxUncommittedEntriesSize: always admit into an empty window, so one big batch cannot wedge.
      r.counters.proposalsDropped += datas.length;
      return { ok: false, reason: 'overloaded', uncommittedBytes: r.uncommittedBytes, limit };
    }
    r.uncommittedBytes += bytes;
    if (datas.length === 0) return { ok: true, index: r.log.lastIndex(), term: r.term };
    const index = leaderAppend(
      r,
      ents.map((e) => ({ type: e.type, data: e.data })),
    );
    r.needBcast = true;
    return { ok: true, index, term: r.term };
  }

  /** Proposes a single-server membership change (see membership.ts for the rules). */
  proposeConfChange(cc: ConfChange): ProposeResult {
    const res = proposeConfChange(this.r, cc);
    settle(this.r);
    return res;
  }

  /** Starts a leadership transfer to voter `to`. */
  transferLeadership(to: NodeId): TransferResult {
    return transferLeadership(this.r, to);
  }

  /** Requests a linearizable read point; the answer arrives as a ReadState carrying `ctx`. */
  readIndex(ctx: string): ReadIndexResult {
    return requestRead(this.r, ctx, this.r.id);
  }

  /** True when `ready()` has something to hand out. */
  hasReady(): boolean {
    const r = this.r;
    if (this.awaitingAdvance) return false;
    const soft = this.softState();
    const hard = this.hardState();
    return (
      r.needBcast ||
      soft.leader !== this.prevSoft.leader ||
      soft.role !== this.prevSoft.role ||
      !sameHard(hard, this.prevHard) ||
      r.confChanged ||
      r.log.unstableEntries().length > 0 ||
      r.log.unstableSnapshot() !== null ||
      r.snapChunks.length > 0 ||
      r.msgs.length > 0 ||
      r.earlyMsgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommitted()
    );
  }

  /**
   * Collects the pending work. Must be followed by `advance(ready)` before the next call.
   * @throws RaftUsageError when the previous Ready was not advanced.
   */
  ready(): Ready {
    if (this.awaitingAdvance) throw new RaftUsageError('ready() called again before advance()');
    const r = this.r;
    if (r.needBcast) {
      r.needBcast = false;
      if (r.role === 'leader') for (const id of r.tracker.progress.keys()) if (id !== r.id) sendAppend(r, id, false);
    }
    const soft = this.softState();
    const hard = this.hardState();
    const softChanged = soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
    const hardChanged = !sameHard(hard, this.prevHard);
    const entries = [...r.log.unstableEntries()];
    const snapshot = r.log.unstableSnapshot() ?? undefined;
    const rd: Ready = {
      ...(softChanged ? { softState: soft } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      ...(r.confChanged ? { confState: r.committedConf } : {}),
      entries,
      snapshotChunks: r.snapChunks,
      ...(snapshot !== undefined ? { snapshot } : {}),
      committedEntries: r.log.hasNextCommitted() ? r.log.nextCommitted(r.cfg.maxApplyBytes) : [],
      messages: r.msgs,
      earlyMessages: r.earlyMsgs,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote,
    };
    r.msgs = [];
    r.earlyMsgs = [];
    r.readStates = [];
    r.snapChunks = [];
    r.confChanged = false;
    this.prevSoft = soft;
    this.prevHard = hard;
    this.awaitingAdvance = true;
    return rd;
  }

  /**
   * Acknowledges that `rd` was handled: its state and entries are durable, its snapshot
   * installed and its committed entries applied. The leader now counts its own copy.
   */
  advance(rd: Ready): void {
    if (!this.awaitingAdvance) throw new RaftUsageError('advance() without a pending ready()');
    this.awaitingAdvance = false;
    const r = this.r;
    if (rd.snapshot !== undefined) {
      r.log.stableSnapTo(rd.snapshot.index);
      if (r.log.applied < rd.snapshot.index) r.log.applied = rd.snapshot.index;
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) {
      r.log.stableTo(last.index, last.term);
      const self = r.tracker.progress.get(r.id);
      if (r.role === 'leader' && self !== undefined && r.log.term(last.index) === last.term) {
        maybeUpdate(self, logIndex(Math.min(last.index, r.log.stableLastIndex())));
        if (leaderMaybeCommit(r)) bcastAppend(r);
      }
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) r.log.appliedTo(lastApplied.index);
    if (r.role === 'leader' && r.uncommittedBytes > 0) {
      for (const e of rd.committedEntries)
        if (isUserEntry(e.type) && e.term === r.term) r.uncommittedBytes -= e.data.byteLength;
      if (r.uncommittedBytes < 0) r.uncommittedBytes = 0;
    }
    settle(r);
  }

  /**
   * The storage id that the configuration in force records for member `id`
   * ({@link ConfState.storage}; undefined: not a member, or added without one). Cheap: the
   * transport asks it for every inbound message.
   */
  memberStorage(id: NodeId): string | undefined {
    return activeConf(this.r).storage?.[id];
  }

  /** The node's current state (cheap; for metrics, admin and tests). */
  status(): RaftStatus {
    const r = this.r;
    const base = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      role: r.role,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      confState: r.committedConf,
      activeConf: activeConf(r),
      leadTransferee: r.leadTransferee,
      counters: { ...r.counters },
    };
    if (r.role !== 'leader') return base;
    const last = r.log.lastIndex();
    const progress = [...r.tracker.progress]
      .filter(([id]) => id !== r.id)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, p]) => ({
        id,
        match: p.match,
        next: p.next,
        state: p.state,
        lag: last - p.match,
        recentActive: p.recentActive,
        inflightBytes: p.inflights.bytes,
      }));
    return { ...base, progress };
  }

  /** Term of entry `i` in this node's log, durable or not; undefined if compacted or absent (for checkers and tools). */
  termAt(i: LogIndex): Term | undefined {
    return this.r.log.term(i);
  }

  private softState(): SoftState {
    return { leader: this.r.lead, role: this.r.role };
  }
  private hardState(): HardState {
    return { term: this.r.term, vote: this.r.vote, commit: this.r.log.committed };
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
