/**
 * The progress tracker: the current configuration, per-member progress and the votes of
 * an election, with majority arithmetic (etcd-io/raft tracker/ and quorum/).
 */
import { newProgress, type Progress } from './progress.js';
import { logIndex, type ConfChange, type ConfState, type LogIndex, type NodeId } from './types.js';

/** Configuration plus per-member progress and votes. */
export interface Tracker {
  voters: Set<NodeId>;
  learners: Set<NodeId>;
  readonly progress: Map<NodeId, Progress>;
  readonly votes: Map<NodeId, boolean>;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
}

/** A tracker for a configuration, with fresh progress for every member. */
export function newTracker(cs: ConfState, maxInflightMsgs: number, maxInflightBytes: number): Tracker {
  const t: Tracker = {
    voters: new Set(),
    learners: new Set(),
    progress: new Map(),
    votes: new Map(),
    maxInflightMsgs,
    maxInflightBytes,
  };
  setConf(t, cs, logIndex(1));
  return t;
}

/** Replaces the configuration, keeping progress of members that remain. */
export function setConf(t: Tracker, cs: ConfState, next: LogIndex): void {
  t.voters = new Set(cs.voters);
  t.learners = new Set(cs.learners);
  for (const id of [...t.progress.keys()]) if (!isMember(t, id)) t.progress.delete(id);
  for (const id of [...cs.voters, ...cs.learners]) {
    if (!t.progress.has(id)) t.progress.set(id, newProgress(next, t.maxInflightMsgs, t.maxInflightBytes));
  }
}

/** The configuration as plain data, voters and learners sorted for determinism. */
export function confState(t: Tracker): ConfState {
  return { voters: [...t.voters].sort(), learners: [...t.learners].sort() };
}

/** True for voters and learners. */
export function isMember(t: Tracker, id: NodeId): boolean {
  return t.voters.has(id) || t.learners.has(id);
}

/** Votes needed to win: a strict majority of voters (Raft §5.2). */
export function quorum(t: Tracker): number {
  return Math.floor(t.voters.size / 2) + 1;
}

/**
 * The largest index replicated on a majority of voters, according to `matchOf`
 * (the k-th largest value, k = quorum). 0 with no voters.
 */
export function quorumIndex(t: Tracker, matchOf: (id: NodeId) => number): number {
  const vals = [...t.voters].map(matchOf).sort((a, b) => b - a);
  return vals[quorum(t) - 1] ?? 0;
}

/** The committed index per the voters' match indexes. */
export function committedIndex(t: Tracker): LogIndex {
  return logIndex(quorumIndex(t, (id) => t.progress.get(id)?.match ?? 0));
}

/** Outcome of an election so far. */
export type VoteResult = 'won' | 'lost' | 'pending';

/** Counts recorded votes among current voters. */
export function voteResult(t: Tracker): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const id of t.voters) {
    const v = t.votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const q = quorum(t);
  if (granted >= q) return 'won';
  if (t.voters.size - rejected < q) return 'lost';
  return 'pending';
}

/**
 * Validates a single-server change against the configuration it applies to; returns an
 * error string or null. Rules: learners are added first, promoted once present, and the
 * last voter is never removed.
 */
export function checkConfChange(cs: ConfState, cc: ConfChange): string | null {
  const isVoter = cs.voters.includes(cc.node);
  const isLearner = cs.learners.includes(cc.node);
  switch (cc.type) {
    case 'addLearner':
      return isVoter || isLearner ? `${cc.node} is already a member` : null;
    case 'promote':
      return isLearner ? null : `${cc.node} is not a learner`;
    case 'remove':
      if (!isVoter && !isLearner) return `${cc.node} is not a member`;
      return isVoter && cs.voters.length === 1 ? 'cannot remove the last voter' : null;
  }
}

/** The configuration after applying `cc` (assumed valid per {@link checkConfChange}; otherwise unchanged). */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState {
  if (checkConfChange(cs, cc) !== null) return cs;
  const voters = cs.voters.filter((v) => v !== cc.node);
  const learners = cs.learners.filter((v) => v !== cc.node);
  if (cc.type === 'addLearner') learners.push(cc.node);
  if (cc.type === 'promote') voters.push(cc.node);
  // Storage ids follow membership: an addition sets (or, without one, clears) the member's,
  // a removal drops it, a promotion keeps it.
  const storage = new Map(Object.entries(cs.storage ?? {}));
  if (cc.type === 'remove' || cc.type === 'addLearner') storage.delete(cc.node);
  if (cc.type === 'addLearner' && cc.storage !== undefined) storage.set(cc.node, cc.storage);
  return { voters: voters.sort(), learners: learners.sort(), ...storageField(storage) };
}

/** `{ storage }` with keys sorted (deterministic encodings), or `{}` when there is none. */
export function storageField(m: ReadonlyMap<string, string>): { storage?: Readonly<Record<string, string>> } {
  if (m.size === 0) return {};
  return { storage: Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}
