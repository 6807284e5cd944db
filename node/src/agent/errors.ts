/**
 * Failures of the cluster agent's backend. Their `code`s are keys of the server's error
 * table (node/src/server/errors.ts), so they reach clients as UNAVAILABLE /
 * FAILED_PRECONDITION with the leader's id and address in trailing metadata.
 */
import { LogErrorCode } from '../log/index.js';
import { ClusterErrorCode, ServerErrorCode } from '../server/errors.js';

/** This node cannot take the write and could not forward it; the client should go to `leaderAddr`. */
export class NotLeaderError extends Error {
  readonly code = ClusterErrorCode.notLeader;
  constructor(
    readonly leaderId: string | undefined,
    readonly leaderAddr: string | undefined,
    why: string,
  ) {
    super(`not the leader (${why}); leader ${leaderId ?? 'unknown'} at ${leaderAddr ?? 'unknown address'}`);
    this.name = 'NotLeaderError';
  }
}

/** No leader is known (election in progress, or this node has not joined a cluster yet). */
export class NoLeaderError extends Error {
  readonly code = ClusterErrorCode.noLeader;
  constructor(why: string) {
    super(`no leader: ${why}`);
    this.name = 'NoLeaderError';
  }
}

/** A request that the cluster's current state does not allow (e.g. promoting an unknown member). */
export class ClusterPreconditionError extends Error {
  readonly code = ServerErrorCode.failedPrecondition;
  constructor(message: string) {
    super(message);
    this.name = 'ClusterPreconditionError';
  }
}

/** The backend is closing. */
export class BackendClosedError extends Error {
  readonly code = ServerErrorCode.shuttingDown;
  constructor() {
    super('the node is shutting down');
    this.name = 'BackendClosedError';
  }
}

/** The read is outside the committed prefix `[lowest, next)` (dense user offsets). */
export class CommittedOutOfRangeError extends Error {
  readonly code = LogErrorCode.offsetOutOfRange;
  constructor(
    readonly offset: number,
    readonly lowest: number,
    readonly next: number,
  ) {
    super(`offset ${offset} is outside the committed log [${lowest}, ${next})`);
    this.name = 'OffsetOutOfRangeError';
  }
}

/**
 * A Raft outcome as the client sees it (timeout, lost or indeterminate proposal, overload):
 * Raft's `code` (a key of the server's error table), its refusal `reason` if any, and the
 * leader's id and address where known, so the client can retry at the leader.
 */
export class RaftOutcomeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly reason: string | undefined,
    readonly leaderId: string | undefined,
    readonly leaderAddr: string | undefined,
  ) {
    super(message);
    this.name = 'RaftOutcomeError';
  }
}
