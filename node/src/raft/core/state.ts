/**
 * The state record of one Raft node, shared by the behaviour modules (election.ts,
 * replication.ts, …), which are plain functions over it (STYLE.md 3), plus the tiny
 * helpers every module needs (sending, logging context).
 */
import type { RaftConfig } from './config.js';
import type { RaftLogger, Rng } from './env.js';
import type { RaftLog } from './raft-log.js';
import type { Tracker } from './tracker.js';
import type {
  ConfState,
  LogIndex,
  Message,
  NodeId,
  ReadState,
  Role,
  SnapshotChunk,
  SnapshotMeta,
  Term,
} from './types.js';

/** A ReadIndex request waiting for a heartbeat quorum (thesis §6.4). */
export interface PendingRead {
  readonly ctx: string;
  /** Who asked: this node, or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly index: LogIndex;
  readonly seq: number;
}

/** Counters exported as metrics by the shell (ARCHITECTURE observability). */
export interface RaftCounters {
  electionsStarted: number;
  preVotesStarted: number;
  leaderChanges: number;
  stepDowns: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  proposalsDropped: number;
}

/** Everything one node knows; mutated only by the core's modules. */
export interface RaftState {
  readonly id: NodeId;
  readonly cfg: RaftConfig;
  readonly rng: Rng;
  readonly logger: RaftLogger;
  readonly log: RaftLog;
  readonly tracker: Tracker;
  term: Term;
  vote: NodeId | null;
  lead: NodeId | null;
  role: Role;
  electionElapsed: number;
  heartbeatElapsed: number;
  randomizedElectionTimeout: number;
  /** Target of an ongoing leadership transfer (thesis §3.10). */
  leadTransferee: NodeId | null;
  /** Index of the latest config entry appended or found in the uncommitted log (one change in flight). */
  pendingConfIndex: LogIndex;
  /**
   * Config entries in the log above `log.committed`, oldest first. The last one is the
   * configuration in force (thesis §4.1, see conf-log.ts); they move to `committedConf` as they commit.
   */
  uncommittedConf: { index: LogIndex; term: Term; conf: ConfState }[];
  /** The configuration of the latest config entry at or below `log.committed` (or the snapshot's / bootstrap one). */
  committedConf: ConfState;
  /** Set when the committed configuration changed and must be persisted (Ready.confState). */
  confChanged: boolean;
  readSeq: number;
  pendingReads: PendingRead[];
  /** ReadIndex requests received before this leader committed an entry of its term. */
  readsAwaitingCommit: { ctx: string; from: NodeId }[];
  readStates: ReadState[];
  /** Snapshot being received: which one and the next byte expected. */
  snapIn: { meta: SnapshotMeta; next: number } | null;
  snapChunks: SnapshotChunk[];
  /** Leader: payload bytes proposed in this term and not yet handed out as committed (flow control). */
  uncommittedBytes: number;
  /** Proposals were appended since the last Ready: replicate them in one batch per follower. */
  needBcast: boolean;
  /** Messages to send after persistence. */
  msgs: Message[];
  /** Leader replication messages that may go out in parallel with the leader's write. */
  earlyMsgs: Message[];
  readonly counters: RaftCounters;
}

/** Distributes the Message union over an envelope-less shape so `send` can fill in from/term. */
type Unenveloped<M> = M extends Message ? Omit<M, 'from' | 'term'> & { term?: Term } : never;

/**
 * Queues a message. Messages carry our term unless given; leader replication traffic
 * goes to the early queue (see Ready.earlyMessages), everything else waits for persistence.
 */
export function send(r: RaftState, m: Unenveloped<Message>): void {
  const full = { ...m, from: r.id, term: m.term ?? r.term } as Message;
  const early =
    r.role === 'leader' &&
    (full.type === 'append' || full.type === 'heartbeat' || full.type === 'snapshot' || full.type === 'timeoutNow');
  (early ? r.earlyMsgs : r.msgs).push(full);
}

/** Standard log fields for this node. */
export function ctx(r: RaftState): { id: string; term: number } {
  return { id: r.id, term: r.term };
}

/** True when this node may become leader: a voter with no snapshot pending installation. */
export function promotable(r: RaftState): boolean {
  return r.tracker.voters.has(r.id) && r.log.unstableSnapshot() === null;
}
