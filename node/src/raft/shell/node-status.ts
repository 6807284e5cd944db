/**
 * Observability of a RaftNode: the status record (admin API, metrics) and the leader-change
 * event its `onLeaderChange` subscribers receive (the agent wires the node's subscriptions to
 * prom-client). Metric names suggested to the server engineer are in the TSDoc of
 * {@link RaftNodeStatus} fields.
 */
import type { FollowerStatus, RaftStatus } from '../core/raw-node.js';
import type { LogIndex, NodeId, Role, Term } from '../core/types.js';
import type { SyncStats } from '../../log/index.js';
import type { TransportStats } from './transport.js';

/**
 * A leader or role change, as `RaftNode.onLeaderChange` reports it (gauge
 * `commitlog_raft_role`, counter `commitlog_raft_leader_changes_total`).
 */
export interface LeaderChange {
  /** The leader this node now knows of (null during an election). */
  readonly leader: NodeId | null;
  /** This node's role. */
  readonly role: Role;
  /** The term at the change. */
  readonly term: Term;
}

/** Counters kept by the runner. */
export interface NodeStats {
  proposals: number;
  elections: number;
  leaderChanges: number;
  snapshotsInstalled: number;
  compactions: number;
  fsyncs: number;
  fsyncMsTotal: number;
  fsyncMsLast: number;
  foreignClusterMessages: number;
  /** Ticks dropped because they piled up while the loop was busy (loop-inputs.ts). */
  ticksDropped: number;
}

/** Fresh zeroed counters. */
export function emptyStats(): NodeStats {
  return {
    proposals: 0,
    elections: 0,
    leaderChanges: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    fsyncs: 0,
    fsyncMsTotal: 0,
    fsyncMsLast: 0,
    foreignClusterMessages: 0,
    ticksDropped: 0,
  };
}

/** A member as reported by status(). `match`/`lag` are known on the leader only. */
export interface MemberStatus {
  readonly id: NodeId;
  readonly suffrage: 'voter' | 'learner';
  readonly match?: LogIndex;
  /** Leader's last index minus the member's match (gauge `commitlog_raft_follower_lag_entries{peer}`). */
  readonly lag?: number;
  readonly recentActive?: boolean;
  /** Leader only: append payload bytes in flight to this member (bounded by the core's `maxInflightBytes`). */
  readonly inflightBytes?: number;
}

/** What `RaftNode.status()` returns. */
export interface RaftNodeStatus {
  readonly id: NodeId;
  readonly clusterId: string;
  /** Gauge `commitlog_raft_term`. */
  readonly term: Term;
  readonly role: Role;
  readonly leader: NodeId | null;
  /** Gauges `commitlog_raft_commit_index`, `commitlog_raft_applied_index`, `commitlog_raft_last_index`. */
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly members: readonly MemberStatus[];
  /** Core counters (elections started, pre-votes, step-downs, snapshots sent…). */
  readonly core: RaftStatus['counters'];
  /** Runner counters (`commitlog_raft_proposals_total`, `_elections_total`, `_compactions_total`…). */
  readonly node: Readonly<NodeStats>;
  /** Transport counters (`commitlog_raft_transport_{sent,received,dropped,malformed}_total`). */
  readonly transport: TransportStats;
  /** Log fsync rounds. */
  readonly fsync: SyncStats;
}

/** Builds the status record from the core's status and the shell's counters. */
export function statusOf(
  s: RaftStatus,
  clusterId: string,
  node: NodeStats,
  transport: TransportStats,
  fsync: SyncStats,
): RaftNodeStatus {
  const prog = new Map<NodeId, FollowerStatus>((s.progress ?? []).map((p) => [p.id, p]));
  const member = (id: NodeId, suffrage: 'voter' | 'learner'): MemberStatus => {
    const p = prog.get(id);
    if (p === undefined) return { id, suffrage };
    return { id, suffrage, match: p.match, lag: p.lag, recentActive: p.recentActive, inflightBytes: p.inflightBytes };
  };
  return {
    id: s.id,
    clusterId,
    term: s.term,
    role: s.role,
    leader: s.lead,
    commit: s.commit,
    applied: s.applied,
    lastIndex: s.lastIndex,
    members: [
      ...s.confState.voters.map((id) => member(id, 'voter')),
      ...s.confState.learners.map((id) => member(id, 'learner')),
    ],
    core: s.counters,
    node: { ...node },
    transport,
    fsync,
  };
}
