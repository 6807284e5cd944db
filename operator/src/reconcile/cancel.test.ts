/**
 * Shutdown cancels a pass in flight (controller-runtime's context, issue 17 item 6): the
 * queue's AbortSignal reaches the reconcile, a pass blocked on the API returns at once when
 * the queue shuts down, and nothing it would have written afterwards is written.
 */
import assert from 'node:assert/strict';
import { FakeKubeClient } from '../kube/testing/fake-client.js';
import { silentLogger } from '../kube/logger.js';
import { WorkQueue } from '../kube/queue.js';
import { RESOURCES, type Resource } from '../kube/resources.js';
import { until } from '../kube/testing/wait.js';
import type { ListResult, KubeObj } from '../kube/client.js';
import { Reconciler } from './reconciler.js';

/** A fake API server whose pod list hangs until released, as an overloaded API server would. */
class HangingPodList extends FakeKubeClient {
  hung = false;
  private release: () => void = () => undefined;
  private readonly gate = new Promise<void>((r) => (this.release = r));

  override async list<T extends KubeObj>(
    res: Resource,
    ns: string | undefined,
    labelSelector?: string,
    fieldSelector?: string,
  ): Promise<ListResult<T>> {
    if (res.kind === 'Pod') {
      this.hung = true;
      await this.gate;
    }
    return super.list<T>(res, ns, labelSelector, fieldSelector);
  }

  unblock(): void {
    this.release();
  }
}

describe('cancelling a reconcile pass', function () {
  this.timeout(20_000);

  it('shutdown during a pass blocked on the API returns promptly and the pass makes no further writes', async () => {
    const client = new HangingPodList();
    client.seed(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: 'default', uid: 'uid-demo', generation: 1 },
      spec: { replicas: 3, external: { type: 'None' } },
      status: { clusterId: 'cid-1', bootstrapped: false },
    });
    const events: string[] = [];
    const r = new Reconciler({
      client,
      log: silentLogger,
      events: {
        record: (_o, _t, reason) => {
          events.push(reason);
          return Promise.resolve();
        },
      },
    });
    let outcome: string | undefined;
    const q = new WorkQueue((key, signal) => r.reconcile('default', key, signal), {
      observe: (_k, o, _s, err) => (outcome = `${o}: ${err instanceof Error ? err.message : ''}`),
    });
    q.start();
    q.add('demo');
    await until(() => client.hung, 'the pass to block on the pod list', 10_000, 5);
    client.clearRequests();

    let stopped = false;
    const shutdown = q.shutdown().then(() => (stopped = true));
    await until(() => stopped, 'shutdown to return while the API call still hangs', 10_000, 5);
    assert.match(outcome ?? '', /^error: .*work queue shut down$/, 'the pass ended with the abort');

    client.unblock(); // the hung request finally answers: the cancelled pass must not go on
    await shutdown;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(client.writes(), [], 'no write after the shutdown');
    assert.deepEqual(events, [], 'no event either');
  });
});
