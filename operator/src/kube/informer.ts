/**
 * A list-watch cache of one resource type that survives what the API server and the network
 * do to long watches (client-go's Reflector contract):
 * - a watch the server closes (timeoutSeconds, apiserver restart) resumes from the last
 *   resourceVersion seen;
 * - a reset connection or failed request retries with exponential backoff;
 * - `410 Gone` (HTTP status or ERROR event: the resourceVersion is too old) relists;
 * - a watch that stays silent longer than `inactivityMs` (no event, no bookmark) is
 *   aborted and restarted: half-open TCP connections otherwise hang forever;
 * - every `resyncMs` all cached objects are reported again, so a missed event or a failed
 *   reconcile is eventually retried (level-triggered).
 */
import type { KubeClient, KubeObj } from './client.js';
import { isGone } from './errors.js';
import type { Resource } from './resources.js';

/** What changed: `upsert` (added, modified, relisted, resynced) or `delete`. */
export type InformerHandler<T extends KubeObj> = (type: 'upsert' | 'delete', obj: T) => void;

/** Informer settings. */
export interface InformerOptions {
  readonly resource: Resource;
  /** Namespace to watch; undefined = all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly inactivityMs?: number;
  readonly resyncMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Server-side watch timeout; the client then resumes (default 300 s). */
  readonly watchTimeoutSeconds?: number;
  readonly onError?: (err: unknown) => void;
  /**
   * Applied to each object before it is cached and handed on (client-go's TransformFunc),
   * e.g. to keep only the metadata of Secrets the operator does not own.
   */
  readonly transform?: (o: KubeObj) => KubeObj;
}

/** Counters, for metrics and tests. */
export interface InformerStats {
  lists: number;
  watches: number;
  relistsOnGone: number;
  watchdogAborts: number;
  failures: number;
}

const keyOf = (o: KubeObj): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** A running list-watch cache. */
export class Informer<T extends KubeObj> {
  readonly stats: InformerStats = { lists: 0, watches: 0, relistsOnGone: 0, watchdogAborts: 0, failures: 0 };
  private readonly cache = new Map<string, T>();
  private resourceVersion: string | undefined;
  private stopped = false;
  private synced = false;
  private current: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private sleepWake: (() => void) | undefined;
  private readonly o: Required<Omit<InformerOptions, 'namespace' | 'labelSelector' | 'transform'>> &
    Pick<InformerOptions, 'namespace' | 'labelSelector'>;
  private readonly transform: (o: T) => T;

  constructor(
    private readonly client: KubeClient,
    opts: InformerOptions,
    private readonly handler: InformerHandler<T>,
  ) {
    this.o = {
      inactivityMs: 5 * 60_000,
      resyncMs: 10 * 60_000,
      backoffInitialMs: 200,
      backoffMaxMs: 30_000,
      watchTimeoutSeconds: 300,
      onError: () => undefined,
      ...opts,
    };
    const t = opts.transform;
    this.transform = t ? (o) => t(o) as T : (o) => o;
  }

  /** True once the first list completed. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Cached object by namespace and name. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.cache.values()];
  }

  /** Starts listing and watching. */
  start(): void {
    if (this.loop) return;
    this.loop = this.run();
    this.resyncTimer = setInterval(() => {
      for (const o of this.cache.values()) this.handler('upsert', o);
    }, this.o.resyncMs);
    this.resyncTimer.unref();
  }

  /** Stops and waits for the loop to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.current?.abort();
    this.sleepWake?.();
    await this.loop;
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const l = await this.client.list<T>(this.o.resource, this.o.namespace, this.o.labelSelector);
    const seen = new Set<string>();
    for (const raw of l.items) {
      const item = this.transform(raw);
      const k = keyOf(item);
      seen.add(k);
      this.cache.set(k, item);
      this.handler('upsert', item);
    }
    for (const [k, old] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.handler('delete', old);
      }
    }
    this.resourceVersion = l.resourceVersion;
    this.synced = true;
  }

  private async watchOnce(): Promise<number> {
    const ac = new AbortController();
    this.current = ac;
    if (this.stopped) return 0; // stop() ran while we were listing
    let events = 0;
    let watchdog: NodeJS.Timeout | undefined;
    let silent = false;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        silent = true;
        ac.abort();
      }, this.o.inactivityMs);
    };
    this.stats.watches++;
    arm();
    try {
      const stream = this.client.watch<T>(this.o.resource, this.o.namespace, {
        resourceVersion: this.resourceVersion ?? '',
        signal: ac.signal,
        labelSelector: this.o.labelSelector,
        timeoutSeconds: this.o.watchTimeoutSeconds,
      });
      for await (const ev of stream) {
        arm();
        events++;
        if (ev.type === 'ERROR') {
          if (ev.object.code === 410) {
            this.stats.relistsOnGone++;
            this.resourceVersion = undefined;
            return events;
          }
          throw new Error(`watch error ${ev.object.code ?? '?'} ${ev.object.reason ?? ''}: ${ev.object.message ?? ''}`);
        }
        const rv = ev.object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (ev.type === 'BOOKMARK') continue;
        const k = keyOf(ev.object);
        if (ev.type === 'DELETED') {
          this.cache.delete(k);
          this.handler('delete', ev.object);
        } else {
          const obj = this.transform(ev.object);
          this.cache.set(k, obj);
          this.handler('upsert', obj);
        }
      }
      return events;
    } catch (e) {
      if (silent) {
        this.stats.watchdogAborts++;
        return events; // resume from the last resourceVersion
      }
      if (this.stopped) return events;
      throw e;
    } finally {
      clearTimeout(watchdog);
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.sleepWake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.sleepWake = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        const started = Date.now();
        const events = await this.watchOnce();
        // A watch that ends at once without events is a failure in disguise (a proxy that
        // closes immediately): back off instead of spinning.
        failures = events === 0 && Date.now() - started < 1000 ? failures + 1 : 0;
      } catch (e) {
        if (this.stopped) break;
        if (isGone(e)) {
          this.stats.relistsOnGone++;
          this.resourceVersion = undefined;
          continue;
        }
        this.stats.failures++;
        failures++;
        this.o.onError(e);
      }
      if (failures > 0 && !this.stopped) {
        const base = Math.min(this.o.backoffMaxMs, this.o.backoffInitialMs * 2 ** (failures - 1));
        await this.sleep(base / 2 + (Math.random() * base) / 2);
      }
    }
  }
}
