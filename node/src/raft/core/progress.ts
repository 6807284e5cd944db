/**
 * Progress: the leader's view of one follower's log (etcd-io/raft tracker/progress.go).
 *
 * - `probe`: we do not know where the follower's log matches; send one append per
 *   heartbeat interval and wait for the answer (back off with the conflict hint).
 * - `replicate`: the follower is caught up to `match`; stream appends optimistically up
 *   to the in-flight limits (pipelining).
 * - `snapshot`: the follower needs entries we compacted; stream the snapshot and wait.
 */
import {
  addInflight,
  freeInflightsTo,
  inflightsFull,
  newInflights,
  resetInflights,
  type Inflights,
} from './inflights.js';
import { logIndex, type LogIndex, type SnapshotMeta } from './types.js';

/** The replication state of one follower, as seen by the leader. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Mutable per-follower bookkeeping (owned by the leader's tracker). */
export interface Progress {
  /** Highest index known to be replicated (and durable) on the follower. */
  match: LogIndex;
  /** Next index to send. */
  next: LogIndex;
  state: ProgressState;
  /** Probe state: one append was sent this heartbeat interval; wait. */
  probeSent: boolean;
  /** Snapshot state: the snapshot being streamed and the next offset the follower expects. */
  pendingSnapshot: SnapshotMeta | null;
  snapshotOffset: number;
  /** Heard from since the last check-quorum round (thesis §6.2). */
  recentActive: boolean;
  /** Highest ReadIndex round the follower has acknowledged (thesis §6.4). */
  readAck: number;
  /**
   * Heartbeat acknowledgements received while appends were outstanding and no append
   * response came back: the follower is alive but our appends are not getting through
   * (lost, or refused by its frame check). See {@link noteHeartbeatAck}.
   */
  heartbeatsWithoutAppendAck: number;
  /**
   * Append batches to this follower are `cfg` limits ÷ 2^batchShift: each suspected lost or
   * refused append halves the next one, each answered append doubles it back, so a frame
   * that does not get through is never resent unchanged (issue 12).
   */
  batchShift: number;
  readonly inflights: Inflights;
}

/**
 * Heartbeat acknowledgements without an append response after which a pipelined window
 * counts as lost. On one ordered connection a follower answers an append before any later
 * heartbeat; the margin covers heartbeats already in flight when the append left.
 */
export const LOST_AFTER_HEARTBEATS = 3;

/** The largest {@link Progress.batchShift} (batches of one entry long before this). */
export const MAX_BATCH_SHIFT = 24;

/** A progress record for a follower whose log we know nothing about. */
export function newProgress(next: LogIndex, maxMsgs: number, maxBytes: number): Progress {
  return {
    match: logIndex(0),
    next,
    state: 'probe',
    probeSent: false,
    pendingSnapshot: null,
    snapshotOffset: 0,
    recentActive: false,
    readAck: 0,
    heartbeatsWithoutAppendAck: 0,
    batchShift: 0,
    inflights: newInflights(maxMsgs, maxBytes),
  };
}

function resetState(p: Progress, state: ProgressState): void {
  p.state = state;
  p.probeSent = false;
  p.pendingSnapshot = null;
  p.snapshotOffset = 0;
  resetInflights(p.inflights);
}

/** Enters probe state; after a snapshot, resumes right after it. */
export function becomeProbe(p: Progress): void {
  const snap = p.state === 'snapshot' ? p.pendingSnapshot : null;
  resetState(p, 'probe');
  p.next = logIndex(Math.max(p.match + 1, snap === null ? 0 : snap.index + 1));
}

/** Enters replicate state: pipeline from match + 1. */
export function becomeReplicate(p: Progress): void {
  resetState(p, 'replicate');
  p.next = logIndex(p.match + 1);
}

/** Enters snapshot state for `meta`. */
export function becomeSnapshot(p: Progress, meta: SnapshotMeta): void {
  resetState(p, 'snapshot');
  p.pendingSnapshot = meta;
}

/** True when nothing more may be sent to this follower right now. */
export function isPaused(p: Progress): boolean {
  switch (p.state) {
    case 'probe':
      return p.probeSent;
    case 'replicate':
      return inflightsFull(p.inflights);
    case 'snapshot':
      return true;
  }
}

/** Records that an append ending at `last` with `bytes` of payload was sent. */
export function sentEntries(p: Progress, last: LogIndex, count: number, bytes: number): void {
  if (p.state === 'replicate') {
    if (count > 0) {
      p.next = logIndex(last + 1);
      addInflight(p.inflights, last, bytes);
    }
  } else if (p.state === 'probe') {
    p.probeSent = true;
  }
}

/** A successful append response up to `n`: returns true if `match` moved (a stale ack returns false). */
export function maybeUpdate(p: Progress, n: LogIndex): boolean {
  let updated = false;
  if (p.match < n) {
    p.match = n;
    updated = true;
    p.probeSent = false;
  }
  p.next = logIndex(Math.max(p.next, n + 1));
  return updated;
}

/**
 * A rejected append of `rejected` (its prevIndex) with the follower's hint `hint`:
 * moves `next` back. Returns false for a stale rejection (etcd progress.MaybeDecrTo).
 *
 * A follower that lost entries it had acknowledged (its log tail was damaged and cut when
 * it restarted, issue 12) answers a probe with a hint below `match`. A follower that still
 * holds its acknowledged prefix never does: its entry at `match` has the leader's term
 * there, which is at most the probe's prevTerm, so its hint is at least `match`. etcd keeps
 * `next` above `match`, and then the leader probes `match + 1` forever and the follower
 * never catches up; here `match` moves down to the hint and the leader refills the follower
 * from there. Only this follower's progress moves: the commit index never goes back, and
 * everything it covers is on the leader. (A late duplicate of an old rejection can lower
 * `match` too; that only costs a resend of entries the follower accepts again.)
 */
export function maybeDecrTo(p: Progress, rejected: LogIndex, hint: LogIndex): boolean {
  if (p.state === 'replicate') {
    if (rejected <= p.match) return false;
    p.next = logIndex(p.match + 1);
    return true;
  }
  if (p.next - 1 !== rejected) return false;
  if (hint < p.match) p.match = hint;
  p.next = logIndex(Math.max(Math.min(rejected, hint + 1), p.match + 1, 1));
  p.probeSent = false;
  return true;
}

/** True while appends to this follower are outstanding (a probe or a pipelined window). */
export function awaitingAppendAck(p: Progress): boolean {
  return (p.state === 'probe' && p.probeSent) || (p.state === 'replicate' && p.inflights.indexes.length > 0);
}

/**
 * A heartbeat acknowledgement arrived: the follower is alive. Returns true when the caller
 * should resend because the outstanding appends are presumed lost or refused:
 *
 * - probe with its one append unanswered: resend now (as etcd does), but half as big;
 * - replicate with {@link LOST_AFTER_HEARTBEATS} acknowledgements since the last append
 *   response: reset the window to a probe from `match + 1`, half as big.
 *
 * So a heartbeat never triggers a fresh full-size append while one is in flight, and a frame
 * that did not get through is never resent unchanged (issue 12: a leader resending a 1 MiB
 * append on every heartbeat to a follower that refused it grew to gigabytes). A window that
 * is merely full waits for its acknowledgements (it is bounded by the in-flight limits).
 */
export function noteHeartbeatAck(p: Progress): boolean {
  if (!awaitingAppendAck(p)) return false;
  if (p.state === 'replicate') {
    p.heartbeatsWithoutAppendAck++;
    if (p.heartbeatsWithoutAppendAck < LOST_AFTER_HEARTBEATS) return false;
    becomeProbe(p);
  }
  p.heartbeatsWithoutAppendAck = 0;
  p.batchShift = Math.min(p.batchShift + 1, MAX_BATCH_SHIFT);
  p.probeSent = false;
  return true;
}

/** An append response (accepted or rejected) arrived: the path works; batches grow back. */
export function noteAppendAck(p: Progress, accepted: boolean): void {
  p.heartbeatsWithoutAppendAck = 0;
  if (accepted && p.batchShift > 0) p.batchShift--;
}

/** Frees in-flight messages acknowledged up to `n`. */
export function ackInflights(p: Progress, n: LogIndex): void {
  freeInflightsTo(p.inflights, n);
}
