/**
 * Message dispatch: the term rules every message obeys first (Raft §5.1: a higher term
 * makes us follow it, a lower term is refused), then the per-role handlers. `settle`
 * runs after every input to apply committed configuration changes and release reads.
 */
import { handleVoteRequest, handleVoteResp, hup } from './election.js';
import { applyCommittedConf } from './membership.js';
import { handleHeartbeatResp, handleReadIndexResp, releaseReadsAwaitingCommit, requestRead } from './read-index.js';
import { handleAppend, handleAppendResp, handleHeartbeat } from './replication.js';
import { becomeFollower } from './roles.js';
import { handleSnapshotChunk, handleSnapshotResp } from './snapshot.js';
import { ctx, promotable, send, type RaftState } from './state.js';
import { logIndex, term as toTerm, type Message } from './types.js';

/** Processes one received message. */
export function stepMessage(r: RaftState, m: Message): void {
  if (m.term > r.term) {
    if (m.type === 'vote' || m.type === 'preVote') {
      // Leader lease (thesis §4.2.3/§6.2): while we hear from a leader, ignore disruptive
      // candidates, unless the leader itself asked for the election (transfer).
      const inLease = r.cfg.checkQuorum && r.lead !== null && r.electionElapsed < r.cfg.electionTicks;
      const transfer = m.type === 'vote' && m.transfer;
      if (inLease && !transfer) {
        r.logger.info({ ...ctx(r), from: m.from, candidateTerm: m.term }, 'ignoring vote request within leader lease');
        return;
      }
    }
    if (m.type === 'preVote' || (m.type === 'preVoteResp' && m.granted)) {
      // Pre-votes carry a future term and never change ours (thesis §9.6).
    } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
      becomeFollower(r, m.term, m.from);
    } else {
      becomeFollower(r, m.term, null);
    }
  } else if (m.term < r.term) {
    if ((r.cfg.checkQuorum || r.cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
      // A stale leader (e.g. healed from a partition) learns our term and steps down.
      send(r, {
        type: 'appendResp',
        to: m.from,
        success: false,
        index: logIndex(0),
        hintIndex: logIndex(0),
        hintTerm: toTerm(0),
      });
    } else if (m.type === 'preVote') {
      send(r, { type: 'preVoteResp', to: m.from, granted: false });
    }
    return;
  }

  switch (m.type) {
    case 'preVote':
    case 'vote':
      handleVoteRequest(r, m);
      return;
    case 'preVoteResp':
    case 'voteResp':
      handleVoteResp(r, m);
      return;
    case 'append':
    case 'heartbeat':
    case 'snapshot':
      if (r.role === 'leader') return; // same-term leader: impossible by election safety
      if (r.role !== 'follower') becomeFollower(r, r.term, m.from);
      r.electionElapsed = 0;
      r.lead = m.from;
      if (m.type === 'append') handleAppend(r, m);
      else if (m.type === 'heartbeat') handleHeartbeat(r, m);
      else handleSnapshotChunk(r, m);
      return;
    case 'appendResp':
      if (r.role === 'leader') handleAppendResp(r, m);
      return;
    case 'heartbeatResp':
      if (r.role === 'leader') handleHeartbeatResp(r, m);
      return;
    case 'snapshotResp':
      if (r.role === 'leader') handleSnapshotResp(r, m);
      return;
    case 'timeoutNow':
      if (r.role === 'follower' && promotable(r)) {
        r.logger.info({ ...ctx(r), from: m.from }, 'received timeoutNow, campaigning');
        hup(r, true);
      }
      return;
    case 'readIndex':
      if (r.role === 'leader') requestRead(r, m.ctx, m.from);
      return;
    case 'readIndexResp':
      handleReadIndexResp(r, m);
      return;
  }
}

/** Post-input bookkeeping: committed config changes take effect; reads waiting for a term commit proceed. */
export function settle(r: RaftState): void {
  applyCommittedConf(r);
  releaseReadsAwaitingCommit(r);
}
