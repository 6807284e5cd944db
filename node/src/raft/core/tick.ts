/**
 * The logical clock: election timeouts for followers and candidates; heartbeats,
 * check-quorum (thesis §6.2), transfer timeouts and snapshot chunk resends for leaders.
 */
import { hup, resendPreVotes } from './election.js';
import { bcastHeartbeat } from './replication.js';
import { becomeFollower } from './roles.js';
import { sendSnapshotChunk } from './snapshot.js';
import { ctx, promotable, type RaftState } from './state.js';
import { quorum } from './tracker.js';

/** Advances the clock by one tick. */
export function tick(r: RaftState): void {
  if (r.role === 'leader') tickLeader(r);
  else tickElection(r);
}

function tickElection(r: RaftState): void {
  r.electionElapsed++;
  // A node that cannot campaign (a learner, or removed by its latest configuration) keeps
  // counting: its leader lease (step.ts) must end an election timeout after it last heard
  // from the leader, as etcd's tickElection does. Resetting the clock here without a
  // campaign restarted the lease every round, so it ignored candidates for good, and a
  // cluster that counts it as a voter could elect no one (simulator seed 1092649130).
  if (!promotable(r)) return;
  if (r.electionElapsed >= r.randomizedElectionTimeout) {
    r.electionElapsed = 0;
    hup(r);
  } else if (r.role === 'preCandidate' && r.electionElapsed % r.cfg.heartbeatTicks === 0) {
    // Every heartbeat interval, to the voters that have not answered (election.ts).
    resendPreVotes(r);
  }
}

function tickLeader(r: RaftState): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.cfg.electionTicks) {
    r.electionElapsed = 0;
    if (r.cfg.checkQuorum && !quorumActive(r)) {
      r.logger.warn(ctx(r), 'lost contact with a quorum, stepping down');
      becomeFollower(r, r.term, null);
      return;
    }
    if (r.leadTransferee !== null) {
      r.logger.info({ ...ctx(r), to: r.leadTransferee }, 'leadership transfer timed out');
      r.leadTransferee = null;
    }
  }
  if (r.heartbeatElapsed >= r.cfg.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r, r.readSeq);
    for (const [id, pr] of r.tracker.progress) if (pr.state === 'snapshot') sendSnapshotChunk(r, id);
  }
}

/** Counts voters heard from since the last round (self included) and resets the marks. */
function quorumActive(r: RaftState): boolean {
  let active = 0;
  for (const id of r.tracker.voters) {
    const pr = r.tracker.progress.get(id);
    if (id === r.id || pr?.recentActive === true) active++;
    if (pr !== undefined && id !== r.id) pr.recentActive = false;
  }
  return active >= quorum(r.tracker);
}
