/**
 * Re-creating a CommitLogCluster over retained PersistentVolumeClaims (issue 14, item 4) on a
 * real API server and controller-manager: the claims carry the cluster id, a re-created
 * cluster adopts it (and its bootstrapped flag) instead of minting a new one, so the nodes
 * resume their Raft log; claims of other clusters are a condition and a Warning event, never
 * a crash-loop.
 */
import assert from 'node:assert/strict';
import { useControlPlane, useNamespace, type ControlPlane } from '../../test/support/control-plane.js';
import type { CommitLogCluster, Condition } from './api/types.js';
import { HttpKubeClient, type KubeObj } from './kube/client.js';
import { KubeEventRecorder } from './kube/events.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { commonLabels } from './model/names.js';
import { VOLUME_ANNOTATIONS } from './reconcile/identity.js';
import { Reconciler } from './reconcile/reconciler.js';

interface EventObj extends KubeObj {
  readonly type?: string;
  readonly reason?: string;
  readonly note?: string;
}

describe('re-creating a cluster over retained volumes on a real API server', function () {
  this.timeout(180_000);
  let cp: ControlPlane;
  let transport: KubeConfigTransport;
  let client: HttpKubeClient;
  const ns = useNamespace();

  before(async () => {
    cp = await useControlPlane();
    transport = new KubeConfigTransport(cp.kubeConfig);
    client = new HttpKubeClient(transport);
  });

  const create = (): Promise<unknown> =>
    client.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      spec: { replicas: 1, external: { type: 'None' } },
    });
  const cluster = async (): Promise<CommitLogCluster> => {
    const c = await client.get<CommitLogCluster>(RESOURCES.cluster, ns.name, 'demo');
    assert.ok(c, 'cluster demo exists');
    return c;
  };
  const condition = async (type: string): Promise<Condition | undefined> =>
    (await cluster()).status?.conditions?.find((x) => x.type === type);
  const annotations = async (pvc: string): Promise<Readonly<Record<string, string>>> =>
    (await client.get(RESOURCES.pvc, ns.name, pvc))?.metadata?.annotations ?? {};
  const events = async (reason: string): Promise<EventObj[]> =>
    (await client.list<EventObj>(RESOURCES.event, ns.name)).items.filter((e) => e.reason === reason);
  const reconciler = (): Reconciler =>
    new Reconciler({ client, log: silentLogger, events: new KubeEventRecorder(client, 'retained-volumes-test') });

  it('a cluster deleted with retained claims and applied again adopts the recorded cluster id and bootstrapped flag', async () => {
    await create();
    const r = reconciler();
    await r.reconcile(ns.name, 'demo'); // records a new cluster id
    const first = (await cluster()).status?.clusterId;
    assert.ok(first);
    await r.reconcile(ns.name, 'demo'); // creates the StatefulSet
    await until(
      async () => (await client.get(RESOURCES.pod, ns.name, 'demo-0')) !== undefined,
      'the StatefulSet controller to create claim data-demo-0 and pod demo-0',
      60_000,
      200,
    );
    // The cluster forms: pod 0 Ready (no kubelet here, so the test writes what one would).
    await transport.request('PATCH', `${objectPath(RESOURCES.pod, ns.name, 'demo-0')}/status`, {
      body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
      contentType: 'application/merge-patch+json',
    });
    await r.reconcile(ns.name, 'demo');
    assert.equal((await cluster()).status?.bootstrapped, true);
    assert.deepEqual(
      [
        (await annotations('data-demo-0'))[VOLUME_ANNOTATIONS.clusterId],
        (await annotations('data-demo-0'))[VOLUME_ANNOTATIONS.bootstrapped],
      ],
      [first, 'true'],
      'the claim records the cluster id and that it formed',
    );

    await client.delete(RESOURCES.cluster, ns.name, 'demo');
    await until(
      async () =>
        (await client.get(RESOURCES.statefulSet, ns.name, 'demo')) === undefined &&
        (await client.get(RESOURCES.pod, ns.name, 'demo-0')) === undefined,
      'the garbage collector to delete the StatefulSet and its pod',
      120_000,
      250,
    );
    assert.ok(await client.get(RESOURCES.pvc, ns.name, 'data-demo-0'), 'the claim is retained (whenDeleted: Retain)');

    await create();
    const again = reconciler();
    await again.reconcile(ns.name, 'demo');
    const status = (await cluster()).status;
    assert.deepEqual([status?.clusterId, status?.bootstrapped], [first, true], 'the old identity is resumed');
    const adopted = await events('ClusterIdAdopted');
    assert.equal(adopted.length, 1);
    assert.match(adopted[0]?.note ?? '', /retained PersistentVolumeClaims \(data-demo-0\): resuming cluster/);
    await again.reconcile(ns.name, 'demo');
    const config = await client.get<KubeObj & { data?: Record<string, string> }>(
      RESOURCES.configMap,
      ns.name,
      'demo-config',
    );
    const nodeYaml = Object.values(config?.data ?? {}).join('\n');
    assert.match(nodeYaml, new RegExp(`cluster-id: "?${first}`), 'the nodes are configured with the old cluster id');
    assert.match(nodeYaml, /bootstrap: false/, 'and may not bootstrap a second cluster');
  });

  const claim = (name: string, clusterId: string): Promise<unknown> =>
    client.create(RESOURCES.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name,
        namespace: ns.name,
        labels: commonLabels('demo', 'node'),
        annotations: { [VOLUME_ANNOTATIONS.clusterId]: clusterId },
      },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    } as KubeObj);

  it('claims of two different clusters are refused with ClusterIdConflict and no cluster id is recorded', async () => {
    await claim('data-demo-0', 'aaaa');
    await claim('data-demo-1', 'bbbb');
    await create();
    await reconciler().reconcile(ns.name, 'demo');
    assert.equal((await cluster()).status?.clusterId, undefined);
    const degraded = await condition('Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'ClusterIdConflict']);
    assert.match(degraded?.message ?? '', /data-demo-0: aaaa; data-demo-1: bbbb/);
    assert.equal((await events('ClusterIdConflict')).length, 1);
  });

  it("a claim holding another cluster's data stops the reconcile with ClusterIdMismatch before any child is written", async () => {
    await create();
    const r = reconciler();
    await r.reconcile(ns.name, 'demo'); // records a new id
    await claim('data-demo-0', 'another-cluster');
    await r.reconcile(ns.name, 'demo');
    assert.equal(await client.get(RESOURCES.statefulSet, ns.name, 'demo'), undefined, 'no StatefulSet was created');
    const ready = await condition('Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'ClusterIdMismatch']);
    assert.match(ready?.message ?? '', /data-demo-0: another-cluster/);
    assert.equal((await events('ClusterIdMismatch')).length, 1);
  });
});
