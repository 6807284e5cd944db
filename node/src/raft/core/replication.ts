/**
 * Log replication (Raft §5.3): the leader's AppendEntries with pipelining and flow
 * control, the follower's consistency check with fast back-off hints, heartbeats, and
 * the leader's commit rule (§5.4.2: only entries of the current term are committed by
 * counting replicas; earlier ones commit with them).
 */
import {
  ackInflights,
  becomeProbe,
  becomeReplicate,
  isPaused,
  maybeDecrTo,
  maybeUpdate,
  noteAppendAck,
  sentEntries,
} from './progress.js';
import { noteConfEntries } from './conf-log.js';
import { startSnapshot } from './snapshot.js';
import { entrySize } from './storage.js';
import { send, type RaftState } from './state.js';
import { committedIndex } from './tracker.js';
import { logIndex, type Entry, type LogIndex, type Message, type NodeId } from './types.js';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

/**
 * Leader: sends the next append to `to` if its progress allows (probe: one at a time;
 * replicate: up to the in-flight limits). Switches to a snapshot when the entries are
 * compacted. With `sendIfEmpty` false, only sends when there are entries. Returns true
 * when something was sent.
 */
export function sendAppend(r: RaftState, to: NodeId, sendIfEmpty = true): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined || to === r.id || isPaused(pr)) return false;
  const prevIndex = logIndex(pr.next - 1);
  const prevTerm = r.log.term(prevIndex);
  if (prevTerm === undefined || pr.next < r.log.firstIndex()) return startSnapshot(r, to);
  // Batches are bounded by entries AND bytes (the shared wire limit, append-limits.ts),
  // halved per suspected loss (progress.ts batchShift).
  const maxCount = Math.max(1, Math.floor(r.cfg.maxEntryBatchCount / 2 ** pr.batchShift));
  const maxBytes = Math.max(1, Math.floor(r.cfg.maxEntryBatchBytes / 2 ** pr.batchShift));
  const hi = logIndex(Math.min(r.log.lastIndex(), pr.next + maxCount - 1) + 1);
  const entries: Entry[] = pr.next < hi ? r.log.slice(pr.next, hi, maxBytes) : [];
  if (entries.length === 0 && !sendIfEmpty) return false;
  let bytes = 0;
  for (const e of entries) bytes += entrySize(e);
  send(r, { type: 'append', to, prevIndex, prevTerm, entries, commit: r.log.committed });
  sentEntries(pr, logIndex(prevIndex + entries.length), entries.length, bytes);
  return true;
}

/** Leader: sends appends (new entries or just the commit index) to every other member. */
export function bcastAppend(r: RaftState): void {
  for (const id of r.tracker.progress.keys()) if (id !== r.id) sendAppend(r, id);
}

/**
 * Leader: appends new entries of the current term to its own log. The leader's own
 * progress is *not* advanced here: it counts itself only once the entries are durable
 * (RawNode.advance), so a commit never relies on an unwritten leader copy.
 */
export function leaderAppend(r: RaftState, ents: readonly { type: Entry['type']; data: Uint8Array }[]): LogIndex {
  let i = r.log.lastIndex();
  const full: Entry[] = ents.map((e) => ({ index: (i = logIndex(i + 1)), term: r.term, type: e.type, data: e.data }));
  r.log.append(full);
  noteConfEntries(r, full);
  return i;
}

/** Leader: sends a heartbeat carrying ReadIndex round `readSeq` to every other member. */
export function bcastHeartbeat(r: RaftState, readSeq: number): void {
  for (const [id, pr] of r.tracker.progress) {
    if (id === r.id) continue;
    const commit = logIndex(Math.min(pr.match, r.log.committed));
    send(r, { type: 'heartbeat', to: id, commit, readSeq });
  }
}

/** Leader: advances commit to the quorum-replicated index if it is from this term. Returns true if it moved. */
export function leaderMaybeCommit(r: RaftState): boolean {
  return r.log.maybeCommit(committedIndex(r.tracker), r.term);
}

/** Leader: handles an append response (success advances match; rejection backs off). */
export function handleAppendResp(r: RaftState, m: Msg<'appendResp'>): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  noteAppendAck(pr, m.success);
  if (!m.success) {
    // Fast back-off (etcd raft.go): skip every entry of the follower's conflicting term.
    const hint = m.hintTerm > 0 ? r.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
    if (maybeDecrTo(pr, m.index, hint)) {
      r.logger.debug(
        { id: r.id, term: r.term, from: m.from, rejected: m.index, next: pr.next },
        'append rejected, backing off',
      );
      if (pr.state === 'replicate') becomeProbe(pr);
      sendAppend(r, m.from);
    }
    return;
  }
  const wasPaused = isPaused(pr);
  if (!maybeUpdate(pr, m.index)) {
    if (pr.state === 'probe' && pr.match === m.index) pr.probeSent = false;
    else return;
  }
  if (pr.state === 'probe') becomeReplicate(pr);
  else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
    becomeProbe(pr);
    becomeReplicate(pr);
  } else if (pr.state === 'replicate') ackInflights(pr, m.index);

  if (leaderMaybeCommit(r)) bcastAppend(r);
  else if (wasPaused) sendAppend(r, m.from);
  // Pipelining: keep filling the window while there are entries.
  while (sendAppend(r, m.from, false));
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
    r.logger.info({ id: r.id, term: r.term, to: m.from }, 'transferee caught up, sending timeoutNow');
    send(r, { type: 'timeoutNow', to: m.from });
  }
}

/** Follower: the consistency check and append (Raft §5.3), with a fast back-off hint on rejection. */
export function handleAppend(r: RaftState, m: Msg<'append'>): void {
  const reply = (success: boolean, index: number, hintIndex = 0, hintTerm = 0): void =>
    send(r, {
      type: 'appendResp',
      to: m.from,
      success,
      index: logIndex(index),
      hintIndex: logIndex(hintIndex),
      hintTerm: hintTerm as Msg<'appendResp'>['hintTerm'],
    });
  if (m.prevIndex < r.log.committed) {
    // Our committed prefix matches the leader's (Log Matching); tell it where we are.
    reply(true, r.log.committed);
    return;
  }
  const lastNew = r.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    noteConfEntries(r, m.entries);
    reply(true, lastNew);
    return;
  }
  const hintIndex = r.log.findConflictByTerm(logIndex(Math.min(m.prevIndex, r.log.lastIndex())), m.prevTerm);
  const hintTerm = r.log.term(hintIndex) ?? 0;
  r.logger.debug(
    { id: r.id, term: r.term, prevIndex: m.prevIndex, prevTerm: m.prevTerm, hintIndex, hintTerm },
    'rejecting append',
  );
  reply(false, m.prevIndex, hintIndex, hintTerm);
}

/** Follower: heartbeat — adopt the commit index and acknowledge the read round. */
export function handleHeartbeat(r: RaftState, m: Msg<'heartbeat'>): void {
  r.log.commitTo(logIndex(Math.min(m.commit, r.log.lastIndex())));
  send(r, { type: 'heartbeatResp', to: m.from, readSeq: m.readSeq });
}
