/**
 * An in-memory KubeClient that records every request: the reconcile's test double until the
 * real API server fixture is used, and a quick way to count writes. It mimics what matters
 * to the operator: resourceVersion and generation bumps, 404/409, server-side apply as a
 * deep merge with status only through the subresource, label-selector lists, and the API
 * server's MicroTime format check on Lease times.
 */
import { ApiError } from '../errors.js';
import type { KubeClient, KubeObj, ListResult, WatchEvent, WatchOptions } from '../client.js';
import { objectPath, type Resource } from '../resources.js';

/** One recorded request. */
export interface RecordedRequest {
  readonly verb: 'get' | 'list' | 'apply' | 'create' | 'patch' | 'replace' | 'delete';
  readonly kind: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

const WRITE_VERBS = new Set(['apply', 'create', 'patch', 'replace', 'delete']);
const MICRO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

type Mutable = Record<string, unknown>;

function isPlain(v: unknown): v is Mutable {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, patch: unknown): unknown {
  if (!isPlain(base) || !isPlain(patch)) return structuredClone(patch);
  const out: Mutable = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = merge(base[k], v);
  return out;
}

function matches(labels: Readonly<Record<string, string>> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && labels?.[k] === v;
  });
}

/** Field selector `a.b=x,c=y` over plain object paths (what the API server does for the fields it indexes). */
function matchesFields(o: unknown, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [path, v] = term.split('=');
    const got = (path ?? '').split('.').reduce<unknown>((x, k) => (isPlain(x) ? x[k] : undefined), o);
    return got === v;
  });
}

/** In-memory {@link KubeClient}. */
export class FakeKubeClient implements KubeClient {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, Mutable>();
  private rv = 100;

  /** Write requests recorded so far (apply, create, replace, delete). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => WRITE_VERBS.has(r.verb));
  }

  /** Forgets recorded requests. */
  clearRequests(): void {
    this.requests.length = 0;
  }

  private key(res: Resource, ns: string | undefined, name: string): string {
    return objectPath(res, ns, name);
  }

  /** Stores an object directly (test setup), bumping its resourceVersion. */
  seed<T extends KubeObj>(res: Resource, obj: T): T {
    const m = (obj.metadata ?? {}) as Mutable;
    const stored = {
      ...structuredClone(obj),
      apiVersion: res.apiVersion,
      kind: res.kind,
      metadata: { uid: `uid-${String(m.name)}`, generation: 1, ...m, resourceVersion: String(++this.rv) },
    } as unknown as Mutable;
    this.objects.set(this.key(res, m.namespace as string | undefined, m.name as string), stored);
    return structuredClone(stored) as T;
  }

  /** Reads an object without recording a request. */
  peek<T extends KubeObj>(res: Resource, ns: string | undefined, name: string): T | undefined {
    const o = this.objects.get(this.key(res, ns, name));
    return o ? (structuredClone(o) as T) : undefined;
  }

  get<T extends KubeObj>(res: Resource, ns: string | undefined, name: string): Promise<T | undefined> {
    this.requests.push({ verb: 'get', kind: res.kind, namespace: ns, name });
    return Promise.resolve(this.peek<T>(res, ns, name));
  }

  list<T extends KubeObj>(
    res: Resource,
    ns: string | undefined,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<ListResult<T>> {
    this.requests.push({ verb: 'list', kind: res.kind, namespace: ns });
    const prefix = ns === undefined ? undefined : objectPath(res, ns, '');
    const items = [...this.objects.entries()]
      .filter(
        ([k, o]) =>
          o.kind === res.kind && o.apiVersion === res.apiVersion && (prefix === undefined || k.startsWith(prefix)),
      )
      .map(([, o]) => o as KubeObj)
      .filter((o) => matches(o.metadata?.labels, labelSelector) && matchesFields(o, fieldSelector))
      .map((o) => structuredClone(o) as T);
    return Promise.resolve({ items, resourceVersion: String(this.rv) });
  }

  apply<T extends KubeObj>(res: Resource, obj: T, subresource?: 'status'): Promise<T> {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name ?? '';
    this.requests.push({ verb: 'apply', kind: res.kind, namespace: ns, name, subresource });
    const k = this.key(res, ns, name);
    const existing = this.objects.get(k);
    if (subresource === 'status') {
      if (!existing)
        return Promise.reject(new ApiError(404, 'NotFound', `${name} not found`, { method: 'PATCH', path: k }));
      const next = {
        ...existing,
        status: structuredClone((obj as unknown as Mutable).status),
        metadata: { ...(existing.metadata as Mutable), resourceVersion: String(++this.rv) },
      };
      this.objects.set(k, next);
      return Promise.resolve(structuredClone(next) as unknown as T);
    }
    const { status: _ignored, ...body } = obj as unknown as Mutable;
    const merged = merge(existing ?? {}, body) as Mutable;
    const oldMeta = (existing?.metadata ?? {}) as Mutable;
    const specChanged = JSON.stringify(existing?.spec) !== JSON.stringify(merged.spec);
    merged.metadata = {
      ...(merged.metadata as Mutable),
      uid: oldMeta.uid ?? `uid-${name}`,
      generation: ((oldMeta.generation as number | undefined) ?? 0) + (existing && !specChanged ? 0 : 1),
      resourceVersion: String(++this.rv),
    };
    this.objects.set(k, merged);
    return Promise.resolve(structuredClone(merged) as T);
  }

  mergePatch<T extends KubeObj>(res: Resource, ns: string | undefined, name: string, patch: object): Promise<T> {
    this.requests.push({ verb: 'patch', kind: res.kind, namespace: ns, name });
    const k = this.key(res, ns, name);
    const existing = this.objects.get(k);
    if (!existing)
      return Promise.reject(new ApiError(404, 'NotFound', `${name} not found`, { method: 'PATCH', path: k }));
    const merged = merge(existing, patch) as Mutable;
    merged.metadata = { ...(merged.metadata as Mutable), resourceVersion: String(++this.rv) };
    this.objects.set(k, merged);
    return Promise.resolve(structuredClone(merged) as unknown as T);
  }

  create<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name ?? '';
    this.requests.push({ verb: 'create', kind: res.kind, namespace: ns, name });
    const k = this.key(res, ns, name);
    if (this.objects.has(k))
      return Promise.reject(new ApiError(409, 'AlreadyExists', `${name} already exists`, { method: 'POST', path: k }));
    this.checkMicroTimes(res, obj, k);
    const stored = {
      ...structuredClone(obj),
      metadata: { ...obj.metadata, uid: `uid-${name}`, generation: 1, resourceVersion: String(++this.rv) },
    } as unknown as Mutable;
    this.objects.set(k, stored);
    return Promise.resolve(structuredClone(stored) as T);
  }

  replace<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name ?? '';
    this.requests.push({ verb: 'replace', kind: res.kind, namespace: ns, name });
    const k = this.key(res, ns, name);
    const existing = this.objects.get(k);
    if (!existing)
      return Promise.reject(new ApiError(404, 'NotFound', `${name} not found`, { method: 'PUT', path: k }));
    if ((existing.metadata as Mutable).resourceVersion !== obj.metadata?.resourceVersion) {
      return Promise.reject(
        new ApiError(
          409,
          'Conflict',
          'the object has been modified; please apply your changes to the latest version and try again',
          { method: 'PUT', path: k },
        ),
      );
    }
    this.checkMicroTimes(res, obj, k);
    const stored = {
      ...structuredClone(obj),
      metadata: { ...obj.metadata, resourceVersion: String(++this.rv) },
    } as unknown as Mutable;
    this.objects.set(k, stored);
    return Promise.resolve(structuredClone(stored) as T);
  }

  delete(res: Resource, ns: string | undefined, name: string): Promise<void> {
    this.requests.push({ verb: 'delete', kind: res.kind, namespace: ns, name });
    this.objects.delete(this.key(res, ns, name));
    return Promise.resolve();
  }

  async *watch<T extends KubeObj>(
    _res: Resource,
    _ns: string | undefined,
    _opts: WatchOptions,
  ): AsyncGenerator<WatchEvent<T>> {
    throw new Error('FakeKubeClient does not serve watches: the informer tests use a local HTTP server');
  }

  private checkMicroTimes(res: Resource, obj: KubeObj, path: string): void {
    if (res.kind !== 'Lease') return;
    const spec = ((obj as unknown as Mutable).spec ?? {}) as Mutable;
    for (const f of ['acquireTime', 'renewTime']) {
      const v = spec[f];
      if (v !== undefined && (typeof v !== 'string' || !MICRO.test(v))) {
        throw new ApiError(
          400,
          'BadRequest',
          `Lease in version "v1" cannot be handled as a Lease: parsing time "${String(v)}" as MicroTime`,
          { method: 'PUT', path },
        );
      }
    }
  }
}
