/**
 * Messages that leave two event-loop turns later rather than at once: the leader's appends
 * that carry nothing but a new commit index (issue 15, the c=1 trace in docs/benchmarks.md).
 * When a follower's ack commits a record, the Ready that applies it also holds those
 * appends. Sent at once, their TLS writes (one per follower) came before the caller's answer
 * was even made. And a unary gRPC answer takes two turns after the handler's callback:
 * grpc-js writes the message (HTTP/2 DATA, in Node's immediates at the end of the turn) and
 * sends the status trailers — what the client waits for — only from that write's callback,
 * in the next turn (grpc-node#2384). Sent from one `setImmediate` (after Node's own
 * immediates, so after the DATA), the appends' acks came back in time to be read in that
 * next turn, before the trailers: the trace showed the answer 0.21 ms later at p50. Sent
 * from a `setImmediate` inside a `setImmediate` they leave after the trailers, and the
 * followers learn the commit about one turn later.
 *
 * Why that is safe: no caller waits on these appends (followers learn the commit two turns
 * later); Raft tolerates them arriving after later messages (a stale append is answered and
 * ignored by the leader's progress); one dropped at a stop is lost like any message.
 */
import type { Message, Ready } from '../core/types.js';

/** An append without entries: what a leader sends when only its commit index moved. */
export const isCommitOnly = (m: Message): boolean => m.type === 'append' && m.entries.length === 0;

/** Collects messages during a turn and sends them all in one `send`, two turns later. */
export class AfterTurn {
  private queued: Message[] = [];

  /**
   * @param send the transport's send
   * @param open false once the node stopped or failed: what is queued then is dropped
   */
  constructor(
    private readonly send: (msgs: readonly Message[]) => void,
    private readonly open: () => boolean,
  ) {}

  /**
   * Step 2 of the loop (node/src/raft/README.md): sends `rd`'s early messages now, before
   * the persist (persisting first made the appends leave 0.13 ms later at p50 and the records
   * slower: docs/benchmarks.md, the c=1 trace). In a Ready with nothing to write that applies
   * entries, the appends without entries (a new commit index only, the leader's answer to a
   * follower's ack) are queued for two turns later instead, so the answers go first.
   */
  sendEarly(rd: Ready): void {
    const deferCommitOnly = rd.entries.length === 0 && rd.committedEntries.length > 0;
    const early = deferCommitOnly ? rd.earlyMessages.filter((m) => !isCommitOnly(m)) : rd.earlyMessages;
    if (early.length > 0) this.send(early);
    if (early.length < rd.earlyMessages.length) this.push(rd.earlyMessages.filter(isCommitOnly));
  }

  /** Queues `msgs` for the second turn from now. */
  push(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const first = this.queued.length === 0;
    this.queued.push(...msgs);
    if (!first) return;
    // The first hop ends this turn (after the answers' DATA); the second ends the next one
    // (after their trailers).
    setImmediate(() =>
      setImmediate(() => {
        const out = this.queued;
        this.queued = [];
        if (this.open()) this.send(out);
      }),
    );
  }
}
