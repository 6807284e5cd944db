/**
 * Role transitions (Raft §5.2, Figure 2 "Rules for Servers"): follower, pre-candidate,
 * candidate, leader. Each transition resets the volatile per-term state.
 */
import { newProgress } from './progress.js';
import { bcastAppend, leaderAppend } from './replication.js';
import { ctx, type RaftState } from './state.js';
import { logIndex, term as toTerm, type NodeId, type Term } from './types.js';

/** Draws a new election timeout in [electionTicks, 2·electionTicks) (Raft §5.2). */
export function resetElectionTimeout(r: RaftState): void {
  r.randomizedElectionTimeout = r.cfg.electionTicks + r.rng.nextInt(r.cfg.electionTicks);
}

function reset(r: RaftState, t: Term): void {
  if (r.term !== t) {
    r.term = t;
    r.vote = null;
  }
  r.lead = null;
  r.electionElapsed = 0;
  r.heartbeatElapsed = 0;
  resetElectionTimeout(r);
  r.leadTransferee = null;
  r.tracker.votes.clear();
  const next = logIndex(r.log.lastIndex() + 1);
  for (const id of r.tracker.progress.keys()) {
    const p = newProgress(next, r.cfg.maxInflightMsgs, r.cfg.maxInflightBytes);
    if (id === r.id) p.match = r.log.stableLastIndex();
    r.tracker.progress.set(id, p);
  }
  r.pendingReads = [];
  r.readsAwaitingCommit = [];
  r.uncommittedBytes = 0;
}

/** Becomes a follower in term `t`, following `lead` if known. */
export function becomeFollower(r: RaftState, t: Term, lead: NodeId | null): void {
  if (r.role === 'leader') r.counters.stepDowns++;
  reset(r, t);
  r.role = 'follower';
  r.lead = lead;
  r.logger.info({ ...ctx(r), lead }, 'became follower');
}

/** Becomes a pre-candidate: polls voters for term + 1 without changing the term (thesis §9.6). */
export function becomePreCandidate(r: RaftState): void {
  r.role = 'preCandidate';
  r.lead = null;
  r.tracker.votes.clear();
  r.counters.preVotesStarted++;
  r.logger.info(ctx(r), 'became pre-candidate');
}

/** Becomes a candidate: increments the term and votes for itself (Raft §5.2). */
export function becomeCandidate(r: RaftState): void {
  reset(r, toTerm(r.term + 1));
  r.role = 'candidate';
  r.vote = r.id;
  r.counters.electionsStarted++;
  r.logger.info(ctx(r), 'became candidate');
}

/**
 * Becomes leader: appends a no-op entry of the new term, whose commitment also commits
 * every earlier entry (Raft §5.4.2, §8), and starts replicating it.
 */
export function becomeLeader(r: RaftState): void {
  reset(r, r.term);
  r.role = 'leader';
  r.lead = r.id;
  r.counters.leaderChanges++;
  const self = r.tracker.progress.get(r.id);
  if (self !== undefined) self.state = 'replicate';
  let pending = 0;
  for (const c of r.uncommittedConf) pending = Math.max(pending, c.index);
  r.pendingConfIndex = logIndex(pending);
  leaderAppend(r, [{ type: 'noop', data: new Uint8Array(0) }]);
  r.logger.info({ ...ctx(r), lastIndex: r.log.lastIndex() }, 'became leader');
  bcastAppend(r);
}
