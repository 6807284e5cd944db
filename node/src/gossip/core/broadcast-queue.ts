/**
 * Retransmit-limited broadcast queue (memberlist `TransmitLimitedQueue`): membership
 * updates waiting to be piggybacked on probes and gossip. A newer update about the same
 * member replaces the older one; each update is sent at most `limit` times, least-sent
 * first, so fresh news spreads before stale news (SWIM §4.1 infection-style dissemination).
 */
import { messageSize } from './codec.js';
import { type Message, type NodeName } from './types.js';

interface Item {
  readonly key: NodeName;
  readonly msg: Message;
  readonly size: number;
  readonly id: number;
  transmits: number;
}

/** The queue; mutable, owned by one core. */
export class BroadcastQueue {
  private items: Item[] = [];
  private nextId = 0;

  /** Queues `msg` about member `key`, replacing any queued update about the same member. */
  queue(key: NodeName, msg: Message): void {
    this.items = this.items.filter((i) => i.key !== key);
    this.items.push({ key, msg, size: messageSize(msg), id: this.nextId++, transmits: 0 });
  }

  /** Number of queued broadcasts. */
  get length(): number {
    return this.items.length;
  }

  /** True while an update about `key` is still queued. */
  has(key: NodeName): boolean {
    return this.items.some((i) => i.key === key);
  }

  /**
   * Takes broadcasts whose encoded sizes fit in `budget` bytes (at most `maxCount`),
   * counting one transmission for each and dropping those that reached `limit`.
   */
  take(budget: number, limit: number, maxCount: number): Message[] {
    if (this.items.length === 0 || budget <= 0) return [];
    const order = [...this.items].sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Message[] = [];
    let used = 0;
    for (const item of order) {
      if (out.length >= maxCount) break;
      if (used + item.size > budget) continue;
      used += item.size;
      out.push(item.msg);
      item.transmits++;
    }
    if (out.length > 0) this.items = this.items.filter((i) => i.transmits < limit);
    return out;
  }
}
