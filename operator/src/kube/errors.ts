/**
 * Typed failures of talking to the API server. Callers branch on `code` or `status`, never on
 * message text.
 */

/** An API request answered with a non-2xx status (the body is a metav1.Status when possible). */
export class ApiError extends Error {
  readonly code = 'KUBE_API_ERROR';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly context: { readonly method: string; readonly path: string },
  ) {
    super(`${context.method} ${context.path}: ${status} ${reason}: ${message}`);
    this.name = 'ApiError';
  }
}

/** True for 404 Not Found. */
export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
/** True for 409 Conflict (stale resourceVersion, or create of an existing object). */
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;
/** True for 410 Gone (a watch or list resourceVersion that is too old). */
export const isGone = (e: unknown): boolean => e instanceof ApiError && e.status === 410;
