/**
 * A KubeClient bound to an AbortSignal (controller-runtime's context for one reconcile):
 * once the signal is aborted no further request starts, and a request in flight rejects at
 * once with the signal's reason (the HTTP client also cancels the request itself, see
 * {@link HttpKubeClient.withSignal}). So a shutdown during a pass blocked on the API returns
 * promptly and the pass writes nothing more.
 */
import type { KubeClient, KubeObj, ListResult, WatchEvent, WatchOptions } from './client.js';
import type { Resource } from './resources.js';

/** A client that can bind its own requests to a signal (cancelling them on the wire). */
interface SignalBindable {
  withSignal(signal: AbortSignal): KubeClient;
}
const bindable = (c: KubeClient): c is KubeClient & SignalBindable =>
  typeof (c as Partial<SignalBindable>).withSignal === 'function';

/** Rejects with the signal's reason when it aborts before `p` settles. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** `client` bound to `signal`. */
export function abortable(client: KubeClient, signal: AbortSignal): KubeClient {
  const inner = bindable(client) ? client.withSignal(signal) : client;
  const guard = <T>(f: () => Promise<T>): Promise<T> => {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return raceAbort(f(), signal);
  };
  return {
    get: <T extends KubeObj>(res: Resource, ns: string | undefined, name: string) =>
      guard(() => inner.get<T>(res, ns, name)),
    list: <T extends KubeObj>(res: Resource, ns: string | undefined, labelSelector?: string, fieldSelector?: string) =>
      guard<ListResult<T>>(() => inner.list<T>(res, ns, labelSelector, fieldSelector)),
    apply: <T extends KubeObj>(res: Resource, obj: T, subresource?: 'status') =>
      guard(() => inner.apply(res, obj, subresource)),
    create: <T extends KubeObj>(res: Resource, obj: T) => guard(() => inner.create(res, obj)),
    mergePatch: <T extends KubeObj>(res: Resource, ns: string | undefined, name: string, patch: object) =>
      guard(() => inner.mergePatch<T>(res, ns, name, patch)),
    replace: <T extends KubeObj>(res: Resource, obj: T) => guard(() => inner.replace(res, obj)),
    delete: (res: Resource, ns: string | undefined, name: string) => guard(() => inner.delete(res, ns, name)),
    watch: <T extends KubeObj>(
      res: Resource,
      ns: string | undefined,
      opts: WatchOptions,
    ): AsyncIterable<WatchEvent<T>> =>
      inner.watch<T>(res, ns, { ...opts, signal: AbortSignal.any([opts.signal, signal]) }),
  };
}
