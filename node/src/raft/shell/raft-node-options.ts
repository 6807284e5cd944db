/**
 * What {@link RaftNode.start} takes (raft-node.ts): identity, directory, transport, the
 * configurations, and the injected environment — file system, clock and loop timers — that
 * crash tests, loop tests and the simulator replace.
 */
import type { FileSystem, LogConfigInput } from '../../log/index.js';
import type { RaftConfig, RaftConfigPreset } from '../core/config.js';
import type { RaftLogger } from '../core/env.js';
import type { NodeId } from '../core/types.js';
import type { ShellConfig } from './config.js';
import type { LogStorageOptions } from './log-storage.js';
import type { ShellClock } from './loop-clock.js';
import type { LoopTimersFactory } from './shell-loop.js';
import type { RaftTransport } from './transport.js';

/** A logger with pino's argument order (pino's Logger satisfies it). */
export interface ShellLogger extends RaftLogger {
  error(fields: object, msg: string): void;
}

/** What {@link RaftNode.start} needs. */
export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Data directory (log in `<dir>/log`, stable state in `<dir>/raft-state`). */
  readonly dir: string;
  /** The cluster this node belongs to; persisted, and messages from other clusters are refused. */
  readonly clusterId: string;
  /**
   * Initial voters, used ONLY when the directory holds no state (first start of a new
   * cluster). Omit for a node that joins an existing cluster as a learner, and on restarts
   * the persisted state wins regardless.
   */
  readonly bootstrap?: { readonly voters: readonly NodeId[] };
  /** Addresses of the other members (id → host:port), handed to the transport. */
  readonly peers?: Readonly<Record<string, string>>;
  readonly transport: RaftTransport;
  readonly logConfig?: LogConfigInput;
  readonly raftConfig?: Partial<Omit<RaftConfig, 'id'>>;
  readonly raftPreset?: RaftConfigPreset;
  readonly shellConfig?: Partial<ShellConfig>;
  readonly shellPreset?: 'lan' | 'test';
  readonly logger?: ShellLogger;
  /** Seed of the election-jitter RNG (default: random). */
  readonly seed?: number;
  /** The file system under the log and stable store (default: the real disk; crash tests pass a MemoryFileSystem). */
  readonly fs?: FileSystem;
  /** Repairs a log that lost committed entries instead of refusing to start (LogStorageOptions.onLostTail). */
  readonly onLostTail?: LogStorageOptions['onLostTail'];
  /** The loop's clock: request deadlines, proposal timeouts, stable flushes (default: {@link realClock}). */
  readonly clock?: ShellClock;
  /** Starts the tick, compaction and sweep timers (default: {@link startLoopTimers}; tests: testing/manual-loop-clock.ts). */
  readonly loopTimers?: LoopTimersFactory;
}
