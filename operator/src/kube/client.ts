/**
 * The operator's view of the API server: get, list, server-side apply (also on the status
 * subresource), create/replace with optimistic concurrency, delete, and watch streams.
 * {@link HttpKubeClient} implements it over a {@link Transport}; tests use a recording fake.
 */
import { FIELD_MANAGER } from '../model/names.js';
import { isNotFound } from './errors.js';
import type { Transport } from './http.js';
import { collectionPath, objectPath, type Resource } from './resources.js';

/** Metadata fields the operator reads. */
export interface Meta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly {
    readonly uid?: string;
    readonly controller?: boolean;
    readonly kind?: string;
    readonly name?: string;
  }[];
  readonly deletionTimestamp?: string;
}

/** Any Kubernetes object. */
export interface KubeObj {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
}

/** A list response. */
export interface ListResult<T extends KubeObj = KubeObj> {
  readonly items: readonly T[];
  readonly resourceVersion: string;
}

/** One watch event; `ERROR` carries a metav1.Status (410 = resourceVersion too old). */
export type WatchEvent<T extends KubeObj = KubeObj> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; readonly object: T }
  | {
      readonly type: 'ERROR';
      readonly object: { readonly code?: number; readonly reason?: string; readonly message?: string };
    };

/** Watch options. */
export interface WatchOptions {
  readonly resourceVersion: string;
  readonly signal: AbortSignal;
  readonly labelSelector?: string;
  /** Server-side timeout: the server ends the watch after this long (a normal close). */
  readonly timeoutSeconds?: number;
}

/** API access used by the operator. */
export interface KubeClient {
  get<T extends KubeObj>(res: Resource, ns: string | undefined, name: string): Promise<T | undefined>;
  /** Lists objects; `fieldSelector` is the API server's (`regarding.name=x,reason=y`). */
  list<T extends KubeObj>(
    res: Resource,
    ns: string | undefined,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<ListResult<T>>;
  /** Server-side apply (field manager commitlog-operator, force) of `obj`, or of its status. */
  apply<T extends KubeObj>(res: Resource, obj: T, subresource?: 'status'): Promise<T>;
  create<T extends KubeObj>(res: Resource, obj: T): Promise<T>;
  /**
   * JSON merge patch of an existing object (404 when it does not exist, unlike an apply,
   * which would create it). For fields the operator must not take over as an applier.
   */
  mergePatch<T extends KubeObj>(res: Resource, ns: string | undefined, name: string, patch: object): Promise<T>;
  /** PUT; fails with 409 when `obj.metadata.resourceVersion` is stale. */
  replace<T extends KubeObj>(res: Resource, obj: T): Promise<T>;
  /** Deletes; a missing object is not an error. */
  delete(res: Resource, ns: string | undefined, name: string): Promise<void>;
  watch<T extends KubeObj>(res: Resource, ns: string | undefined, opts: WatchOptions): AsyncIterable<WatchEvent<T>>;
}

const nameOf = (o: KubeObj): string => {
  const n = o.metadata?.name;
  if (!n) throw new Error(`object of kind ${o.kind ?? '?'} has no metadata.name`);
  return n;
};

/** Splits a byte stream into newline-delimited JSON values. */
export async function* jsonLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
  const rest = buf.trim();
  if (rest) yield JSON.parse(rest);
}

/** Options of {@link HttpKubeClient}. */
export interface HttpKubeClientOptions {
  /**
   * Deadline of each request (not of watch streams, which end by their server-side
   * `timeoutSeconds` and the informer's inactivity watchdog). Default 30 s: a hung API
   * server fails the pass, which is retried with backoff, instead of stalling a worker.
   */
  readonly requestTimeoutMs?: number;
  /** Cancels every request of this client (one reconcile's signal, see abortable.ts). */
  readonly signal?: AbortSignal;
}

/** Default deadline of one API request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** {@link KubeClient} over HTTP. */
export class HttpKubeClient implements KubeClient {
  private readonly timeoutMs: number;

  constructor(
    private readonly t: Transport,
    private readonly opts: HttpKubeClientOptions = {},
  ) {
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** The same client whose requests are also cancelled by `signal`. */
  withSignal(signal: AbortSignal): HttpKubeClient {
    return new HttpKubeClient(this.t, {
      ...this.opts,
      signal: this.opts.signal ? AbortSignal.any([this.opts.signal, signal]) : signal,
    });
  }

  private signal(): AbortSignal {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return this.opts.signal ? AbortSignal.any([this.opts.signal, timeout]) : timeout;
  }

  async get<T extends KubeObj>(res: Resource, ns: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.t.request<T>('GET', objectPath(res, ns, name), { signal: this.signal() });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list<T extends KubeObj>(
    res: Resource,
    ns: string | undefined,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<ListResult<T>> {
    const l = await this.t.request<{ items: T[]; metadata: { resourceVersion: string } }>(
      'GET',
      collectionPath(res, ns),
      { query: { labelSelector, fieldSelector }, signal: this.signal() },
    );
    return { items: l.items, resourceVersion: l.metadata.resourceVersion };
  }

  apply<T extends KubeObj>(res: Resource, obj: T, subresource?: 'status'): Promise<T> {
    return this.t.request<T>('PATCH', objectPath(res, obj.metadata?.namespace, nameOf(obj), subresource), {
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
      signal: this.signal(),
    });
  }

  create<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    return this.t.request<T>('POST', collectionPath(res, obj.metadata?.namespace), {
      query: { fieldManager: FIELD_MANAGER },
      body: obj,
      signal: this.signal(),
    });
  }

  mergePatch<T extends KubeObj>(res: Resource, ns: string | undefined, name: string, patch: object): Promise<T> {
    return this.t.request<T>('PATCH', objectPath(res, ns, name), {
      query: { fieldManager: FIELD_MANAGER },
      body: patch,
      contentType: 'application/merge-patch+json',
      signal: this.signal(),
    });
  }

  replace<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    return this.t.request<T>('PUT', objectPath(res, obj.metadata?.namespace, nameOf(obj)), {
      query: { fieldManager: FIELD_MANAGER },
      body: obj,
      signal: this.signal(),
    });
  }

  async delete(res: Resource, ns: string | undefined, name: string): Promise<void> {
    try {
      await this.t.request('DELETE', objectPath(res, ns, name), {
        body: { propagationPolicy: 'Background' },
        signal: this.signal(),
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async *watch<T extends KubeObj>(
    res: Resource,
    ns: string | undefined,
    opts: WatchOptions,
  ): AsyncGenerator<WatchEvent<T>> {
    const s = await this.t.stream(collectionPath(res, ns), {
      query: {
        watch: true,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: opts.labelSelector,
        timeoutSeconds: opts.timeoutSeconds,
      },
      signal: this.opts.signal ? AbortSignal.any([this.opts.signal, opts.signal]) : opts.signal,
    });
    for await (const v of jsonLines(s.body)) yield v as WatchEvent<T>;
  }
}
