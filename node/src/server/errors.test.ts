import assert from 'node:assert/strict';
import {
  NodeStoppedError,
  RaftNotLeaderError,
  ProposalDroppedError,
  ProposalRejectedError,
  RaftTimeoutError,
  nodeId,
} from '../raft/index.js';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { OffsetOutOfRangeError } from '../log/index.js';
import { ErrorMetadataKeys, ExitCode, errorInfoOf, exitCodeOf, toStatus } from './errors.js';

/** The status, ErrorInfo reason and leader trailers a client sees for `err`. */
function seen(err: unknown): { code: number; reason: string | undefined; leaderId: unknown; leaderAddr: unknown } {
  const s = toStatus(err);
  return {
    code: s.code,
    reason: errorInfoOf(s.metadata)?.reason,
    leaderId: s.metadata.get(ErrorMetadataKeys.leaderId)[0],
    leaderAddr: s.metadata.get(ErrorMetadataKeys.leaderAddr)[0],
  };
}

describe('error table: Raft outcomes reach clients as standard retryable codes, never INTERNAL (issue 12)', () => {
  it('a Raft timeout is UNAVAILABLE with reason RAFT_TIMEOUT', () => {
    assert.deepEqual(seen(new RaftTimeoutError('readIndex', 5000)), {
      code: Status.UNAVAILABLE,
      reason: 'RAFT_TIMEOUT',
      leaderId: undefined,
      leaderAddr: undefined,
    });
  });

  it('a lost proposal (another term took its index: nothing written) is UNAVAILABLE PROPOSAL_LOST', () => {
    assert.equal(seen(new ProposalDroppedError(7, true, 'was replaced')).code, Status.UNAVAILABLE);
    assert.equal(seen(new ProposalDroppedError(7, true, 'was replaced')).reason, 'PROPOSAL_LOST');
  });

  it('an indeterminate proposal (may have been appended) is ABORTED PROPOSAL_INDETERMINATE', () => {
    assert.equal(seen(new ProposalDroppedError(7, false, 'outcome unknown')).code, Status.ABORTED);
    assert.equal(seen(new ProposalDroppedError(7, false, 'outcome unknown')).reason, 'PROPOSAL_INDETERMINATE');
  });

  it('an overloaded leader is RESOURCE_EXHAUSTED OVERLOADED; other refusals are not INTERNAL either', () => {
    assert.deepEqual(
      [
        seen(new ProposalRejectedError('overloaded', 'queue full')).code,
        seen(new ProposalRejectedError('overloaded', 'queue full')).reason,
      ],
      [Status.RESOURCE_EXHAUSTED, 'OVERLOADED'],
    );
    assert.equal(seen(new ProposalRejectedError('too-large', '9 > 8')).code, Status.INVALID_ARGUMENT);
    assert.equal(seen(new ProposalRejectedError('conf-pending', 'at 9')).code, Status.FAILED_PRECONDITION);
  });

  it('not-leader from Raft is UNAVAILABLE NOT_LEADER with the leader hint; a stopped node is UNAVAILABLE', () => {
    assert.deepEqual(seen(new RaftNotLeaderError(nodeId('n2'))), {
      code: Status.UNAVAILABLE,
      reason: 'NOT_LEADER',
      leaderId: 'n2',
      leaderAddr: undefined,
    });
    assert.equal(seen(new NodeStoppedError()).code, Status.UNAVAILABLE);
  });

  it("an outcome with the leader's id and address (as the agent wraps it) carries both", () => {
    // The shape of node/src/agent/errors.ts RaftOutcomeError (the server does not import the agent).
    const outcome = (
      code: string,
      reason: string | undefined,
      leaderId: string,
      leaderAddr: string | undefined,
    ): Error => Object.assign(new Error(`raft: ${code}`), { code, reason, leaderId, leaderAddr });
    const e = outcome('RAFT_PROPOSAL_INDETERMINATE', undefined, 'n1', '127.0.0.1:8410');
    assert.deepEqual(seen(e), {
      code: Status.ABORTED,
      reason: 'PROPOSAL_INDETERMINATE',
      leaderId: 'n1',
      leaderAddr: '127.0.0.1:8410',
    });
    const o = outcome('RAFT_PROPOSAL_REJECTED', 'overloaded', 'n1', undefined);
    assert.deepEqual([seen(o).code, seen(o).reason, seen(o).leaderId], [Status.RESOURCE_EXHAUSTED, 'OVERLOADED', 'n1']);
  });

  it('an unknown error is still INTERNAL with a generic message', () => {
    const s = toStatus(new Error('secret detail'));
    assert.equal(s.code, Status.INTERNAL);
    assert.equal(s.details, 'internal error');
  });
});

describe('error table: CLI exit codes (one column of the same table)', () => {
  it('a status the server made exits with its row; what the channel reports, by gRPC code', () => {
    const via = (e: unknown): number => exitCodeOf(toStatus(e));
    assert.equal(via(new OffsetOutOfRangeError(9, 0, 3)), ExitCode.noInput);
    assert.equal(via(new ProposalDroppedError(4, false, 'x')), ExitCode.unknownOutcome);
    assert.equal(via(new ProposalDroppedError(4, true, 'x')), ExitCode.tempFail);
    assert.equal(via(new ProposalRejectedError('overloaded', 'x')), ExitCode.tempFail);
    assert.equal(via(new ProposalRejectedError('conf-change-pending', 'x')), ExitCode.dataErr);
    const transport = (code: Status): unknown => ({ code, details: 'x', metadata: new Metadata() });
    assert.equal(exitCodeOf(transport(Status.UNAVAILABLE)), ExitCode.unavailable);
    assert.equal(exitCodeOf(transport(Status.DEADLINE_EXCEEDED)), ExitCode.tempFail);
    assert.equal(exitCodeOf(new Error('anything else')), ExitCode.failure);
  });
});
