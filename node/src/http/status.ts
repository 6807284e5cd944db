/**
 * Errors of the JSON API: every failure goes through the server's one error table
 * (`toStatus`, node/src/server/errors.ts) and the resulting gRPC code becomes an HTTP
 * status through {@link httpStatusOf}, the one small table of this file. The body has one
 * documented shape:
 *
 * ```json
 * {"error": {"code": "offset-out-of-range", "message": "offset 9 is outside the log [0, 3)",
 *            "details": {"offset": 9, "lowestOffset": 0, "nextOffset": 3}}}
 * ```
 *
 * `code` is the stable machine-readable error code (the gRPC trailer
 * `commitlog-error-code`; "internal" for unexpected failures), `details` the same context
 * the gRPC trailers carry (`commitlog-<key>` → camelCase key, numbers as numbers) plus
 * `grpcStatus`, the gRPC status name the same failure has over gRPC.
 *
 * Errors of HTTP itself (a path or method the API does not have) have no gRPC equivalent;
 * they use the same shape with codes "not-found" (404) and "method-not-allowed" (405).
 */
import { status as Status } from '@grpc/grpc-js';
import { ErrorMetadataKeys, STATUS_DETAILS_KEY, statusName, toStatus } from '../server/errors.js';

/**
 * gRPC status → HTTP status. The book answered an offset outside the log with 404, which
 * OUT_OF_RANGE keeps here; the rest follows Google's published mapping (grpc-gateway's
 * HTTPStatusFromCode). INVALID_ARGUMENT for a size limit is 413 (see {@link httpError}).
 */
export const httpStatusOf = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 499,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 400,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 404,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
  [Status.UNAUTHENTICATED]: 401,
} as const satisfies Record<Status, number>;

/** Error codes whose INVALID_ARGUMENT is about size: 413 Content Too Large. */
const TOO_LARGE_CODES: ReadonlySet<string> = new Set(['record-too-large']);

/** Seconds a client should wait before retrying an UNAVAILABLE answer (elections take about a second). */
export const RETRY_AFTER_SECONDS = 1;

/** The JSON error body. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, string | number>>;
  };
}

/** An error as the API answers it: status, extra headers and the body. */
export interface HttpError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
}

const camel = (key: string): string => key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Maps any thrown value to the API's answer (unknown errors: 500 "internal", message hidden). */
export function httpError(err: unknown): HttpError {
  const s = toStatus(err);
  const code = String(s.metadata.get(ErrorMetadataKeys.code)[0] ?? 'internal');
  const details: Record<string, string | number> = { grpcStatus: statusName(s.code) };
  for (const [key, values] of Object.entries(s.metadata.getMap())) {
    if (!key.startsWith('commitlog-') || key === ErrorMetadataKeys.code || key === STATUS_DETAILS_KEY) continue;
    const v = String(values);
    details[camel(key.slice('commitlog-'.length))] =
      /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
  }
  const status = s.code === Status.INVALID_ARGUMENT && TOO_LARGE_CODES.has(code) ? 413 : httpStatusOf[s.code];
  const headers: Record<string, string> = status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {};
  return { status, headers, body: { error: { code, message: s.details, details } } };
}

/** HTTP-level errors (no gRPC equivalent): an unknown path or a method the path does not take. */
export function routeError(
  kind: 'not-found' | 'method-not-allowed',
  message: string,
  allow?: readonly string[],
): HttpError {
  return {
    status: kind === 'not-found' ? 404 : 405,
    headers: allow ? { allow: allow.join(', ') } : {},
    body: { error: { code: kind, message, details: {} } },
  };
}
