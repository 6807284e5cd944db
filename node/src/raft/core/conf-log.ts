/**
 * The configuration in force (Raft thesis §4.1): a server uses the latest configuration in
 * its log, whether or not that entry is committed, and when a conflicting append truncates
 * a config entry it falls back to the previous one (the one before it in the log, or the
 * committed configuration). The committed configuration — the latest config entry at or
 * below the commit index — is tracked beside it, because that is what is persisted with
 * the hard state and what snapshots record.
 *
 * Why not "takes effect when committed" (etcd's apply-time rule)? That rule is only safe
 * when a node's log and its knowledge of the commit index are persisted atomically: a node
 * holding config entry C(k+1) must know C(k) committed, so its configuration is never more
 * than one change behind its log. Our shell writes the log and the stable state in two
 * writes; a crash between them left logs holding C(k+2) with votes counted in C(k-1), whose
 * majorities need not intersect (issue 13). Deriving the configuration from the log makes
 * the stable state's copy a cache that a crash cannot make dangerous.
 */
import { decodeConfEntry } from './conf-codec.js';
import { ctx, type RaftState } from './state.js';
import { confState, setConf } from './tracker.js';
import { logIndex, type ConfState, type Entry } from './types.js';

/** The configuration in force: the latest config entry in the log, else the committed configuration. */
export function activeConf(r: RaftState): ConfState {
  return r.uncommittedConf[r.uncommittedConf.length - 1]?.conf ?? r.committedConf;
}

const sorted = (xs: readonly string[]): string => [...xs].sort().join(',');

/** True when two configurations have the same voters and learners. */
export function sameConf(a: ConfState, b: ConfState): boolean {
  return sorted(a.voters) === sorted(b.voters) && sorted(a.learners) === sorted(b.learners);
}

/**
 * Tracks config entries just appended to our log (by the leader, a follower's append, or
 * the log found on restart) and forgets tracked entries that a conflicting append replaced
 * (same index, different term), then puts the resulting configuration in force.
 */
export function noteConfEntries(r: RaftState, entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  r.uncommittedConf = r.uncommittedConf.filter((c) => r.log.term(c.index) === c.term);
  for (const e of entries) {
    if (e.type !== 'config' || r.log.term(e.index) !== e.term) continue;
    if (r.uncommittedConf.some((c) => c.index === e.index)) continue;
    r.uncommittedConf.push({ index: e.index, term: e.term, conf: decodeConfEntry(e.data).conf });
    if (e.index > r.pendingConfIndex) r.pendingConfIndex = e.index;
  }
  r.uncommittedConf.sort((a, b) => a.index - b.index);
  refreshConf(r);
}

/** Makes the tracker follow {@link activeConf}; a transferee that is no longer a voter cancels the transfer. */
export function refreshConf(r: RaftState): void {
  const want = activeConf(r);
  if (sameConf(want, confState(r.tracker))) return;
  setConf(r.tracker, want, logIndex(r.log.lastIndex() + 1));
  if (r.leadTransferee !== null && !r.tracker.voters.has(r.leadTransferee)) r.leadTransferee = null;
  r.logger.info(
    { ...ctx(r), voters: want.voters.join(' '), learners: want.learners.join(' ') },
    'configuration in force changed',
  );
}

/**
 * Moves config entries now at or below the commit index into the committed configuration.
 * Returns true when it changed (Ready.confState must then be persisted with the hard state).
 */
export function commitConfEntries(r: RaftState): boolean {
  let changed = false;
  while (r.uncommittedConf.length > 0 && (r.uncommittedConf[0]?.index ?? Infinity) <= r.log.committed) {
    const c = r.uncommittedConf.shift();
    if (c === undefined || r.log.term(c.index) !== c.term) continue;
    r.committedConf = c.conf;
    changed = true;
    r.logger.info(
      { ...ctx(r), index: c.index, voters: c.conf.voters.join(' '), learners: c.conf.learners.join(' ') },
      'configuration committed',
    );
  }
  if (changed) r.confChanged = true;
  return changed;
}
