/**
 * The client's retry rules as data and predicates (the server's error table,
 * node/src/server/errors.ts, says which outcome each status means): which failed calls
 * CommitLogClient retries, which server did not answer at all (a suspect, suspects.ts), and
 * which plain Produce has an unknown outcome. Also used by the agent's forwarder
 * (agent/forwarder.ts) to classify a failed forward.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { ErrorMetadataKeys } from '../server/errors.js';
import { CallKind } from './picker.js';

/**
 * The retry policy, one row per status the client retries (the server's error table,
 * node/src/server/errors.ts, says which outcome each status means). "write" is a Produce
 * without a producer id (`idempotent: false`, at-least-once); "idempotent write" is the
 * default Produce, which carries a producer id and sequence and is deduplicated by the
 * cluster, so a retry of a write that was appended returns the original offset:
 *
 * | status | meaning | read | write | idempotent write |
 * | --- | --- | --- | --- | --- |
 * | UNAVAILABLE | not the leader, no leader, proposal lost, shutting down, no connection | retry | retry, when the server said so or the call was never sent | retry |
 * | RESOURCE_EXHAUSTED | overloaded: refused before appending | retry (backoff) | retry (backoff), when the server said so | retry (backoff) |
 * | ABORTED | proposal indeterminate: the write may have been appended | retry | **no**: the caller decides | retry (dedup) |
 * | DEADLINE_EXCEEDED, CANCELLED | this attempt's deadline passed: outcome unknown | retry | **no**: the caller decides | retry (dedup) |
 *
 * Everything else (OUT_OF_RANGE, INVALID_ARGUMENT, PERMISSION_DENIED, INTERNAL, and
 * FAILED_PRECONDITION "OUT_OF_SEQUENCE": a sequence older than the cluster's window for the
 * producer) is not retried. Reads are idempotent; a plain write is retried only when the
 * server or the channel says it was not appended, so a retry never duplicates a record the
 * cluster may hold; an idempotent write on every transient status, within the call's
 * deadline. A status is the server's own when its error code is in the trailers
 * ({@link serverAnswered}); grpc-js also reports UNAVAILABLE when a connection drops after
 * the request was sent ("Connection dropped", ECONNRESET), and then the server may well
 * have appended it.
 */
export const retryPolicy = {
  [Status.UNAVAILABLE]: { read: true, write: true, idempotentWrite: true },
  [Status.RESOURCE_EXHAUSTED]: { read: true, write: true, idempotentWrite: true },
  [Status.ABORTED]: { read: true, write: false, idempotentWrite: true },
  [Status.DEADLINE_EXCEEDED]: { read: true, write: false, idempotentWrite: true },
  [Status.CANCELLED]: { read: true, write: false, idempotentWrite: true },
} as const satisfies Partial<
  Record<Status, { readonly read: boolean; readonly write: boolean; readonly idempotentWrite: boolean }>
>;

/** True when the server itself answered the call: its error table's code is in the trailers (server/errors.ts). */
export function serverAnswered(e: Partial<ServiceError>): boolean {
  return e.metadata?.get(ErrorMetadataKeys.code)[0] !== undefined;
}

/**
 * True when a failed call never reached a server: grpc-js failed it in its picker because
 * no connection existed ("No connection established", the status every grpc-js
 * load-balancing policy gives while its subchannels are in transient failure), so nothing
 * was sent.
 */
export function neverSent(e: Partial<ServiceError>): boolean {
  return e.code === Status.UNAVAILABLE && (e.details ?? '').includes('No connection established');
}

/**
 * True when `e` says the server did not answer: this attempt's deadline passed, or the
 * connection failed, with no error of the server's own ({@link serverAnswered}). Such a
 * server becomes a suspect (suspects.ts).
 */
export function silent(e: Partial<ServiceError>): boolean {
  return (e.code === Status.DEADLINE_EXCEEDED || e.code === Status.UNAVAILABLE) && !serverAnswered(e);
}

/**
 * True when the client retries a call of `kind` that failed with `e` ({@link retryPolicy});
 * `idempotent`: the write carries a producer id and sequence.
 */
export function isRetryable(kind: CallKind, e: Partial<ServiceError>, idempotent = false): boolean {
  const row =
    typeof e.code === 'number'
      ? (retryPolicy as Partial<Record<number, { read: boolean; write: boolean; idempotentWrite: boolean }>>)[e.code]
      : undefined;
  if (row === undefined) return false;
  if (kind === CallKind.read) return row.read;
  return idempotent ? row.idempotentWrite : row.write && (serverAnswered(e) || neverSent(e));
}

/**
 * True when a Produce without a producer id failed with an unknown outcome (the record may
 * have been appended): a status of {@link retryPolicy} that the client hands back instead of
 * retrying. A caller that retries it itself accepts that the record may be written twice.
 */
export function outcomeUnknown(e: Partial<ServiceError>): boolean {
  return typeof e.code === 'number' && e.code in retryPolicy && !isRetryable(CallKind.write, e);
}
