/**
 * controller-runtime's delegating client: reads (`get`, `list`) are served from the
 * informers' caches, writes go to the API server. A read falls through to the API server
 * only when no synced cache can answer it: a kind or namespace nobody watches, a field
 * selector, a selector the cache's own selector does not cover, or an object that exists
 * but is cached as metadata only (a user's CA Secret).
 *
 * Staleness: instead of accepting a stale read after the operator's own write (which
 * controller-runtime does, relying on resourceVersion conflicts), the client keeps
 * read-your-writes without waiting: every write records the resourceVersion the server
 * returned (or, for a delete, the uid deleted), and until the cache has caught up with it a
 * read of that object, or a list of its kind in its namespace, goes to the API server. Writes
 * by others (the StatefulSet controller, users) are seen when their watch event arrives, as
 * with any informer; the next event wakes the cluster again.
 */
import type { KubeClient, KubeObj, ListResult, WatchEvent, WatchOptions } from './client.js';
import type { Resource } from './resources.js';

/** The part of an informer the cache reads. */
export interface CacheView {
  readonly hasSynced: boolean;
  get(namespace: string | undefined, name: string): KubeObj | undefined;
  list(): readonly KubeObj[];
}

/** One informer as a cache of (resource, namespace, selector). */
export interface CacheSource {
  readonly resource: Resource;
  /** undefined = every namespace. */
  readonly namespace: string | undefined;
  readonly labelSelector: string | undefined;
  /** Objects are cached as metadata only (transform): the cache says only whether they exist. */
  readonly metadataOnly: boolean;
  readonly cache: CacheView;
}

/** The caches the operator's informers keep, by resource and namespace. */
export class InformerCaches {
  private readonly sources: CacheSource[] = [];

  /** Registers an informer's cache. */
  add(s: CacheSource): void {
    this.sources.push(s);
  }

  /** The synced caches of `res` that hold objects of namespace `ns`. */
  find(res: Resource, ns: string | undefined, metadataOnly: boolean): CacheSource[] {
    return this.sources.filter(
      (s) =>
        s.resource.plural === res.plural &&
        s.resource.apiVersion === res.apiVersion &&
        s.metadataOnly === metadataOnly &&
        s.cache.hasSynced &&
        (s.namespace === undefined || s.namespace === ns),
    );
  }
}

/** `k=v,k2==v2` as pairs; undefined when the selector uses anything else (sets, `!=`, exists). */
export function parseEqualitySelector(sel: string | undefined): Map<string, string> | undefined {
  const m = new Map<string, string>();
  if (!sel) return m;
  for (const term of sel.split(',')) {
    const r = /^\s*([^=!\s]+)\s*==?\s*([^=!\s]*)\s*$/.exec(term);
    if (!r?.[1]) return undefined;
    m.set(r[1], r[2] ?? '');
  }
  return m;
}

const matches = (o: KubeObj, sel: ReadonlyMap<string, string>): boolean =>
  [...sel].every(([k, v]) => o.metadata?.labels?.[k] === v);

/** The cache selector is implied by the request's (every cache term is a request term). */
const covers = (cacheSel: string | undefined, req: ReadonlyMap<string, string>): boolean => {
  const c = parseEqualitySelector(cacheSel);
  return c !== undefined && [...c].every(([k, v]) => req.get(k) === v);
};

/** What the operator wrote and the cache must show before it is read again. */
type Pending = { readonly rv: string } | { readonly deletedUid: string | undefined };

/** True when `cached` reflects `p` (resourceVersions compare as integers when both are, as etcd's are). */
export function caughtUp(cached: KubeObj | undefined, p: Pending): boolean {
  if ('deletedUid' in p) return cached === undefined || cached.metadata?.uid !== p.deletedUid;
  const rv = cached?.metadata?.resourceVersion;
  if (rv === undefined) return false;
  if (rv === p.rv) return true;
  return /^\d+$/.test(rv) && /^\d+$/.test(p.rv) && BigInt(rv) >= BigInt(p.rv);
}

const keyOf = (res: Resource, ns: string | undefined, name: string): string =>
  `${res.apiVersion}/${res.plural}/${ns ?? ''}/${name}`;
const prefixOf = (res: Resource, ns: string | undefined): string => `${res.apiVersion}/${res.plural}/${ns ?? ''}/`;

/** `o` with its kind and apiVersion (list items carry neither; a GET's answer does). */
const typed = (res: Resource, o: KubeObj | undefined): KubeObj | undefined =>
  o === undefined || (o.kind && o.apiVersion) ? o : { ...o, apiVersion: res.apiVersion, kind: res.kind };

/** Read/write counters, for tests and metrics. */
export interface CachedClientStats {
  cachedReads: number;
  apiReads: number;
}

/** Binds requests to a signal when the inner client can (see abortable.ts). */
interface SignalBindable {
  withSignal(signal: AbortSignal): KubeClient;
}

/** A {@link KubeClient} that reads from {@link InformerCaches} and writes to `api`. */
export class CachedKubeClient implements KubeClient {
  constructor(
    private readonly api: KubeClient,
    private readonly caches: InformerCaches,
    private readonly pending = new Map<string, Pending>(),
    readonly stats: CachedClientStats = { cachedReads: 0, apiReads: 0 },
  ) {}

  /** The same cache and write record over `api` bound to `signal`. */
  withSignal(signal: AbortSignal): CachedKubeClient {
    const b = this.api as Partial<SignalBindable>;
    const api = typeof b.withSignal === 'function' ? b.withSignal(signal) : this.api;
    return new CachedKubeClient(api, this.caches, this.pending, this.stats);
  }

  /** The full-object cache of `res` in `ns` that has no unread write of `name`, if any. */
  private cacheFor(res: Resource, ns: string | undefined, name: string | undefined): CacheSource[] | undefined {
    const sources = this.caches.find(res, ns, false);
    if (sources.length === 0) return undefined;
    const stale = (k: string, p: Pending): boolean => {
      const objName = k.slice(prefixOf(res, ns).length);
      if (sources.some((s) => caughtUp(s.cache.get(ns, objName), p))) {
        this.pending.delete(k);
        return false;
      }
      return true;
    };
    if (name !== undefined) {
      const k = keyOf(res, ns, name);
      const p = this.pending.get(k);
      return p && stale(k, p) ? undefined : sources;
    }
    const prefix = prefixOf(res, ns);
    for (const [k, p] of [...this.pending]) if (k.startsWith(prefix) && stale(k, p)) return undefined;
    return sources;
  }

  async get<T extends KubeObj>(res: Resource, ns: string | undefined, name: string): Promise<T | undefined> {
    const sources = this.cacheFor(res, ns, name);
    if (sources) {
      const hit = sources.map((s) => s.cache.get(ns, name)).find((o) => o !== undefined);
      // A miss in a label-filtered cache is "not found" (controller-runtime's semantics: every
      // object the operator owns carries its labels), unless a metadata cache of every object
      // of the kind knows it exists (a user's Secret): then only the API server has its data.
      const known = this.caches.find(res, ns, true).filter((s) => s.labelSelector === undefined);
      if (hit !== undefined || known.every((s) => s.cache.get(ns, name) === undefined)) {
        this.stats.cachedReads++;
        return typed(res, hit) as T | undefined;
      }
    }
    this.stats.apiReads++;
    return this.api.get<T>(res, ns, name);
  }

  async list<T extends KubeObj>(
    res: Resource,
    ns: string | undefined,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<ListResult<T>> {
    const sel = parseEqualitySelector(labelSelector);
    const source =
      fieldSelector === undefined && sel !== undefined
        ? this.cacheFor(res, ns, undefined)?.find((s) => covers(s.labelSelector, sel))
        : undefined;
    if (source) {
      this.stats.cachedReads++;
      const items = source.cache
        .list()
        .filter((o) => (ns === undefined || o.metadata?.namespace === ns) && matches(o, sel ?? new Map()));
      return { items: items.map((o) => typed(res, o)) as T[], resourceVersion: '' };
    }
    this.stats.apiReads++;
    return this.api.list<T>(res, ns, labelSelector, fieldSelector);
  }

  private wrote<T extends KubeObj>(res: Resource, o: T): T {
    const rv = o.metadata?.resourceVersion;
    const name = o.metadata?.name;
    if (rv && name && this.caches.find(res, o.metadata?.namespace, false).length > 0)
      this.pending.set(keyOf(res, o.metadata?.namespace, name), { rv });
    return o;
  }

  async apply<T extends KubeObj>(res: Resource, obj: T, subresource?: 'status'): Promise<T> {
    return this.wrote(res, await this.api.apply(res, obj, subresource));
  }

  async create<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    return this.wrote(res, await this.api.create(res, obj));
  }

  async mergePatch<T extends KubeObj>(res: Resource, ns: string | undefined, name: string, patch: object): Promise<T> {
    return this.wrote(res, await this.api.mergePatch<T>(res, ns, name, patch));
  }

  async replace<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    return this.wrote(res, await this.api.replace(res, obj));
  }

  async delete(res: Resource, ns: string | undefined, name: string): Promise<void> {
    const sources = this.caches.find(res, ns, false);
    const uid = sources.map((s) => s.cache.get(ns, name)?.metadata?.uid).find((u) => u !== undefined);
    await this.api.delete(res, ns, name);
    if (sources.length > 0) this.pending.set(keyOf(res, ns, name), { deletedUid: uid });
  }

  watch<T extends KubeObj>(res: Resource, ns: string | undefined, opts: WatchOptions): AsyncIterable<WatchEvent<T>> {
    return this.api.watch<T>(res, ns, opts);
  }
}
