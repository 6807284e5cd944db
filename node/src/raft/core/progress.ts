/**
 * Progress: the leader's view of one follower's log (etcd-io/raft tracker/progress.go).
 *
 * - `probe`: we do not know where the follower's log matches; send one append per
 *   heartbeat interval and wait for the answer (back off with the conflict hint).
 * - `replicate`: the follower is caught up to `match`; stream appends optimistically up
 *   to the in-flight limits (pipelining).
 * - `snapshot`: the follower needs entries we compacted; stream the snapshot and wait.
 */
import { addInflight, freeInflightsTo, inflightsFull, newInflights, resetInflights, type Inflights } from './inflights.js';
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
  readonly inflights: Inflights;
}

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
 */
export function maybeDecrTo(p: Progress, rejected: LogIndex, hint: LogIndex): boolean {
  if (p.state === 'replicate') {
    if (rejected <= p.match) return false;
    p.next = logIndex(p.match + 1);
    return true;
  }
  if (p.next - 1 !== rejected) return false;
  p.next = logIndex(Math.max(Math.min(rejected, hint + 1), p.match + 1, 1));
  p.probeSent = false;
  return true;
}

/** Frees in-flight messages acknowledged up to `n`. */
export function ackInflights(p: Progress, n: LogIndex): void {
  freeInflightsTo(p.inflights, n);
}
