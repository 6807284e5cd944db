/**
 * Messages that leave at the end of the current event-loop turn rather than at once: the
 * leader's appends that carry nothing but a new commit index (issue 15, the c=1 trace in
 * docs/benchmarks.md). When a follower's ack commits a record, the Ready that applies it
 * also holds those appends; sent first, their TLS writes (one per follower) came before the
 * caller's answer was even made, and the answer's HTTP/2 write waits for the end of the turn
 * anyway (Node runs it as an immediate). Sent from a `setImmediate` they follow it: Node
 * runs its own immediates (the HTTP/2 writes) before the script's.
 *
 * Why that is safe: no caller waits on these appends (followers learn the commit one turn
 * later); Raft tolerates them arriving after later messages (a stale append is answered and
 * ignored by the leader's progress); one dropped at a stop is lost like any message.
 */
import type { Message } from '../core/types.js';

/** An append without entries: what a leader sends when only its commit index moved. */
export const isCommitOnly = (m: Message): boolean => m.type === 'append' && m.entries.length === 0;

/** Collects messages during a turn and sends them all in one `send` at its end. */
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

  /** Queues `msgs` for the end of this turn. */
  push(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const first = this.queued.length === 0;
    this.queued.push(...msgs);
    if (!first) return;
    setImmediate(() => {
      const out = this.queued;
      this.queued = [];
      if (this.open()) this.send(out);
    });
  }
}
