/**
 * Structural validation of received messages. Transports decode bytes into messages; a
 * peer with a bug (or a corrupted frame that passed the codec) must get a clear refusal,
 * not crash the node or corrupt its log. Returns a description of the first problem, or
 * null for a well-formed message. Protocol-level staleness is not checked here.
 */
import type { Message } from './types.js';

const isIndex = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Checks one message's shape and internal consistency. */
export function checkMessage(m: Message): string | null {
  if (typeof m.from !== 'string' || m.from === '' || typeof m.to !== 'string' || m.to === '') return 'missing from/to';
  if (m.from === m.to) return 'message from a node to itself';
  if (!isIndex(m.term)) return `invalid term ${String(m.term)}`;
  switch (m.type) {
    case 'preVote':
    case 'vote':
      if (!isIndex(m.lastIndex) || !isIndex(m.lastTerm)) return 'invalid last index/term';
      if (m.lastTerm > m.term) return `last term ${m.lastTerm} is above the campaign term ${m.term}`;
      return null;
    case 'append': {
      if (!isIndex(m.prevIndex) || !isIndex(m.prevTerm) || !isIndex(m.commit)) return 'invalid prev/commit';
      if (m.prevTerm > m.term) return `prev term ${m.prevTerm} is above the message term ${m.term}`;
      let prevTerm: number = m.prevTerm;
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i];
        if (e === undefined || e.index !== m.prevIndex + i + 1)
          return `entry ${i} has index ${String(e?.index)}, want ${m.prevIndex + i + 1}`;
        if (!isIndex(e.term) || e.term < prevTerm || e.term > m.term)
          return `entry ${e.index} has term ${e.term} outside [${prevTerm}, ${m.term}]`;
        if (e.type !== 'data' && e.type !== 'pdata' && e.type !== 'noop' && e.type !== 'config')
          return `entry ${e.index} has unknown type`;
        if (!(e.data instanceof Uint8Array)) return `entry ${e.index} has no data bytes`;
        prevTerm = e.term;
      }
      return null;
    }
    case 'appendResp':
      return isIndex(m.index) && isIndex(m.hintIndex) && isIndex(m.hintTerm) ? null : 'invalid index/hint';
    case 'heartbeat':
      return isIndex(m.commit) && isIndex(m.readSeq) ? null : 'invalid commit/readSeq';
    case 'heartbeatResp':
      return isIndex(m.readSeq) ? null : 'invalid readSeq';
    case 'snapshot': {
      const meta = m.meta;
      if (!isIndex(meta.index) || !isIndex(meta.term) || !isIndex(meta.size) || meta.index === 0)
        return 'invalid snapshot meta';
      if (!isIndex(m.offset) || !(m.data instanceof Uint8Array)) return 'invalid chunk';
      if (m.offset + m.data.byteLength > meta.size)
        return `chunk ends at ${m.offset + m.data.byteLength}, beyond size ${meta.size}`;
      if (m.done !== (m.offset + m.data.byteLength === meta.size)) return 'done flag disagrees with the chunk end';
      if (!Array.isArray(meta.confState.voters) || meta.confState.voters.length === 0) return 'snapshot without voters';
      return null;
    }
    case 'snapshotResp':
      return isIndex(m.snapIndex) && isIndex(m.nextOffset) ? null : 'invalid snapshot ack';
    case 'readIndexResp':
      return isIndex(m.index) && typeof m.ctx === 'string' ? null : 'invalid read index answer';
    case 'readIndex':
      return typeof m.ctx === 'string' ? null : 'invalid read ctx';
    case 'preVoteResp':
    case 'voteResp':
    case 'timeoutNow':
      return null;
    default:
      return `unknown message type ${String((m as { type?: unknown }).type)}`;
  }
}
