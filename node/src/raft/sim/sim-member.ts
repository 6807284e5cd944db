/**
 * What the simulated cluster, its clients and the invariant checker need from a node, met
 * by both backends: {@link SimNode} (MemoryStorage; synchronous, for scripted scenarios) and
 * {@link SimDiskNode} (the shell's LogStorage on a simulated disk with power cuts).
 */
import type { RawNode } from '../core/raw-node.js';
import type { Storage } from '../core/storage.js';
import type { NodeId, Ready } from '../core/types.js';
import type { CommitLogStateMachine } from './state-machine.js';

/** A simulated node of either backend. */
export interface SimMember {
  readonly id: NodeId;
  readonly raw: RawNode | null;
  readonly sm: CommitLogStateMachine;
  readonly pending: Ready | null;
  readonly up: boolean;
  /** Read access to the node's log (for checkers and the broken-on-purpose client variants). */
  readonly storage: Pick<Storage, 'term' | 'entries' | 'snapshot' | 'firstIndex' | 'lastIndex'>;
  /** Starts or restarts from durable state. */
  start(): void | Promise<void>;
  /** Goes down: a process crash, or (disk backend) a power cut. */
  crash(kind?: 'process' | 'power'): void;
  /** Takes the next Ready (sending its early messages) when none is being persisted. */
  takeReady(): boolean;
  /** Persists the pending Ready, sends its messages, applies, advances. */
  persist(): void | Promise<void>;
  /** True when the node's entry `i` of term `t` would survive a crash (or is compacted into its snapshot). */
  holdsDurably(i: number, t: number): boolean;
  /** The term and vote that would survive a crash. */
  durableTermVote(): { readonly term: number; readonly vote: string | null };
  /** Takes a snapshot keeping `keep` entries, when the backend supports it. */
  compact(keep: number): boolean;
}
