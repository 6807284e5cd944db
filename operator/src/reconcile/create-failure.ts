/**
 * Why the StatefulSet controller could not create a pod. The controller writes no condition
 * for it; it records a Warning event `FailedCreate` on the StatefulSet, with the API
 * server's refusal (a missing PriorityClass, an exhausted ResourceQuota, an admission
 * webhook's denial). Pure: the reconcile lists those events only while a pod that should
 * exist is missing, and this picks the newest one of the current StatefulSet.
 */

/** The fields of an events.k8s.io/v1 Event {@link lastCreateFailure} reads. */
export interface StatefulSetEventView {
  readonly reason?: string;
  readonly note?: string;
  readonly eventTime?: string | null;
  readonly deprecatedLastTimestamp?: string | null;
  readonly series?: { readonly lastObservedTime?: string } | null;
  readonly metadata?: { readonly creationTimestamp?: string };
  readonly regarding?: { readonly uid?: string; readonly kind?: string; readonly name?: string };
}

/** A pod the StatefulSet controller failed to create. */
export interface CreateFailure {
  /** The pod named in the controller's message, when it names one. */
  readonly pod?: string;
  /** The controller's message (the API server's refusal). */
  readonly message: string;
}

const MAX = 300;
const when = (e: StatefulSetEventView): string =>
  e.series?.lastObservedTime ?? e.deprecatedLastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';

/**
 * The newest `FailedCreate` event about the StatefulSet with uid `statefulSetUid` (events of
 * a deleted StatefulSet of the same name are ignored), or undefined.
 */
export function lastCreateFailure(
  events: readonly StatefulSetEventView[],
  statefulSetUid: string | undefined,
): CreateFailure | undefined {
  const newest = events
    .filter((e) => e.reason === 'FailedCreate' && e.regarding?.kind === 'StatefulSet')
    .filter((e) => statefulSetUid === undefined || e.regarding?.uid === statefulSetUid)
    .reduce<StatefulSetEventView | undefined>((a, e) => (a === undefined || when(e) > when(a) ? e : a), undefined);
  if (newest === undefined) return undefined;
  const message = (newest.note ?? '').trim() || 'the StatefulSet controller could not create a pod';
  // "create Pod demo-0 in StatefulSet demo failed error: …" (kube-controller-manager's wording).
  const pod = /\bcreate Pod (\S+) in StatefulSet\b/i.exec(message)?.[1];
  return {
    ...(pod !== undefined ? { pod } : {}),
    message: message.length > MAX ? `${message.slice(0, MAX - 1)}…` : message,
  };
}
