/**
 * The inputs {@link RaftNode} queues while its loop is busy, and the order in which it feeds
 * them to the core between two Readys (node/src/raft/README.md, "The loop contract"):
 *
 * 1. the messages received meanwhile, in arrival order;
 * 2. the ticks that fired meanwhile, at most `tickCap` of them (shell-loop.ts
 *    `tickBurstCap`); the rest are dropped and counted;
 * 3. the requests queued by the API (read index, transfer, configuration changes), in order.
 *
 * (Proposals follow, fed by the proposal tracker.) Messages go before ticks because a tick
 * fed first can make a node act on a timeout that the messages already waiting would have
 * prevented: a follower campaigning with its leader's heartbeat unread, a leader failing
 * check-quorum with its followers' acks unread. See README.md "Ticks after a stall" for why
 * this order is safe and why dropping ticks keeps liveness.
 */
import type { Message } from '../core/types.js';

/**
 * The most ticks one feed hands to the core: one heartbeat interval (`heartbeatTicks`). Ticks
 * pile up while the loop awaits a persist (the tick timer keeps firing). After the messages
 * that arrived meanwhile, at most this many are fed and the rest dropped (etcd's node drops
 * ticks when its tick channel is full: "A tick missed to fire. Node blocks too long!"). So a
 * follower that has just read its leader's heartbeat is at most one heartbeat interval into
 * its election timeout, and a leader that has just read its followers' acks crosses at most
 * one check-quorum boundary, with those acks counted (`electionTicks` > `heartbeatTicks` is
 * validated by the core's config) — and a leader still sends a heartbeat on every feed that
 * reaches one.
 */
export function tickBurstCap(heartbeatTicks: number): number {
  return Math.max(1, heartbeatTicks);
}

/** The part of the core the inputs are fed to (RawNode satisfies it). */
export interface TickedCore {
  tick(): void;
  step(m: Message): unknown;
}

/** What one {@link LoopInputs.feed} handed to the core. */
export interface FeedCounts {
  readonly messages: number;
  readonly ticks: number;
  /** Ticks that had accumulated beyond the cap and were thrown away. */
  readonly ticksDropped: number;
}

/** The queue of a node's pending inputs; see the module comment for the feeding order. */
export class LoopInputs {
  private pendingTicks = 0;
  private inbox: Message[] = [];
  private actions: (() => void)[] = [];

  /**
   * @param tickCap the most ticks one feed hands to the core (≥ 1).
   * @param maxInbox messages queued beyond this are refused (Raft retransmits).
   */
  constructor(
    private readonly tickCap: number,
    private readonly maxInbox = 65536,
  ) {
    if (!Number.isSafeInteger(tickCap) || tickCap < 1)
      throw new RangeError(`tickCap must be a positive integer, got ${tickCap}`);
  }

  /** True when something waits to be fed. */
  get pending(): boolean {
    return this.pendingTicks > 0 || this.inbox.length > 0 || this.actions.length > 0;
  }

  /** Counts one tick of the tick timer. */
  tick(): void {
    this.pendingTicks++;
  }

  /** Queues a received message; false (and nothing queued) when the inbox is full. */
  receive(m: Message): boolean {
    if (this.inbox.length >= this.maxInbox) return false;
    this.inbox.push(m);
    return true;
  }

  /** Queues a request to run inside the loop, after the messages and ticks of its feed. */
  act(f: () => void): void {
    this.actions.push(f);
  }

  /** Feeds everything queued to `core` in the module comment's order. */
  feed(core: TickedCore): FeedCounts {
    const inbox = this.inbox;
    this.inbox = [];
    for (const m of inbox) core.step(m);
    const ticks = Math.min(this.pendingTicks, this.tickCap);
    const ticksDropped = this.pendingTicks - ticks;
    this.pendingTicks = 0;
    for (let i = 0; i < ticks; i++) core.tick();
    const actions = this.actions;
    this.actions = [];
    for (const a of actions) a();
    return { messages: inbox.length, ticks, ticksDropped };
  }
}
