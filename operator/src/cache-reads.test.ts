/**
 * Reads from the informers' caches on a real API server (issue 14, item 8): a running
 * operator's steady-state passes over a formed cluster make no GET or LIST request (before,
 * each pass made about 23: the cluster, the StatefulSet, pods, Services, claims, every child
 * before deciding whether to apply it, the certificate Secrets), and still zero writes.
 */
import assert from 'node:assert/strict';
import type { KubeClient, KubeObj, ListResult, WatchOptions } from './kube/client.js';
import { silentLogger } from './kube/logger.js';
import { createMetrics, type OperatorMetrics } from './kube/metrics.js';
import { RESOURCES, type Resource } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { Operator } from './operator.js';
import { FakeNodeAdmin } from './reconcile/testing/fake-admin.js';
import { useApiServer } from './testing/api-server.js';

/** A client that records every request it sends (watches apart). */
class CountingClient implements KubeClient {
  readonly reads: string[] = [];
  readonly writes: string[] = [];
  constructor(private readonly inner: KubeClient) {}
  get<T extends KubeObj>(res: Resource, ns: string | undefined, name: string): Promise<T | undefined> {
    this.reads.push(`GET ${res.plural}/${name}`);
    return this.inner.get<T>(res, ns, name);
  }
  list<T extends KubeObj>(res: Resource, ns: string | undefined, l?: string, f?: string): Promise<ListResult<T>> {
    this.reads.push(`LIST ${res.plural}?${l ?? ''}${f ? `&${f}` : ''}`);
    return this.inner.list<T>(res, ns, l, f);
  }
  apply<T extends KubeObj>(res: Resource, obj: T, sub?: 'status'): Promise<T> {
    this.writes.push(`apply ${res.plural}/${obj.metadata?.name ?? ''}${sub ? '/status' : ''}`);
    return this.inner.apply(res, obj, sub);
  }
  create<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    this.writes.push(`create ${res.plural}/${obj.metadata?.name ?? ''}`);
    return this.inner.create(res, obj);
  }
  mergePatch<T extends KubeObj>(res: Resource, ns: string | undefined, name: string, patch: object): Promise<T> {
    this.writes.push(`patch ${res.plural}/${name}`);
    return this.inner.mergePatch<T>(res, ns, name, patch);
  }
  replace<T extends KubeObj>(res: Resource, obj: T): Promise<T> {
    this.writes.push(`replace ${res.plural}/${obj.metadata?.name ?? ''}`);
    return this.inner.replace(res, obj);
  }
  delete(res: Resource, ns: string | undefined, name: string): Promise<void> {
    this.writes.push(`delete ${res.plural}/${name}`);
    return this.inner.delete(res, ns, name);
  }
  watch<T extends KubeObj>(res: Resource, ns: string | undefined, opts: WatchOptions) {
    return this.inner.watch<T>(res, ns, opts);
  }
}

const passes = async (m: OperatorMetrics): Promise<number> =>
  (await m.reconciles.get()).values.filter((v) => v.labels.result === 'success').reduce((a, v) => a + v.value, 0);

describe('the operator reads from its informers’ caches on a real API server', function () {
  this.timeout(120_000);
  const api = useApiServer({ user: 'commitlog-operator-cache' });

  it('a steady-state pass over a formed 3-node cluster sends no GET or LIST and no write', async () => {
    const ids = ['demo-0', 'demo-1', 'demo-2'];
    const admin = FakeNodeAdmin.formed(ids);
    const counting = new CountingClient(api.client);
    const metrics = createMetrics();
    // A short resync re-enqueues the cluster every 300 ms: passes over an unchanged world.
    const op = new Operator({
      client: counting,
      log: silentLogger,
      metrics,
      namespaces: [api.ns],
      identity: 'cache-test',
      admin: admin.factory(),
      resyncMs: 300,
    });
    try {
      op.start();
      await api.createCluster('demo', { replicas: 3 });
      // No kubelet: the StatefulSet controller creates the pods, the test marks them Ready.
      const podNames = async () =>
        (await api.client.list(RESOURCES.pod, api.ns)).items.map((p) => p.metadata?.name ?? '').sort();
      await until(
        async () => (await podNames()).length === 3,
        'the StatefulSet controller to create 3 pods',
        30_000,
        200,
      );
      for (const pod of ids) await api.setPodReady(pod);
      // At rest: three passes in a row without a write (bounded).
      let window = { passes: 0, reads: 0, writes: 0 };
      await until(
        async () => {
          const w = { passes: await passes(metrics), reads: counting.reads.length, writes: counting.writes.length };
          const quiet = w.writes === window.writes && w.passes >= window.passes + 3;
          if (w.writes !== window.writes) window = w;
          return quiet;
        },
        'three consecutive passes without a write',
        60_000,
        100,
      );
      const start = { passes: await passes(metrics), reads: counting.reads.length, writes: counting.writes.length };
      await until(async () => (await passes(metrics)) >= start.passes + 5, 'five more passes', 30_000, 50);
      const n = (await passes(metrics)) - start.passes;
      const reads = counting.reads.slice(start.reads);
      const writes = counting.writes.slice(start.writes);
      assert.deepEqual(writes, [], 'an unchanged cluster gets no writes');
      assert.deepEqual(
        reads,
        [],
        `${n} passes at rest sent ${reads.length} reads (${(reads.length / n).toFixed(1)} per pass)`,
      );
      const status = (await api.cluster('demo')).status;
      assert.equal(status?.readyReplicas, 3, 'the passes saw the pods Ready (from the cache)');
      assert.ok(op.reader.stats.cachedReads > 0, 'the passes read from the caches');
    } finally {
      await op.stop();
    }
  });
});
