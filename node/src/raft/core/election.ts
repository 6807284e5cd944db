/**
 * Leader election (Raft §5.2, §5.4.1) with pre-vote (thesis §9.6) and the leader lease
 * that check-quorum gives (thesis §6.2): vote requests, vote handling and counting.
 */
import { becomeCandidate, becomeFollower, becomeLeader, becomePreCandidate } from './roles.js';
import { ctx, promotable, send, type RaftState } from './state.js';
import { voteResult } from './tracker.js';
import { term as toTerm, type Message } from './types.js';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

/**
 * Starts an election if this node may lead: a pre-vote round first when enabled, unless
 * `transfer` (TimeoutNow from the leader, thesis §3.10) asks for an immediate campaign.
 */
export function hup(r: RaftState, transfer = false): void {
  if (r.role === 'leader') return;
  if (!promotable(r)) {
    r.logger.debug(ctx(r), 'not promotable, ignoring election timeout');
    return;
  }
  campaign(r, r.cfg.preVote && !transfer ? 'pre' : 'real', transfer);
}

function campaign(r: RaftState, kind: 'pre' | 'real', transfer: boolean): void {
  if (kind === 'pre') becomePreCandidate(r);
  else becomeCandidate(r);
  const voteTerm = toTerm(kind === 'pre' ? r.term + 1 : r.term);
  r.tracker.votes.set(r.id, true);
  if (voteResult(r.tracker) === 'won') {
    // Single-voter cluster: no one to ask.
    if (kind === 'pre') campaign(r, 'real', transfer);
    else becomeLeader(r);
    return;
  }
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  for (const id of [...r.tracker.voters].sort()) {
    if (id === r.id) continue;
    if (kind === 'pre') send(r, { type: 'preVote', to: id, term: voteTerm, lastIndex, lastTerm });
    else send(r, { type: 'vote', to: id, term: voteTerm, lastIndex, lastTerm, transfer });
  }
}

/**
 * Re-sends a pre-candidate's pre-vote to each voter that has not answered it. A voter ignores
 * a pre-vote without a word while it is within its leader lease (step.ts), and its lease can
 * outlast ours by a tick or more (the nodes' ticks are not in phase, a loaded node's ticks
 * run late): without a repeat the pre-candidate would wait a whole randomized election
 * timeout more for a vote that the voter would grant a moment later, and the cluster would
 * stay leaderless twice as long after its leader died. Pre-votes change no state anywhere
 * (thesis §9.6), so a repeat cannot disrupt a live leader: a voter that hears from one still
 * ignores it. (etcd-io/raft does not repeat them; this is a departure.)
 */
export function resendPreVotes(r: RaftState): void {
  if (r.role !== 'preCandidate') return;
  const voteTerm = toTerm(r.term + 1);
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  for (const id of [...r.tracker.voters].sort()) {
    if (id === r.id || r.tracker.votes.has(id)) continue;
    send(r, { type: 'preVote', to: id, term: voteTerm, lastIndex, lastTerm });
  }
}

/**
 * False for a node that knows no configuration at all: a new node that no leader has added
 * yet, or one whose storage was wiped (issue 12). Such a node may have voted in this very
 * term before it lost its disk, so its vote is worth nothing; it votes again only once a
 * leader has given it a configuration (through the log or a snapshot). No real voter is in
 * this state: a voter is promoted only after it has caught up, configuration included.
 */
function knowsAConfiguration(r: RaftState): boolean {
  return r.tracker.voters.size > 0 || r.tracker.learners.size > 0;
}

/**
 * Answers a (pre-)vote request whose term is not stale. Grants when we have not voted for
 * someone else this term (or, for pre-votes, the proposed term is ahead of ours) and the
 * candidate's log is at least as up-to-date as ours (Raft §5.4.1), and never from a node that
 * knows no configuration ({@link knowsAConfiguration}). A real vote is granted
 * only after it is persisted: the response goes out after the Ready's hard state.
 */
export function handleVoteRequest(r: RaftState, m: Msg<'preVote'> | Msg<'vote'>): void {
  const canVote =
    r.vote === m.from || (r.vote === null && r.lead === null) || (m.type === 'preVote' && m.term > r.term);
  const granted = canVote && knowsAConfiguration(r) && r.log.isUpToDate(m.lastIndex, m.lastTerm);
  const respType = m.type === 'preVote' ? 'preVoteResp' : 'voteResp';
  r.logger.info({ ...ctx(r), type: m.type, from: m.from, candidateTerm: m.term, granted }, 'vote request');
  if (granted) {
    send(r, { type: respType, to: m.from, term: m.term, granted: true });
    if (m.type === 'vote') {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    send(r, { type: respType, to: m.from, granted: false });
  }
}

/** Counts a (pre-)vote response while campaigning; wins, loses or keeps waiting. */
export function handleVoteResp(r: RaftState, m: Msg<'preVoteResp'> | Msg<'voteResp'>): void {
  const expected = r.role === 'preCandidate' ? 'preVoteResp' : r.role === 'candidate' ? 'voteResp' : null;
  if (m.type !== expected) return;
  r.tracker.votes.set(m.from, m.granted);
  const res = voteResult(r.tracker);
  if (res === 'won') {
    if (r.role === 'preCandidate') campaign(r, 'real', false);
    else becomeLeader(r);
  } else if (res === 'lost') {
    becomeFollower(r, r.term, null);
  }
}
