/**
 * Re-creating a CommitLogCluster over retained PersistentVolumeClaims (issue 14, item 4) on a
 * real API server and controller-manager: the claims carry the cluster id, a re-created
 * cluster adopts it (and its bootstrapped flag) instead of minting a new one, so the nodes
 * resume their Raft log; claims of other clusters are a condition and a Warning event, never
 * a crash-loop.
 */
import assert from 'node:assert/strict';
import type { CommitLogCluster, Condition } from './api/types.js';
import type { KubeObj } from './kube/client.js';
import { KubeEventRecorder } from './kube/events.js';
import { silentLogger } from './kube/logger.js';
import { RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { commonLabels } from './model/names.js';
import { VOLUME_ANNOTATIONS } from './reconcile/identity.js';
import { Reconciler } from './reconcile/reconciler.js';
import { useApiServer, type EventObj } from './testing/api-server.js';

describe('re-creating a cluster over retained volumes on a real API server', function () {
  this.timeout(180_000);
  const api = useApiServer();

  const create = (): Promise<unknown> => api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
  const cluster = (): Promise<CommitLogCluster> => api.cluster('demo');
  const condition = (type: string): Promise<Condition | undefined> => api.condition('demo', type);
  const annotations = async (pvc: string): Promise<Readonly<Record<string, string>>> =>
    (await api.client.get(RESOURCES.pvc, api.ns, pvc))?.metadata?.annotations ?? {};
  const events = (reason: string): Promise<EventObj[]> => api.events((e) => e.reason === reason);
  const reconciler = (): Reconciler =>
    new Reconciler({
      client: api.client,
      log: silentLogger,
      events: new KubeEventRecorder(api.client, 'retained-volumes-test'),
    });

  it('a cluster deleted with retained claims and applied again adopts the recorded cluster id and bootstrapped flag', async () => {
    await create();
    const r = reconciler();
    await r.reconcile(api.ns, 'demo'); // records a new cluster id
    const first = (await cluster()).status?.clusterId;
    assert.ok(first);
    await r.reconcile(api.ns, 'demo'); // creates the StatefulSet
    await until(
      async () => (await api.client.get(RESOURCES.pod, api.ns, 'demo-0')) !== undefined,
      'the StatefulSet controller to create claim data-demo-0 and pod demo-0',
      60_000,
      200,
    );
    // The cluster forms: pod 0 Ready (no kubelet here, so the test writes what one would).
    await api.setPodReady('demo-0');
    await r.reconcile(api.ns, 'demo');
    assert.equal((await cluster()).status?.bootstrapped, true);
    assert.deepEqual(
      [
        (await annotations('data-demo-0'))[VOLUME_ANNOTATIONS.clusterId],
        (await annotations('data-demo-0'))[VOLUME_ANNOTATIONS.bootstrapped],
      ],
      [first, 'true'],
      'the claim records the cluster id and that it formed',
    );

    await api.client.delete(RESOURCES.cluster, api.ns, 'demo');
    await until(
      async () =>
        (await api.client.get(RESOURCES.statefulSet, api.ns, 'demo')) === undefined &&
        (await api.client.get(RESOURCES.pod, api.ns, 'demo-0')) === undefined,
      'the garbage collector to delete the StatefulSet and its pod',
      120_000,
      250,
    );
    assert.ok(
      await api.client.get(RESOURCES.pvc, api.ns, 'data-demo-0'),
      'the claim is retained (whenDeleted: Retain)',
    );

    await create();
    const again = reconciler();
    await again.reconcile(api.ns, 'demo');
    const status = (await cluster()).status;
    assert.deepEqual([status?.clusterId, status?.bootstrapped], [first, true], 'the old identity is resumed');
    const adopted = await events('ClusterIdAdopted');
    assert.equal(adopted.length, 1);
    assert.match(adopted[0]?.note ?? '', /retained PersistentVolumeClaims \(data-demo-0\): resuming cluster/);
    await again.reconcile(api.ns, 'demo');
    const config = await api.client.get<KubeObj & { data?: Record<string, string> }>(
      RESOURCES.configMap,
      api.ns,
      'demo-config',
    );
    const nodeYaml = Object.values(config?.data ?? {}).join('\n');
    assert.match(nodeYaml, new RegExp(`cluster-id: "?${first}`), 'the nodes are configured with the old cluster id');
    assert.match(nodeYaml, /bootstrap: false/, 'and may not bootstrap a second cluster');
  });

  it('with storage.pvcRetention.whenDeleted: Delete the claims go with the cluster, and applying it again forms a new cluster', async () => {
    // GIVEN a formed cluster of 1 whose claims are to be deleted with it, its id on its claim
    await api.createCluster('demo', {
      replicas: 1,
      external: { type: 'None' },
      storage: { pvcRetention: { whenDeleted: 'Delete' } },
    });
    const r = reconciler();
    await r.reconcile(api.ns, 'demo'); // records a new cluster id
    const first = (await cluster()).status?.clusterId;
    await r.reconcile(api.ns, 'demo'); // creates the StatefulSet
    await until(
      async () => (await api.client.get(RESOURCES.pod, api.ns, 'demo-0')) !== undefined,
      'the StatefulSet controller to create claim data-demo-0 and pod demo-0',
      60_000,
      200,
    );
    await api.setPodReady('demo-0');
    await r.reconcile(api.ns, 'demo');
    assert.equal((await annotations('data-demo-0'))[VOLUME_ANNOTATIONS.clusterId], first);

    // WHEN the cluster is deleted
    await api.client.delete(RESOURCES.cluster, api.ns, 'demo');

    // THEN its claim is deleted too (the StatefulSet controller made the StatefulSet its owner)
    await until(
      async () => (await api.client.get(RESOURCES.pvc, api.ns, 'data-demo-0')) === undefined,
      'the garbage collector to delete claim data-demo-0 with the StatefulSet (whenDeleted: Delete)',
      120_000,
      250,
    );
    // AND applied again, it is a new cluster: a new id, nothing adopted
    await create();
    await reconciler().reconcile(api.ns, 'demo');
    const again = (await cluster()).status;
    assert.ok(again?.clusterId !== undefined && again.clusterId !== first, 'a new cluster id');
    assert.equal(again.bootstrapped, false);
    assert.deepEqual(await events('ClusterIdAdopted'), [], 'no claim to adopt an id from');
  });

  const claim = (name: string, clusterId: string): Promise<unknown> =>
    api.client.create(RESOURCES.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace: api.ns,
        labels: commonLabels('demo', 'node'),
        annotations: { [VOLUME_ANNOTATIONS.clusterId]: clusterId },
      },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    } as KubeObj);

  it('claims of two different clusters are refused with ClusterIdConflict and no cluster id is recorded', async () => {
    await claim('data-demo-0', 'aaaa');
    await claim('data-demo-1', 'bbbb');
    await create();
    await reconciler().reconcile(api.ns, 'demo');
    assert.equal((await cluster()).status?.clusterId, undefined);
    const degraded = await condition('Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'ClusterIdConflict']);
    assert.match(degraded?.message ?? '', /data-demo-0: aaaa; data-demo-1: bbbb/);
    assert.equal((await events('ClusterIdConflict')).length, 1);
  });

  it("a claim holding another cluster's data stops the reconcile with ClusterIdMismatch before any child is written", async () => {
    await create();
    const r = reconciler();
    await r.reconcile(api.ns, 'demo'); // records a new id
    await claim('data-demo-0', 'another-cluster');
    await r.reconcile(api.ns, 'demo');
    assert.equal(await api.client.get(RESOURCES.statefulSet, api.ns, 'demo'), undefined, 'no StatefulSet was created');
    const ready = await condition('Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'ClusterIdMismatch']);
    assert.match(ready?.message ?? '', /data-demo-0: another-cluster/);
    assert.equal((await events('ClusterIdMismatch')).length, 1);
  });
});
