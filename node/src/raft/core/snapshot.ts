/**
 * InstallSnapshot (Raft §7), streamed in chunks. The leader switches a follower whose
 * next entry is compacted to `snapshot` progress and sends the storage's snapshot data
 * chunk by chunk, stop-and-wait: each chunk is acknowledged with the next offset wanted,
 * lost chunks are resent on the heartbeat. The follower hands each chunk to the
 * application (Ready.snapshotChunks) and, after the last one, installs the snapshot
 * (Ready.snapshot) and answers with an append acknowledgement at the snapshot's index.
 */
import { becomeSnapshot } from './progress.js';
import { ctx, send, type RaftState } from './state.js';
import { refreshConf } from './conf-log.js';
import { logIndex, type Message, type NodeId } from './types.js';

/** Leader: starts streaming the current snapshot to `to`. */
export function startSnapshot(r: RaftState, to: NodeId): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined) return false;
  const meta = r.log.storageSnapshot();
  if (meta.index === 0) {
    r.logger.warn({ ...ctx(r), to }, 'follower needs a snapshot but storage has none');
    return false;
  }
  becomeSnapshot(pr, meta);
  r.counters.snapshotsSent++;
  r.logger.info({ ...ctx(r), to, index: meta.index, size: meta.size }, 'sending snapshot');
  return sendSnapshotChunk(r, to);
}

/** Leader: sends the chunk the follower is waiting for (first, acknowledged, or resent on heartbeat). */
export function sendSnapshotChunk(r: RaftState, to: NodeId): boolean {
  const pr = r.tracker.progress.get(to);
  const meta = pr?.pendingSnapshot;
  if (pr === undefined || meta === null || meta === undefined) return false;
  const data = r.log.storageSnapshotChunk(meta, pr.snapshotOffset, r.cfg.maxSnapshotChunkBytes);
  if (data === undefined) {
    // Storage took a newer snapshot meanwhile: restart the stream with it.
    return startSnapshot(r, to);
  }
  const done = pr.snapshotOffset + data.byteLength >= meta.size;
  send(r, { type: 'snapshot', to, meta, offset: pr.snapshotOffset, data, done });
  return true;
}

/** Leader: a follower acknowledged a chunk. */
export function handleSnapshotResp(r: RaftState, m: Extract<Message, { type: 'snapshotResp' }>): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (pr.state !== 'snapshot' || pr.pendingSnapshot?.index !== m.snapIndex) return;
  if (m.nextOffset === pr.snapshotOffset && m.nextOffset !== 0) return; // duplicate ack
  pr.snapshotOffset = m.nextOffset;
  sendSnapshotChunk(r, m.from);
}

/** Follower: receives a chunk; stages it, and installs the snapshot after the last one. */
export function handleSnapshotChunk(r: RaftState, m: Extract<Message, { type: 'snapshot' }>): void {
  const meta = m.meta;
  const ack = (): void =>
    send(r, {
      type: 'appendResp',
      to: m.from,
      success: true,
      index: r.log.committed,
      hintIndex: logIndex(0),
      hintTerm: r.term,
    });
  if (meta.index <= r.log.committed || r.log.matchTerm(meta.index, meta.term)) {
    // Nothing to install: we already have (and for matchTerm, will get committed) this prefix.
    r.snapIn = null;
    r.log.commitTo(meta.index <= r.log.committed ? r.log.committed : meta.index);
    ack();
    return;
  }
  if (r.log.unstableSnapshot() !== null) {
    // A received snapshot still waits to be installed; chunks of the next one would be
    // staged before it in the same Ready. Drop this chunk: the leader resends on heartbeat.
    r.logger.debug(
      { ...ctx(r), index: meta.index },
      'snapshot chunk deferred until the previous snapshot is installed',
    );
    return;
  }
  const cur = r.snapIn;
  const same = cur !== null && cur.meta.index === meta.index && cur.meta.term === meta.term;
  const expected = same ? cur.next : 0;
  if (m.offset !== expected) {
    send(r, { type: 'snapshotResp', to: m.from, snapIndex: meta.index, nextOffset: expected });
    return;
  }
  r.snapChunks.push({ meta, offset: m.offset, data: m.data, done: m.done });
  const next = m.offset + m.data.byteLength;
  if (!m.done) {
    r.snapIn = { meta, next };
    send(r, { type: 'snapshotResp', to: m.from, snapIndex: meta.index, nextOffset: next });
    return;
  }
  r.snapIn = null;
  r.log.restore(meta);
  // The log is replaced: the snapshot's configuration is both committed and in force.
  r.uncommittedConf = [];
  r.committedConf = meta.confState;
  refreshConf(r);
  r.pendingConfIndex = logIndex(0);
  r.confChanged = true;
  r.counters.snapshotsInstalled++;
  r.logger.info({ ...ctx(r), index: meta.index, term: meta.term }, 'installed snapshot');
  ack();
}
