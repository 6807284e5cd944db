/**
 * Leadership transfer (Raft thesis §3.10): the leader stops accepting proposals, brings
 * the target up to date, then sends TimeoutNow so the target campaigns at once (without
 * pre-vote and past the leader lease). Aborted after one election timeout.
 */
import { sendAppend } from './replication.js';
import { ctx, send, type RaftState } from './state.js';
import type { NodeId, TransferResult } from './types.js';

/** Leader: starts transferring leadership to voter `to`. */
export function transferLeadership(r: RaftState, to: NodeId): TransferResult {
  if (r.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: r.lead };
  if (to === r.id) return { ok: false, reason: 'already-leader', target: to };
  if (!r.tracker.voters.has(to)) return { ok: false, reason: 'not-voter', target: to };
  if (r.leadTransferee !== null) return { ok: false, reason: 'in-progress', target: r.leadTransferee };
  r.leadTransferee = to;
  // The transfer must finish within an election timeout or it is abandoned (tick.ts).
  r.electionElapsed = 0;
  r.logger.info({ ...ctx(r), to }, 'transferring leadership');
  const pr = r.tracker.progress.get(to);
  if (pr !== undefined && pr.match === r.log.lastIndex()) send(r, { type: 'timeoutNow', to });
  else sendAppend(r, to);
  return { ok: true };
}
