/**
 * The transport interface between Raft nodes (hashicorp/raft transport.go's role): carries
 * the core's {@link Message} values unchanged. Implementations: transport-memory.ts (tests,
 * benchmarks, with drop/partition hooks) and transport-tcp.ts (TLS over the shared port).
 *
 * Contract: `send` never blocks and never throws for network reasons — a message that cannot
 * be delivered (peer unknown, queue full, connection down) is dropped and counted, because
 * Raft retransmits. Delivery is asynchronous: the handler is never called from inside `send`.
 */
import type { Message, NodeId } from '../core/types.js';

/** Called for every message received; `clusterId` is the sender's claimed cluster. */
export type MessageHandler = (m: Message, clusterId: string) => void;

/** Counters every transport keeps (exposed as metrics by the server). */
export interface TransportStats {
  readonly sent: number;
  readonly received: number;
  /** Messages dropped because the peer's send queue was full. */
  readonly droppedQueueFull: number;
  /** Messages dropped because the peer is unknown or unreachable. */
  readonly droppedUnreachable: number;
  /** Messages not sent because the receiver's frame check would refuse them (core/append-limits.ts). */
  readonly droppedOversize: number;
  /** Inbound connections or frames rejected as malformed. */
  readonly malformed: number;
  /** Inbound messages from another cluster id (refused by the node). */
  readonly foreignCluster: number;
  /**
   * Inbound messages dropped because the sender's connection carries a storage id other
   * than the one recorded for that member: a wiped node is never heard as the old voter (issue 12).
   */
  readonly droppedWrongStorage: number;
  /** Inbound connections whose hello carried no storage id (v1: a node older than wire v2). */
  readonly helloWithoutStorage: number;
}

/** A Raft transport for one node. */
export interface RaftTransport {
  /** This node's id. */
  readonly id: NodeId;
  /** Registers the receiver; the node calls it once before sending. */
  listen(handler: MessageHandler): void;
  /** Queues messages for their `to` peers (pipelined: no waiting for responses). */
  send(msgs: readonly Message[]): void;
  /** Adds or updates a peer's address (membership changes, DNS names that move). */
  setPeer(id: NodeId, address: string): void;
  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void;
  /** Current counters. */
  stats(): TransportStats;
  /** Closes every connection; pending messages are dropped. */
  close(): Promise<void>;
}

/** A zeroed mutable stats record, for implementations. */
export function newTransportStats(): { -readonly [K in keyof TransportStats]: number } {
  return {
    sent: 0,
    received: 0,
    droppedQueueFull: 0,
    droppedUnreachable: 0,
    droppedOversize: 0,
    malformed: 0,
    foreignCluster: 0,
    droppedWrongStorage: 0,
    helloWithoutStorage: 0,
  };
}
