/**
 * The in-memory transport (hashicorp/raft inmem_transport.go's role): real code used by
 * tests and benchmarks. A {@link MemoryNetwork} connects the transports of one process;
 * delivery is asynchronous (batched per event-loop turn) and can be disrupted with
 * {@link MemoryNetwork.partition}, {@link MemoryNetwork.isolate} and a drop filter.
 */
import type { Message, NodeId } from '../core/types.js';
import { type MessageHandler, type RaftTransport, type TransportStats, newTransportStats } from './transport.js';

/** Decides whether a message is dropped in flight (tests: loss, one-way partitions). */
export type DropFilter = (m: Message) => boolean;

/** A set of in-memory transports that can reach each other. */
export class MemoryNetwork {
  private readonly nodes = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();
  private filter: DropFilter | null = null;

  /** Creates (or replaces) the transport of node `id`, claiming `clusterId` on every message it sends. */
  transport(id: NodeId, clusterId: string, maxQueue = 4096): MemoryTransport {
    const t = new MemoryTransport(id, clusterId, this, maxQueue);
    this.nodes.set(id, t);
    return t;
  }

  /** Cuts the links between every node of `a` and every node of `b` (both directions). */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`).add(`${y}>${x}`);
  }

  /** Cuts `id` off from everybody. */
  isolate(id: NodeId): void {
    this.partition(
      [id],
      [...this.nodes.keys()].filter((n) => n !== id),
    );
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** Installs (or clears, with null) a filter that drops matching messages. */
  setDropFilter(f: DropFilter | null): void {
    this.filter = f;
  }

  /** @internal Delivers or drops one message; returns false when dropped. */
  route(m: Message, clusterId: string): boolean {
    const dst = this.nodes.get(m.to);
    if (
      dst === undefined ||
      dst.closed ||
      this.cut.has(`${m.from}>${m.to}`) ||
      (this.filter !== null && this.filter(m))
    )
      return false;
    dst.enqueue(m, clusterId);
    return true;
  }

  /** @internal */
  forget(t: MemoryTransport): void {
    if (this.nodes.get(t.id) === t) this.nodes.delete(t.id);
  }
}

/** One node's endpoint on a {@link MemoryNetwork}. */
export class MemoryTransport implements RaftTransport {
  private handler: MessageHandler | null = null;
  private inbox: { m: Message; clusterId: string }[] = [];
  private scheduled = false;
  private readonly counters = newTransportStats();
  /** True once closed. */
  closed = false;

  /** @internal Use {@link MemoryNetwork.transport}. */
  constructor(
    readonly id: NodeId,
    private readonly clusterId: string,
    private readonly net: MemoryNetwork,
    private readonly maxQueue: number,
  ) {}

  listen(handler: MessageHandler): void {
    this.handler = handler;
  }

  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    for (const m of msgs) {
      if (this.net.route(m, this.clusterId)) this.counters.sent++;
      else this.counters.droppedUnreachable++;
    }
  }

  /** @internal Queues an inbound message; delivered on a later event-loop turn. */
  enqueue(m: Message, clusterId: string): void {
    if (this.inbox.length >= this.maxQueue) {
      this.counters.droppedQueueFull++;
      return;
    }
    this.inbox.push({ m, clusterId });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.inbox;
    this.inbox = [];
    for (const { m, clusterId } of batch) {
      if (this.closed || this.handler === null) return;
      this.counters.received++;
      this.handler(m, clusterId);
    }
  }

  setPeer(): void {
    // Addresses are meaningless in memory: every node of the network is reachable by id.
  }
  removePeer(): void {}

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closed = true;
    this.inbox = [];
    this.net.forget(this);
    return Promise.resolve();
  }
}
