/**
 * Single-server membership changes with learners (Raft thesis §4.1–4.2): add a learner,
 * let it catch up, promote it; remove a member. One change at a time: a new change is
 * accepted only when no config entry is uncommitted and the leader has committed an
 * entry of its own term (the fix for the single-server change bug, thesis §4.1 note).
 * A change takes effect as soon as its entry is in a server's log, committed or not
 * (thesis §4.1; conf-log.ts explains why); the committed configuration is persisted with
 * the hard state (Ready.confState). A leader that removed itself steps down once the
 * removal commits (thesis §4.2.2).
 */
import { encodeConfEntry } from './conf-codec.js';
import { activeConf, commitConfEntries } from './conf-log.js';
import { committedInTerm } from './read-index.js';
import { bcastAppend, leaderAppend, leaderMaybeCommit } from './replication.js';
import { becomeFollower } from './roles.js';
import { ctx, type RaftState } from './state.js';
import { applyConfChange, checkConfChange, confState } from './tracker.js';
import type { ConfChange, ProposeResult } from './types.js';

/** Leader: validates and appends a configuration change. */
export function proposeConfChange(r: RaftState, cc: ConfChange): ProposeResult {
  if (r.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: r.lead };
  if (r.leadTransferee !== null) return { ok: false, reason: 'transferring', leaderHint: r.lead };
  if (r.uncommittedConf.length > 0 || r.pendingConfIndex > r.log.committed) {
    return { ok: false, reason: 'conf-change-pending', pendingIndex: r.pendingConfIndex };
  }
  if (!committedInTerm(r)) {
    return { ok: false, reason: 'not-ready', detail: 'leader has not committed an entry of its term yet' };
  }
  const err = checkConfChange(confState(r.tracker), cc);
  if (err !== null) return { ok: false, reason: 'invalid-conf-change', detail: err };
  const pr = r.tracker.progress.get(cc.node);
  if (cc.type === 'promote' && (pr === undefined || pr.match < r.log.committed)) {
    // Promoting a learner that is behind would make it a voter that cannot help commit (availability, thesis §4.2.1).
    return {
      ok: false,
      reason: 'invalid-conf-change',
      detail: `learner ${cc.node} has not caught up (match ${pr?.match ?? 0} < commit ${r.log.committed})`,
    };
  }
  // From the configuration in force, not the tracker's copy: it also carries the members' storage ids.
  const conf = applyConfChange(activeConf(r), cc);
  // leaderAppend puts the new configuration in force (conf-log.ts): a shrunk quorum may commit more.
  const index = leaderAppend(r, [{ type: 'config', data: encodeConfEntry({ change: cc, conf }) }]);
  r.pendingConfIndex = index;
  r.logger.info(
    {
      ...ctx(r),
      change: cc.type,
      node: cc.node,
      index,
      ...(cc.type === 'addLearner' && cc.storage ? { storage: cc.storage } : {}),
    },
    'proposed configuration change',
  );
  leaderMaybeCommit(r);
  bcastAppend(r);
  return { ok: true, index, term: r.term };
}

/**
 * Records configuration entries that are now committed (Ready.confState). A leader whose
 * removal committed steps down (it led the cluster without counting itself meanwhile).
 */
export function applyCommittedConf(r: RaftState): void {
  if (!commitConfEntries(r)) return;
  if (r.role === 'leader' && !r.tracker.voters.has(r.id)) {
    r.logger.info(ctx(r), 'removed from the configuration, stepping down');
    becomeFollower(r, r.term, null);
  }
}
