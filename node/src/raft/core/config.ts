/**
 * Configuration of the Raft core: tick counts and flow-control limits, with defaults,
 * validation and presets (STYLE.md 9). Wall-clock durations are the shell's business: it
 * calls `tick()` every `tickMs` of its own config, so the values here are in ticks.
 */
import { appendLimits } from './append-limits.js';
import { RaftConfigError } from './errors.js';
import type { NodeId } from './types.js';

/** Tunables of one Raft node. */
export interface RaftConfig {
  /** This node's id. */
  readonly id: NodeId;
  /**
   * Base election timeout in ticks. Followers wait a random number of ticks in
   * [electionTicks, 2·electionTicks) before campaigning (Raft §5.2). Must exceed heartbeatTicks.
   */
  readonly electionTicks: number;
  /** The leader sends heartbeats every this many ticks. */
  readonly heartbeatTicks: number;
  /** Pipelining limit: append messages in flight to one follower (Replicate state). */
  readonly maxInflightMsgs: number;
  /** Pipelining limit: payload bytes in flight to one follower; 0 means no byte limit. */
  readonly maxInflightBytes: number;
  /**
   * Largest payload of one append message; at least one entry is always sent. At most
   * `appendLimits.maxPayloadBytes` (the receiver's frame check, core/append-limits.ts).
   */
  readonly maxEntryBatchBytes: number;
  /**
   * Most entries in one append message. At most `appendLimits.maxEntries`, the receiver's
   * frame check: a leader batching 8-byte records by bytes alone built frames of 30,000
   * entries that every follower refused, forever (issue 12).
   */
  readonly maxEntryBatchCount: number;
  /** Largest single proposal accepted. */
  readonly maxProposalBytes: number;
  /** Snapshot data is streamed in chunks of at most this many bytes. */
  readonly maxSnapshotChunkBytes: number;
  /** Committed entries handed out per Ready, in bytes (at least one entry). */
  readonly maxApplyBytes: number;
  /**
   * Bound on the payload bytes a leader holds appended but not yet committed; proposals
   * beyond it are refused (`overloaded`) so a leader that cannot commit (slow followers,
   * a partition before check-quorum notices) does not grow without limit. 0 = no bound.
   */
  readonly maxUncommittedBytes: number;
  /** Run a pre-vote round before a real election, so a partitioned node cannot disrupt (thesis §9.6). */
  readonly preVote: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down (thesis §6.2). */
  readonly checkQuorum: boolean;
}

/**
 * Defaults for a LAN deployment with a 100 ms tick: 1–2 s election timeout, 200 ms heartbeats
 * (five per shortest election timeout; every heartbeat is a TLS write and a reply on each
 * follower, the largest part of an idle cluster's CPU, so 100 ms ones cost twice that for no
 * faster failover: a commit still reaches followers at once, see replication.ts).
 */
export const defaultRaftConfig = {
  electionTicks: 10,
  heartbeatTicks: 2,
  maxInflightMsgs: 256,
  maxInflightBytes: 32 * 1024 * 1024,
  maxEntryBatchBytes: 1024 * 1024,
  maxEntryBatchCount: appendLimits.maxEntries,
  maxProposalBytes: 8 * 1024 * 1024,
  maxSnapshotChunkBytes: 1024 * 1024,
  maxApplyBytes: 64 * 1024 * 1024,
  maxUncommittedBytes: 256 * 1024 * 1024,
  preVote: true,
  checkQuorum: true,
} as const satisfies Omit<RaftConfig, 'id'>;

/** Named presets: `lan` (default), `wan` (longer timeouts, smaller batches) and `test` (tiny limits that exercise flow control). */
export const raftConfigPresets = {
  lan: defaultRaftConfig,
  wan: { ...defaultRaftConfig, electionTicks: 30, heartbeatTicks: 3, maxEntryBatchBytes: 256 * 1024 },
  test: {
    ...defaultRaftConfig,
    electionTicks: 10,
    heartbeatTicks: 1,
    maxInflightMsgs: 4,
    maxInflightBytes: 64 * 1024,
    maxEntryBatchBytes: 4 * 1024,
    maxSnapshotChunkBytes: 64,
    maxApplyBytes: 16 * 1024,
    maxUncommittedBytes: 1024 * 1024,
  },
} as const satisfies Record<string, Omit<RaftConfig, 'id'>>;

/** A preset's name. */
export type RaftConfigPreset = keyof typeof raftConfigPresets;

/**
 * Builds a validated config from a preset and overrides.
 * @throws RaftConfigError naming the first invalid field and why.
 */
export function raftConfig(
  id: NodeId,
  overrides: Partial<Omit<RaftConfig, 'id'>> = {},
  preset: RaftConfigPreset = 'lan',
): RaftConfig {
  return validateRaftConfig({ ...raftConfigPresets[preset], ...overrides, id });
}

/**
 * Checks every field of a config and returns it unchanged.
 * @throws RaftConfigError naming the first invalid field and why.
 */
export function validateRaftConfig(c: RaftConfig): RaftConfig {
  const positiveInts: (keyof RaftConfig)[] = [
    'electionTicks',
    'heartbeatTicks',
    'maxInflightMsgs',
    'maxEntryBatchBytes',
    'maxEntryBatchCount',
    'maxProposalBytes',
    'maxSnapshotChunkBytes',
    'maxApplyBytes',
  ];
  if (typeof c.id !== 'string' || c.id.length === 0) throw new RaftConfigError('id', 'must be a non-empty string');
  for (const k of positiveInts) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new RaftConfigError(k, `must be a positive integer, got ${String(v)}`);
    }
  }
  if (!Number.isSafeInteger(c.maxUncommittedBytes) || c.maxUncommittedBytes < 0) {
    throw new RaftConfigError(
      'maxUncommittedBytes',
      `must be a non-negative integer (0 = unlimited), got ${c.maxUncommittedBytes}`,
    );
  }
  if (!Number.isSafeInteger(c.maxInflightBytes) || c.maxInflightBytes < 0) {
    throw new RaftConfigError(
      'maxInflightBytes',
      `must be a non-negative integer (0 = unlimited), got ${c.maxInflightBytes}`,
    );
  }
  if (c.electionTicks <= c.heartbeatTicks) {
    throw new RaftConfigError(
      'electionTicks',
      `must exceed heartbeatTicks (${c.heartbeatTicks}), got ${c.electionTicks}`,
    );
  }
  if (c.maxEntryBatchCount > appendLimits.maxEntries) {
    throw new RaftConfigError(
      'maxEntryBatchCount',
      `must be at most ${appendLimits.maxEntries} (the receiver's frame check), got ${c.maxEntryBatchCount}`,
    );
  }
  for (const k of ['maxEntryBatchBytes', 'maxProposalBytes', 'maxSnapshotChunkBytes'] as const) {
    if (c[k] > appendLimits.maxPayloadBytes) {
      throw new RaftConfigError(
        k,
        `must be at most ${appendLimits.maxPayloadBytes} (the receiver's frame check), got ${c[k]}`,
      );
    }
  }
  if (c.maxInflightBytes !== 0 && c.maxInflightBytes < c.maxEntryBatchBytes) {
    throw new RaftConfigError('maxInflightBytes', `must be 0 or at least maxEntryBatchBytes (${c.maxEntryBatchBytes})`);
  }
  return c;
}
