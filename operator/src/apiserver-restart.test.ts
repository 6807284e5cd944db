/**
 * The operator recovers when the API server goes away and comes back mid-run (issue: real
 * control plane, item 3): its watches reconnect, it wins the Lease back, and it repairs
 * drift made after the restart — with no restart of the operator itself.
 */
import { silentLogger } from './kube/logger.js';
import { createMetrics } from './kube/metrics.js';
import { RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { Operator } from './operator.js';
import { fastLease, useApiServer } from './testing/api-server.js';

describe('operator across an API server restart', function () {
  this.timeout(180_000);
  const api = useApiServer();

  it('reconnects its watches, leads again and repairs drift made after the restart', async () => {
    await api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
    const op = new Operator({
      client: api.client,
      log: silentLogger,
      metrics: createMetrics(),
      namespaces: [api.ns],
      identity: 'restart-test',
      leaderElection: fastLease(api.ns),
    });
    try {
      op.start();
      await until(
        async () => (await api.client.get(RESOURCES.configMap, api.ns, 'demo-config')) !== undefined,
        'the first reconcile',
        30_000,
        200,
      );

      // The outage outlasts the Lease's renew deadline, so the operator also loses leadership.
      await api.cp.stopApiServer();
      try {
        await until(() => !op.leading, 'leadership lost while the API server is down', 15_000, 100);
      } finally {
        await api.cp.startApiServer();
      }

      await until(() => op.leading && op.synced, 'leadership and synced caches again', 60_000, 200);
      await api.client.delete(RESOURCES.configMap, api.ns, 'demo-config');
      await until(
        async () => (await api.client.get(RESOURCES.configMap, api.ns, 'demo-config')) !== undefined,
        'the deleted ConfigMap repaired through a reconnected watch',
        60_000,
        200,
      );
    } finally {
      await op.stop();
    }
  });
});
