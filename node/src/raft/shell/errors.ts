/**
 * Failures of the Raft shell (runner, storage, transports). Each has a stable `code` and
 * readonly context (STYLE.md 8); expected outcomes of proposals are these errors too because
 * they reject promises, and the server maps them to gRPC codes by `code`.
 */
import type { NodeId } from '../core/types.js';

/**
 * The codes of Raft's outcomes that reach clients; the server's error table
 * (node/src/server/errors.ts) maps each, and the compiler checks that it does.
 */
export const RaftOutcomeCode = {
  notLeader: 'RAFT_NOT_LEADER',
  timeout: 'RAFT_TIMEOUT',
  stopped: 'RAFT_STOPPED',
  proposalLost: 'RAFT_PROPOSAL_LOST',
  proposalIndeterminate: 'RAFT_PROPOSAL_INDETERMINATE',
  proposalRejected: 'RAFT_PROPOSAL_REJECTED',
  outOfSequence: 'RAFT_OUT_OF_SEQUENCE',
} as const;
/** One of {@link RaftOutcomeCode}. */
export type RaftOutcomeCode = (typeof RaftOutcomeCode)[keyof typeof RaftOutcomeCode];

/** Base class of every shell failure. */
export class RaftShellError extends Error {
  /** Stable machine-readable code; never match on `message`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RaftShellError';
    this.code = code;
  }
}

/** This node is not the leader; retry at `leaderHint` (null when no leader is known). */
export class RaftNotLeaderError extends RaftShellError {
  readonly leaderHint: NodeId | null;
  constructor(leaderHint: NodeId | null, why = 'not-leader') {
    super(RaftOutcomeCode.notLeader, `raft: not the leader (${why}); leader hint: ${leaderHint ?? 'none'}`);
    this.name = 'RaftNotLeaderError';
    this.leaderHint = leaderHint;
  }
}

/**
 * A proposal whose outcome is unknown or lost: leadership changed and another entry was
 * applied at its index, or the node stopped before it was applied. Safe to retry only if the
 * caller tolerates duplicates (the record may or may not have been committed when `lost` is false).
 */
export class ProposalDroppedError extends RaftShellError {
  /** True when the proposal is known not to have taken effect (another term's entry took its index). */
  readonly lost: boolean;
  readonly index: number;
  constructor(index: number, lost: boolean, why: string) {
    super(
      lost ? RaftOutcomeCode.proposalLost : RaftOutcomeCode.proposalIndeterminate,
      `raft: proposal at index ${index} ${why}`,
    );
    this.name = 'ProposalDroppedError';
    this.lost = lost;
    this.index = index;
  }
}

/** The core refused a request for a reason other than leadership (too large, change pending, invalid change…). */
export class ProposalRejectedError extends RaftShellError {
  readonly reason: string;
  readonly detail: string;
  constructor(reason: string, detail: string) {
    super(RaftOutcomeCode.proposalRejected, `raft: proposal rejected (${reason}): ${detail}`);
    this.name = 'ProposalRejectedError';
    this.reason = reason;
    this.detail = detail;
  }
}

/**
 * An idempotent producer's record whose sequence number is older than every one the
 * cluster still remembers for that producer (producer-table.ts): it may or may not have
 * been appended long ago, so it is refused rather than appended again. Not retryable.
 */
export class ProducerSequenceError extends RaftShellError {
  readonly producer: string;
  readonly seq: number;
  readonly lowestSeq: number;
  readonly lastSeq: number;
  constructor(producer: string, seq: number, lowestSeq: number, lastSeq: number) {
    super(
      RaftOutcomeCode.outOfSequence,
      `raft: producer ${producer} sequence ${seq} is older than the remembered window [${lowestSeq}, ${lastSeq}]`,
    );
    this.name = 'ProducerSequenceError';
    this.producer = producer;
    this.seq = seq;
    this.lowestSeq = lowestSeq;
    this.lastSeq = lastSeq;
  }
}

/** A read barrier, transfer or other wait did not complete in time (e.g. no leader). */
export class RaftTimeoutError extends RaftShellError {
  readonly operation: string;
  readonly ms: number;
  constructor(operation: string, ms: number) {
    super(RaftOutcomeCode.timeout, `raft: ${operation} did not complete within ${ms} ms`);
    this.name = 'RaftTimeoutError';
    this.operation = operation;
    this.ms = ms;
  }
}

/** The node is stopped (or stopping); nothing more is accepted. */
export class NodeStoppedError extends RaftShellError {
  constructor() {
    super(RaftOutcomeCode.stopped, 'raft: node is stopped');
    this.name = 'NodeStoppedError';
  }
}

/** The stable-state file exists but is torn or corrupt: the node refuses to start rather than forget its vote. */
export class StableStateCorruptError extends RaftShellError {
  readonly path: string;
  readonly detail: string;
  constructor(path: string, detail: string) {
    super('RAFT_STABLE_CORRUPT', `raft: stable state ${path} is corrupt: ${detail}`);
    this.name = 'StableStateCorruptError';
    this.path = path;
    this.detail = detail;
  }
}

/** Persisted state belongs to another cluster than the one configured. */
export class ClusterIdMismatchError extends RaftShellError {
  readonly expected: string;
  readonly found: string;
  constructor(expected: string, found: string) {
    super('RAFT_CLUSTER_MISMATCH', `raft: state on disk belongs to cluster "${found}", configured "${expected}"`);
    this.name = 'ClusterIdMismatchError';
    this.expected = expected;
    this.found = found;
  }
}

/** The log on disk and the stable state disagree in a way the shell cannot repair. */
export class StorageInconsistentError extends RaftShellError {
  readonly context: Readonly<Record<string, unknown>>;
  constructor(message: string, context: Readonly<Record<string, unknown>>) {
    super('RAFT_STORAGE_INCONSISTENT', `raft: ${message} ${JSON.stringify(context)}`);
    this.name = 'StorageInconsistentError';
    this.context = context;
  }
}

/** A transport frame failed validation (bad length, unknown tag, truncated field…). */
export class FrameError extends RaftShellError {
  constructor(detail: string) {
    super('RAFT_FRAME_INVALID', `raft transport: malformed frame: ${detail}`);
    this.name = 'FrameError';
  }
}
