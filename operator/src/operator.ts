/**
 * The running operator: informers on CommitLogClusters and the objects they own (in every
 * watched namespace), a work queue of cluster keys, the reconciler, Lease leader election,
 * metrics and health. Only the leader reconciles; a standby keeps warm caches and takes
 * over when the Lease is released or expires. `stop()` shuts down in order: stop taking
 * work, cancel passes in flight (the queue's AbortSignal: each stops at its next API call and
 * writes nothing more) and wait for them, release the Lease, stop watches.
 */
import type { CommitLogCluster } from './api/types.js';
import { CachedKubeClient, InformerCaches } from './kube/cached-client.js';
import type { KubeClient, KubeObj } from './kube/client.js';
import { KubeEventRecorder } from './kube/events.js';
import { Informer } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import type { Logger } from './kube/logger.js';
import type { OperatorMetrics, ReconcileResult } from './kube/metrics.js';
import { WorkQueue } from './kube/queue.js';
import { RESOURCES, type Resource } from './kube/resources.js';
import { LABELS } from './model/names.js';
import type { NodeAdminFactory } from './reconcile/admin.js';
import { Reconciler, StepError } from './reconcile/reconciler.js';

/** Operator settings. */
export interface OperatorOptions {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
  /** Namespaces to watch; empty = all namespaces. */
  readonly namespaces: readonly string[];
  readonly identity: string;
  /** Lease to elect a leader through; undefined = always lead (single instance, tests). */
  readonly leaderElection?: {
    readonly namespace: string;
    readonly name: string;
    readonly leaseDurationMs?: number;
    readonly renewDeadlineMs?: number;
    readonly retryPeriodMs?: number;
  };
  readonly admin?: NodeAdminFactory;
  readonly concurrency?: number;
  readonly resyncMs?: number;
  /** Called when leadership is lost: the process should exit (client-go does the same). */
  readonly onLostLeadership?: () => void;
}

const keyOf = (ns: string, name: string): string => `${ns}/${name}`;

/**
 * Cached objects without `metadata.managedFields` (often the largest part of an object, and
 * never read by the operator): the informers' memory is what the reconciler reads.
 */
export function withoutManagedFields(o: KubeObj): KubeObj {
  if (!o.metadata || !('managedFields' in o.metadata)) return o;
  const { managedFields: _dropped, ...metadata } = o.metadata as KubeObj['metadata'] & { managedFields?: unknown };
  return { ...o, metadata };
}

/** A cached pod: metadata and status only (a pass reads readiness, revision and host IP, never the spec). */
export function podView(o: KubeObj): KubeObj {
  const p = withoutManagedFields(o) as KubeObj & { status?: unknown };
  return {
    ...(p.apiVersion ? { apiVersion: p.apiVersion } : {}),
    ...(p.kind ? { kind: p.kind } : {}),
    ...(p.metadata ? { metadata: p.metadata } : {}),
    ...(p.status !== undefined ? { status: p.status } : {}),
  };
}

/** A running operator instance. */
export class Operator {
  private readonly informers: Informer<KubeObj>[] = [];
  private readonly caches = new InformerCaches();
  /** The reconciler's client: reads from the informers' caches, writes to the API server. */
  readonly reader: CachedKubeClient;
  private readonly queue: WorkQueue;
  private readonly elector: LeaderElector | undefined;
  private readonly reconciler: Reconciler;
  private depthTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly o: OperatorOptions) {
    const events = new KubeEventRecorder(o.client, o.identity, (e) =>
      o.log.warn({ err: String(e) }, 'event not recorded'),
    );
    this.reader = new CachedKubeClient(o.client, this.caches);
    this.reconciler = new Reconciler({
      client: this.reader,
      events,
      log: o.log,
      metrics: o.metrics,
      ...(o.admin ? { admin: o.admin } : {}),
    });
    this.queue = new WorkQueue(
      async (key, signal) => {
        const [ns, name] = key.split('/');
        return this.reconciler.reconcile(ns ?? '', name ?? '', signal);
      },
      {
        concurrency: o.concurrency ?? 2,
        observe: (key, outcome, seconds, err, result) => {
          const cancelled = outcome === 'error' && !this.running;
          const label: ReconcileResult = cancelled ? 'cancelled' : outcome;
          o.metrics.reconciles.inc({ result: label });
          if (result?.requeueAfterMs !== undefined) o.metrics.requeues.inc();
          o.metrics.duration.observe({ result: label }, seconds);
          o.metrics.queueDepth.set(this.queue.depth);
          if (label === 'error') {
            o.metrics.errors.inc({ step: err instanceof StepError ? err.step : 'read' });
            o.log.warn(
              { key, err: err instanceof Error ? err.message : String(err) },
              'reconcile failed; will retry with backoff',
            );
          }
        },
      },
    );
    if (o.leaderElection) {
      this.elector = new LeaderElector(o.client, {
        ...o.leaderElection,
        identity: o.identity,
        onStartedLeading: () => {
          o.metrics.isLeader.set(1);
          o.log.info({ identity: o.identity }, 'became leader');
          this.queue.start();
        },
        onStoppedLeading: () => {
          o.metrics.isLeader.set(0);
          o.log.warn({ identity: o.identity }, 'lost leadership');
          if (this.running) o.onLostLeadership?.();
        },
        onError: (e) => o.log.debug({ err: String(e) }, 'leader election request failed'),
      });
    }
  }

  /** True once every informer has listed. */
  get synced(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  /** True when this instance reconciles (leader, or no election configured). */
  get leading(): boolean {
    return this.elector ? this.elector.isLeader : this.running;
  }

  /** Starts watching and, when leader, reconciling. */
  start(): void {
    this.running = true;
    const namespaces: (string | undefined)[] = this.o.namespaces.length > 0 ? [...this.o.namespaces] : [undefined];
    // Every kind the operator owns, so a deleted or edited child is repaired at once, not at resync.
    const owned: readonly Resource[] = [
      RESOURCES.statefulSet,
      RESOURCES.pod,
      RESOURCES.service,
      RESOURCES.configMap,
      RESOURCES.secret,
      RESOURCES.pdb,
      RESOURCES.pvc,
    ];
    for (const ns of namespaces) {
      const clusters = this.watch(RESOURCES.cluster, ns, undefined, (o) => [o.metadata?.name], withoutManagedFields);
      for (const res of owned) {
        // Children carry the instance label; their changes wake the owning cluster.
        this.watch(
          res,
          ns,
          `${LABELS.name}=commitlog`,
          (o) => [o.metadata?.labels?.[LABELS.instance]],
          res === RESOURCES.pod ? podView : withoutManagedFields,
        );
      }
      // A user-supplied CA Secret (spec.tls.caSecretName) carries no label of ours: watch every
      // Secret, cache only its metadata, and wake the clusters that name it.
      this.watch(
        RESOURCES.secret,
        ns,
        undefined,
        (s) =>
          (clusters.list() as CommitLogCluster[])
            .filter(
              (c) => c.metadata.namespace === s.metadata?.namespace && c.spec?.tls?.caSecretName === s.metadata?.name,
            )
            .map((c) => c.metadata.name),
        (s) => ({ metadata: withoutManagedFields(s).metadata ?? {} }),
        true,
      );
    }
    this.depthTimer = setInterval(() => this.o.metrics.queueDepth.set(this.queue.depth), 5_000);
    this.depthTimer.unref();
    if (this.elector) this.elector.start();
    else this.queue.start();
  }

  /** Starts an informer whose events enqueue the clusters `clusterNames` names (in the object's namespace). */
  private watch(
    res: Resource,
    ns: string | undefined,
    labelSelector: string | undefined,
    clusterNames: (o: KubeObj) => readonly (string | undefined)[],
    transform: (o: KubeObj) => KubeObj,
    metadataOnly = false,
  ): Informer<KubeObj> {
    const inf = new Informer<KubeObj>(
      this.o.client,
      {
        resource: res,
        ...(ns !== undefined ? { namespace: ns } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        transform,
        ...(this.o.resyncMs !== undefined ? { resyncMs: this.o.resyncMs } : {}),
        onError: (e) =>
          this.o.log.warn({ resource: res.plural, namespace: ns ?? '*', err: String(e) }, 'watch failed; retrying'),
      },
      (_type, obj) => {
        const objNs = obj.metadata?.namespace;
        for (const name of clusterNames(obj)) if (name && objNs) this.queue.add(keyOf(objNs, name));
      },
    );
    this.informers.push(inf);
    this.caches.add({ resource: res, namespace: ns, labelSelector, metadataOnly, cache: inf });
    inf.start();
    return inf;
  }

  /** Graceful shutdown: cancel passes in flight and wait for them, release the Lease, stop watches. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.depthTimer);
    await this.queue.shutdown();
    await this.elector?.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
