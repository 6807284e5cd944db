/**
 * Single-server membership changes with learners (Raft thesis §4.1–4.2): add a learner,
 * let it catch up, promote it; remove a member. One change at a time: a new change is
 * accepted only when no config entry is uncommitted and the leader has committed an
 * entry of its own term (the fix for the single-server change bug, thesis §4.1 note).
 * A change takes effect when its entry commits (as etcd applies it at apply time); the
 * committed configuration is persisted with the hard state (Ready.confState).
 */
import { decodeConfEntry, encodeConfEntry } from './conf-codec.js';
import { committedInTerm } from './read-index.js';
import { bcastAppend, leaderAppend, leaderMaybeCommit } from './replication.js';
import { becomeFollower } from './roles.js';
import { ctx, type RaftState } from './state.js';
import { applyConfChange, checkConfChange, confState, isMember, setConf } from './tracker.js';
import { logIndex, type ConfChange, type ProposeResult } from './types.js';

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
    return { ok: false, reason: 'invalid-conf-change', detail: `learner ${cc.node} has not caught up (match ${pr?.match ?? 0} < commit ${r.log.committed})` };
  }
  const conf = applyConfChange(confState(r.tracker), cc);
  const index = leaderAppend(r, [{ type: 'config', data: encodeConfEntry({ change: cc, conf }) }]);
  r.pendingConfIndex = index;
  r.logger.info({ ...ctx(r), change: cc.type, node: cc.node, index }, 'proposed configuration change');
  bcastAppend(r);
  return { ok: true, index, term: r.term };
}

/**
 * Applies every configuration change whose entry is now committed. A leader that removed
 * itself steps down; a removed transferee cancels the transfer; a shrunk quorum may
 * commit more.
 */
export function applyCommittedConf(r: RaftState): void {
  let changed = false;
  while (r.uncommittedConf.length > 0 && (r.uncommittedConf[0]?.index ?? Infinity) <= r.log.committed) {
    const c = r.uncommittedConf.shift();
    if (c === undefined) break;
    const e = r.log.slice(c.index, logIndex(c.index + 1), Number.MAX_SAFE_INTEGER)[0];
    if (e === undefined || e.term !== c.term || e.type !== 'config') continue;
    const { change: cc, conf } = decodeConfEntry(e.data);
    setConf(r.tracker, conf, logIndex(r.log.lastIndex() + 1));
    r.confChanged = true;
    changed = true;
    r.logger.info({ ...ctx(r), change: cc.type, node: cc.node, index: c.index }, 'applied configuration change');
  }
  if (!changed) return;
  if (r.leadTransferee !== null && !r.tracker.voters.has(r.leadTransferee)) r.leadTransferee = null;
  if (r.role === 'leader') {
    if (!isMember(r.tracker, r.id) || !r.tracker.voters.has(r.id)) {
      r.logger.info(ctx(r), 'removed from the configuration, stepping down');
      becomeFollower(r, r.term, null);
      return;
    }
    if (leaderMaybeCommit(r)) bcastAppend(r);
    else bcastAppend(r);
  }
}
