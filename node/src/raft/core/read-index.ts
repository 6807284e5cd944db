/**
 * ReadIndex linearizable reads (Raft thesis §6.4): the leader records its commit index,
 * confirms it is still leader with a heartbeat round acknowledged by a quorum, then
 * answers; the reader serves the read once it has applied up to that index. A new
 * leader first waits until an entry of its own term is committed (its no-op), because
 * only then is its commit index known to be current.
 */
import { noteHeartbeatAck } from './progress.js';
import { bcastHeartbeat, sendAppend } from './replication.js';
import { send, type RaftState } from './state.js';
import { quorumIndex } from './tracker.js';
import type { LogIndex, Message, NodeId, ReadIndexResult } from './types.js';

/** True once the leader has committed an entry of its current term. */
export function committedInTerm(r: RaftState): boolean {
  return r.log.term(r.log.committed) === r.term;
}

/** Handles a read request from the application (`from` = self) or forwarded by a follower. */
export function requestRead(r: RaftState, readCtx: string, from: NodeId): ReadIndexResult {
  if (r.role !== 'leader') {
    if (r.lead === null || from !== r.id) return { ok: false, reason: 'no-leader' };
    send(r, { type: 'readIndex', to: r.lead, ctx: readCtx });
    return { ok: true };
  }
  if (!committedInTerm(r)) {
    r.readsAwaitingCommit.push({ ctx: readCtx, from });
    return { ok: true };
  }
  if (r.tracker.voters.size === 1 && r.tracker.voters.has(r.id)) {
    answer(r, readCtx, from, r.log.committed);
    return { ok: true };
  }
  r.readSeq++;
  r.pendingReads.push({ ctx: readCtx, from, index: r.log.committed, seq: r.readSeq });
  bcastHeartbeat(r, r.readSeq);
  return { ok: true };
}

/** Leader: processes reads that arrived before the first commit of this term. */
export function releaseReadsAwaitingCommit(r: RaftState): void {
  if (r.role !== 'leader' || r.readsAwaitingCommit.length === 0 || !committedInTerm(r)) return;
  const waiting = r.readsAwaitingCommit;
  r.readsAwaitingCommit = [];
  for (const w of waiting) requestRead(r, w.ctx, w.from);
}

/** Leader: a heartbeat acknowledgement — liveness for check-quorum, a read-round ack, and a nudge to replicate. */
export function handleHeartbeatResp(r: RaftState, m: Extract<Message, { type: 'heartbeatResp' }>): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  // Resend only when the outstanding appends are presumed lost, and then a smaller batch
  // (progress.ts noteHeartbeatAck); never a fresh full-size append per heartbeat.
  if (noteHeartbeatAck(pr) || pr.match < r.log.lastIndex()) sendAppend(r, m.from);
  if (m.readSeq > pr.readAck) pr.readAck = m.readSeq;
  const acked = quorumIndex(r.tracker, (id) => (id === r.id ? r.readSeq : (r.tracker.progress.get(id)?.readAck ?? 0)));
  while (r.pendingReads.length > 0 && (r.pendingReads[0]?.seq ?? Infinity) <= acked) {
    const rd = r.pendingReads.shift();
    if (rd !== undefined) answer(r, rd.ctx, rd.from, rd.index);
  }
}

/** Follower: the leader answered a forwarded read. */
export function handleReadIndexResp(r: RaftState, m: Extract<Message, { type: 'readIndexResp' }>): void {
  r.readStates.push({ index: m.index, ctx: m.ctx });
}

function answer(r: RaftState, readCtx: string, from: NodeId, index: LogIndex): void {
  if (from === r.id) r.readStates.push({ index, ctx: readCtx });
  else send(r, { type: 'readIndexResp', to: from, ctx: readCtx, index });
}
