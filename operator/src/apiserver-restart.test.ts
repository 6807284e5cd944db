/**
 * The operator recovers when the API server goes away and comes back mid-run (issue: real
 * control plane, item 3): its watches reconnect, it wins the Lease back, and it repairs
 * drift made after the restart — with no restart of the operator itself.
 */
import { useControlPlane, useNamespace, type ControlPlane } from '../../test/support/control-plane.js';
import type { CommitLogCluster } from './api/types.js';
import { HttpKubeClient } from './kube/client.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { createMetrics } from './kube/metrics.js';
import { RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { Operator } from './operator.js';

describe('operator across an API server restart', function () {
  this.timeout(180_000);
  let cp: ControlPlane;
  let client: HttpKubeClient;
  const ns = useNamespace();

  before(async () => {
    cp = await useControlPlane();
    client = new HttpKubeClient(new KubeConfigTransport(cp.kubeConfig));
  });

  it('reconnects its watches, leads again and repairs drift made after the restart', async () => {
    const cluster: CommitLogCluster = {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      spec: { replicas: 1, external: { type: 'None' } },
    };
    await client.create(RESOURCES.cluster, cluster);
    const op = new Operator({
      client,
      log: silentLogger,
      metrics: createMetrics(),
      namespaces: [ns.name],
      identity: 'restart-test',
      leaderElection: {
        namespace: ns.name,
        name: 'commitlog-operator-leader',
        leaseDurationMs: 2000,
        renewDeadlineMs: 1500,
        retryPeriodMs: 200,
      },
    });
    try {
      op.start();
      await until(
        async () => (await client.get(RESOURCES.configMap, ns.name, 'demo-config')) !== undefined,
        'the first reconcile',
        30_000,
        200,
      );

      // The outage outlasts the Lease's renew deadline, so the operator also loses leadership.
      await cp.stopApiServer();
      try {
        await until(() => !op.leading, 'leadership lost while the API server is down', 15_000, 100);
      } finally {
        await cp.startApiServer();
      }

      await until(() => op.leading && op.synced, 'leadership and synced caches again', 60_000, 200);
      await client.delete(RESOURCES.configMap, ns.name, 'demo-config');
      await until(
        async () => (await client.get(RESOURCES.configMap, ns.name, 'demo-config')) !== undefined,
        'the deleted ConfigMap repaired through a reconnected watch',
        60_000,
        200,
      );
    } finally {
      await op.stop();
    }
  });
});
