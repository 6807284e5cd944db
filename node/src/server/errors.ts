/**
 * One table from typed errors to gRPC statuses (the book's `error.go` idea, with standard
 * codes). Errors are recognised by their `code` property, never by message text, so the
 * log's errors, Raft's errors and the server's own map through the same table.
 *
 * The book answered an offset outside the log with the non-standard code 404; we answer
 * OUT_OF_RANGE (11) with the requested offset and the log's bounds in trailing metadata.
 *
 * Every mapped error also carries the richer error model: a google.rpc.Status in the
 * `grpc-status-details-bin` trailer with one google.rpc.ErrorInfo (reason = the code in
 * UPPER_SNAKE, domain "commitlog.dev", metadata = the same context as the plain trailers).
 */
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { ErrorInfo } from '../gen/google/rpc/error_details.js';
import { Status as RpcStatus } from '../gen/google/rpc/status.js';
import type { LogErrorCode } from '../log/index.js';
import type { RaftOutcomeCode } from '../raft/index.js';

/** Trailing-metadata keys that carry error context. */
export const ErrorMetadataKeys = {
  /** Stable machine-readable error code (e.g. "offset-out-of-range"). */
  code: 'commitlog-error-code',
  offset: 'commitlog-offset',
  /** Lowest readable offset; equal to next-offset when the log is empty. */
  lowestOffset: 'commitlog-lowest-offset',
  /** One past the highest readable offset. */
  nextOffset: 'commitlog-next-offset',
  size: 'commitlog-record-size',
  limit: 'commitlog-record-limit',
  leaderId: 'commitlog-leader-id',
  leaderAddr: 'commitlog-leader-addr',
} as const;

/** Error codes the server itself raises (the log's and Raft's have their own). */
export const ServerErrorCode = {
  unauthenticated: 'unauthenticated',
  permissionDenied: 'permission-denied',
  invalidArgument: 'invalid-argument',
  shuttingDown: 'shutting-down',
  unimplemented: 'unimplemented',
  failedPrecondition: 'failed-precondition',
} as const;

/**
 * Codes of the cluster's own refusals (raised by the agent's Raft backend, node/src/agent/errors.ts;
 * defined here, below the agent, so that the table can name them).
 */
export const ClusterErrorCode = { notLeader: 'not-leader', noLeader: 'no-leader' } as const;

/**
 * Every error code a client can see, the one union {@link errorTable} covers (the compiler
 * checks both ways: a code without a row, or a row without a code, does not build): the
 * server's, the cluster's, Raft's outcomes and the log's (but its configuration error,
 * which never leaves the process).
 */
export type ErrorCode =
  | (typeof ServerErrorCode)[keyof typeof ServerErrorCode]
  | (typeof ClusterErrorCode)[keyof typeof ClusterErrorCode]
  | RaftOutcomeCode
  | Exclude<LogErrorCode, 'invalid-log-config'>;

/**
 * Exit codes of the CLI (sysexits.h where one fits), one per kind of outcome; each row of
 * {@link errorTable} names its own. `unknownOutcome` is ours: a write that may or may not
 * have been appended (a script must not blindly write it again).
 */
export const ExitCode = {
  failure: 1,
  usage: 2,
  unknownOutcome: 3,
  dataErr: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  ioErr: 74,
  tempFail: 75,
  noPerm: 77,
} as const;
/** One of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure with a stable code and optional context, raised by the server and backends. */
export class ServerError extends Error {
  constructor(
    readonly code: (typeof ServerErrorCode)[keyof typeof ServerErrorCode],
    message: string,
  ) {
    super(message);
    this.name = 'ServerError';
  }
}

/** "<subject> not permitted to <action>": the ACL said no. */
export class PermissionDeniedError extends ServerError {
  constructor(
    readonly subject: string,
    readonly action: string,
  ) {
    super(ServerErrorCode.permissionDenied, `${subject} not permitted to ${action}`);
    this.name = 'PermissionDeniedError';
  }
}

/** The server or its backend is stopping; retry elsewhere. */
export class ShuttingDownError extends ServerError {
  constructor() {
    super(ServerErrorCode.shuttingDown, 'the server is shutting down');
    this.name = 'ShuttingDownError';
  }
}

/** A request the server cannot act on (e.g. ProduceRequest without a record). */
export class InvalidRequestError extends ServerError {
  constructor(message: string) {
    super(ServerErrorCode.invalidArgument, message);
    this.name = 'InvalidRequestError';
  }
}

type Ctx = Readonly<Record<string, unknown>>;

/**
 * How one error code becomes a status: the gRPC code (fixed, or chosen from the error's
 * context), the context it carries, and the ErrorInfo reason when it is not the code itself.
 */
interface Mapping {
  readonly status: Status | ((err: Ctx) => Status);
  /** The CLI's exit code for this outcome (fixed, or chosen by the status the row gave). */
  readonly exit: ExitCode | ((status: Status) => ExitCode);
  readonly metadata?: (err: Ctx, md: Metadata) => void;
  readonly reason?: (err: Ctx) => string | undefined;
}

/** The leader, where the error knows it: `leaderId` (agent errors) or `leaderHint` (Raft's), and `leaderAddr`. */
function leader(e: Ctx, md: Metadata): void {
  const id = typeof e.leaderId === 'string' ? e.leaderId : typeof e.leaderHint === 'string' ? e.leaderHint : undefined;
  if (id !== undefined) md.set(ErrorMetadataKeys.leaderId, id);
  if (typeof e.leaderAddr === 'string') md.set(ErrorMetadataKeys.leaderAddr, e.leaderAddr);
}

function num(md: Metadata, key: string, value: unknown): void {
  if (typeof value === 'number' || typeof value === 'string') md.set(key, String(value));
}

/**
 * The table. Keys are error `code`s: the server's ({@link ServerErrorCode}), the log's
 * (node/src/log/errors.ts), the cluster's ("not-leader", "no-leader") and Raft's
 * (`RAFT_*`, node/src/raft/shell/errors.ts). The README's error table lists the same.
 */
export const errorTable = {
  'offset-out-of-range': {
    status: Status.OUT_OF_RANGE,
    exit: ExitCode.noInput,
    metadata: (e, md) => {
      num(md, ErrorMetadataKeys.offset, e.offset);
      num(md, ErrorMetadataKeys.lowestOffset, e.lowest);
      num(md, ErrorMetadataKeys.nextOffset, e.next);
    },
  },
  'record-too-large': {
    status: Status.INVALID_ARGUMENT,
    exit: ExitCode.dataErr,
    metadata: (e, md) => {
      num(md, ErrorMetadataKeys.size, e.size);
      num(md, ErrorMetadataKeys.limit, e.limit);
    },
  },
  'invalid-argument': { status: Status.INVALID_ARGUMENT, exit: ExitCode.dataErr },
  unauthenticated: { status: Status.UNAUTHENTICATED, exit: ExitCode.noPerm },
  'permission-denied': { status: Status.PERMISSION_DENIED, exit: ExitCode.noPerm },
  'shutting-down': { status: Status.UNAVAILABLE, exit: ExitCode.tempFail },
  'log-closed': { status: Status.UNAVAILABLE, exit: ExitCode.tempFail },
  'log-busy': { status: Status.UNAVAILABLE, exit: ExitCode.tempFail },
  'not-leader': {
    status: Status.UNAVAILABLE,
    exit: ExitCode.tempFail,
    metadata: (e, md) => {
      if (typeof e.leaderId === 'string') md.set(ErrorMetadataKeys.leaderId, e.leaderId);
      if (typeof e.leaderAddr === 'string') md.set(ErrorMetadataKeys.leaderAddr, e.leaderAddr);
    },
  },
  'no-leader': { status: Status.UNAVAILABLE, exit: ExitCode.tempFail },
  // Raft's outcomes (node/src/raft/shell/errors.ts), all retryable, with the reason in
  // ErrorInfo and the leader where known. UNAVAILABLE: nothing was written, retry (at the
  // leader). ABORTED: the write may or may not have been appended — not safe to retry
  // blindly. RESOURCE_EXHAUSTED: refused before appending, retry after a backoff.
  RAFT_NOT_LEADER: {
    status: Status.UNAVAILABLE,
    exit: ExitCode.tempFail,
    metadata: leader,
    reason: () => 'NOT_LEADER',
  },
  RAFT_TIMEOUT: { status: Status.UNAVAILABLE, exit: ExitCode.tempFail, metadata: leader },
  RAFT_STOPPED: { status: Status.UNAVAILABLE, exit: ExitCode.tempFail },
  RAFT_PROPOSAL_LOST: {
    status: Status.UNAVAILABLE,
    exit: ExitCode.tempFail,
    metadata: leader,
    reason: () => 'PROPOSAL_LOST',
  },
  RAFT_PROPOSAL_INDETERMINATE: {
    status: Status.ABORTED,
    exit: ExitCode.unknownOutcome,
    metadata: leader,
    reason: () => 'PROPOSAL_INDETERMINATE',
  },
  RAFT_PROPOSAL_REJECTED: {
    exit: (status) => (status === Status.RESOURCE_EXHAUSTED ? ExitCode.tempFail : ExitCode.dataErr),
    status: (e) =>
      e.reason === 'overloaded'
        ? Status.RESOURCE_EXHAUSTED
        : e.reason === 'too-large'
          ? Status.INVALID_ARGUMENT
          : Status.FAILED_PRECONDITION,
    metadata: leader,
    reason: (e) => (typeof e.reason === 'string' ? e.reason : undefined),
  },
  // An idempotent producer's sequence older than its remembered window: it may have been
  // appended long ago, so it is refused, never appended again. Not retryable.
  RAFT_OUT_OF_SEQUENCE: { status: Status.FAILED_PRECONDITION, exit: ExitCode.dataErr, reason: () => 'OUT_OF_SEQUENCE' },
  unimplemented: { status: Status.UNIMPLEMENTED, exit: ExitCode.software },
  'failed-precondition': { status: Status.FAILED_PRECONDITION, exit: ExitCode.dataErr },
  'corrupt-segment': { status: Status.DATA_LOSS, exit: ExitCode.ioErr },
} as const satisfies Record<ErrorCode, Mapping>;

/** Trailer of the encoded google.rpc.Status (gRPC's richer error model). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** Domain of our ErrorInfo details. */
export const ERROR_DOMAIN = 'commitlog.dev';

const ERROR_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.ErrorInfo';

function richStatus(status: Status, message: string, reason: string, md: Metadata): Buffer {
  const metadata: Record<string, string> = {};
  for (const [key, values] of Object.entries(md.getMap())) {
    if (key.startsWith('commitlog-') && key !== ErrorMetadataKeys.code)
      metadata[key.slice('commitlog-'.length).replaceAll('-', '_')] = String(values);
  }
  const info = ErrorInfo.encode({
    reason: reason.toUpperCase().replaceAll('-', '_'),
    domain: ERROR_DOMAIN,
    metadata,
  }).finish();
  return Buffer.from(
    RpcStatus.encode({
      code: status,
      message,
      details: [{ typeUrl: ERROR_INFO_TYPE_URL, value: Buffer.from(info) }],
    }).finish(),
  );
}

/** Decodes the ErrorInfo of a status's `grpc-status-details-bin` trailer (clients, tests). */
export function errorInfoOf(md: Metadata): ErrorInfo | undefined {
  const raw = md.get(STATUS_DETAILS_KEY)[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  const any = RpcStatus.decode(raw).details.find((d) => d.typeUrl === ERROR_INFO_TYPE_URL);
  return any ? ErrorInfo.decode(any.value) : undefined;
}

/** A status to send: grpc-js accepts this object as the error of a callback or `emit('error')`. */
export type StatusError = Partial<StatusObject> & { code: Status; details: string; metadata: Metadata };

/**
 * Maps any thrown value to a gRPC status. Unknown errors become INTERNAL with a generic
 * message (their text may leak internals; the caller logs them).
 */
export function toStatus(err: unknown): StatusError {
  const md = new Metadata();
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  const mapping: Mapping | undefined =
    typeof code === 'string' && Object.hasOwn(errorTable, code) ? errorTable[code as ErrorCode] : undefined;
  if (mapping && typeof code === 'string') {
    md.set(ErrorMetadataKeys.code, code);
    mapping.metadata?.(err as Ctx, md);
    const details = (err as Error).message;
    const status = typeof mapping.status === 'function' ? mapping.status(err as Ctx) : mapping.status;
    md.set(STATUS_DETAILS_KEY, richStatus(status, details, mapping.reason?.(err as Ctx) ?? code, md));
    return { code: status, details, metadata: md };
  }
  return { code: Status.INTERNAL, details: 'internal error', metadata: md };
}

/**
 * The CLI's exit code for a failed call: the row of the server's error code when the
 * trailers carry one (every status the server makes), else by gRPC code for what the
 * channel itself reports (no connection: unavailable; a deadline: temporary), else 1.
 */
export function exitCodeOf(err: unknown): ExitCode {
  const e = err as { code?: unknown; metadata?: Metadata } | null;
  const code = e?.metadata?.get(ErrorMetadataKeys.code)[0];
  if (typeof code === 'string' && Object.hasOwn(errorTable, code)) {
    const row: Mapping = errorTable[code as ErrorCode];
    return typeof row.exit === 'function' ? row.exit(e?.code as Status) : row.exit;
  }
  switch (e?.code) {
    case Status.UNAVAILABLE:
      return ExitCode.unavailable;
    case Status.DEADLINE_EXCEEDED:
    case Status.RESOURCE_EXHAUSTED:
      return ExitCode.tempFail;
    case Status.ABORTED:
      return ExitCode.unknownOutcome;
    case Status.UNAUTHENTICATED:
    case Status.PERMISSION_DENIED:
      return ExitCode.noPerm;
    default:
      return ExitCode.failure;
  }
}

/** True when `toStatus(err)` would be INTERNAL (an unexpected failure worth logging). */
export function isUnexpected(err: unknown): boolean {
  return toStatus(err).code === Status.INTERNAL;
}

/** Name of a status code ("OK", "OUT_OF_RANGE", ...), for logs and metric labels. */
export function statusName(code: number): string {
  return (Status as unknown as Record<number, string>)[code] ?? String(code);
}
