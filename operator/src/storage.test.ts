/**
 * Growing volumes on a real API server (issue 14, item 7): a larger spec.storage.size is
 * applied to each PersistentVolumeClaim (the StatefulSet's claim template cannot change and
 * keeps its size), progress is reported while the volume is smaller than asked, and a
 * StorageClass without allowVolumeExpansion is a visible ReconcileFailed. No storage driver
 * runs here: each test binds a pre-created PersistentVolume to the claim (the controller-
 * manager's PV controller marks both Bound), which is what the API server's resize rules need.
 * Schema messages for bad sizes are in apiserver.test.ts.
 */
import assert from 'node:assert/strict';
import type { Condition } from './api/types.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES, type Resource } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { selectorLabels } from './model/names.js';
import { Reconciler, StepError } from './reconcile/reconciler.js';
import { useApiServer } from './testing/api-server.js';

const STORAGE_CLASS: Resource = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  namespaced: false,
};
const PV: Resource = { apiVersion: 'v1', kind: 'PersistentVolume', plural: 'persistentvolumes', namespaced: false };

interface Pvc {
  readonly metadata?: object;
  readonly spec?: { readonly resources?: { readonly requests?: { readonly storage?: string } } };
  readonly status?: { readonly phase?: string };
}
interface Sts {
  readonly metadata?: object;
  readonly spec?: {
    readonly volumeClaimTemplates?: readonly {
      readonly spec?: { readonly resources?: { readonly requests?: { readonly storage?: string } } };
    }[];
  };
}

describe('spec.storage.size grows the volumes (real API server)', function () {
  this.timeout(120_000);
  const api = useApiServer();
  const cleanup: [Resource, string][] = [];
  afterEach(async () => {
    for (const [res, name] of cleanup.splice(0)) await api.client.delete(res, undefined, name);
  });

  /** A StorageClass, and claim data-demo-0 of 1Gi pre-bound to a PersistentVolume of it. */
  async function boundClaim(expandable: boolean): Promise<string> {
    const sc = `${api.ns}-${expandable ? 'grow' : 'fixed'}`;
    await api.client.create(STORAGE_CLASS, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: sc },
      provisioner: 'example.com/none',
      allowVolumeExpansion: expandable,
    });
    cleanup.push([STORAGE_CLASS, sc]);
    await api.client.create(PV, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: sc },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: sc,
        hostPath: { path: '/tmp/unused' },
        claimRef: { namespace: api.ns, name: 'data-demo-0' },
      },
    });
    cleanup.push([PV, sc]);
    await api.client.create(RESOURCES.pvc, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-demo-0', namespace: api.ns, labels: selectorLabels('demo') },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: sc,
        volumeName: sc,
        resources: { requests: { storage: '1Gi' } },
      },
    });
    await until(
      async () => (await api.client.get<Pvc>(RESOURCES.pvc, api.ns, 'data-demo-0'))?.status?.phase === 'Bound',
      'the PV controller to bind data-demo-0',
      30_000,
      200,
    );
    await api.createCluster('demo', {
      replicas: 1,
      external: { type: 'None' },
      storage: { size: '1Gi', storageClassName: sc },
    });
    return sc;
  }
  const grow = (size: string): Promise<unknown> =>
    api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), { spec: { storage: { size } } });
  const condition = (type: string): Promise<Condition | undefined> => api.condition('demo', type);

  it('a larger size is applied to each PVC, the claim template keeps its size, and progress shows until the volume grew', async () => {
    await boundClaim(true);
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    for (let i = 0; i < 3; i++) await r.reconcile(api.ns, 'demo');
    await grow('2Gi');
    await r.reconcile(api.ns, 'demo');
    assert.equal(
      (await api.client.get<Pvc>(RESOURCES.pvc, api.ns, 'data-demo-0'))?.spec?.resources?.requests?.storage,
      '2Gi',
    );
    const sts = await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo');
    assert.equal(
      sts?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage,
      '1Gi',
      'the immutable claim template is left as created',
    );
    const p = await condition('Progressing');
    assert.deepEqual(
      [p?.reason, p?.message],
      ['ExpandingVolumes', 'expanding volumes to 2Gi: data-demo-0'],
      'no driver grows the volume here: its capacity stays 1Gi',
    );
    assert.notEqual((await condition('Degraded'))?.reason, 'ReconcileFailed');
  });

  it('a StorageClass without allowVolumeExpansion makes the expansion a visible ReconcileFailed', async () => {
    await boundClaim(false);
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    for (let i = 0; i < 3; i++) await r.reconcile(api.ns, 'demo');
    await grow('2Gi');
    await assert.rejects(r.reconcile(api.ns, 'demo'), (e: unknown) => e instanceof StepError && e.step === 'storage');
    const d = await condition('Degraded');
    assert.equal(d?.reason, 'ReconcileFailed');
    assert.match(d?.message ?? '', /^step storage failed: .*storageclass that provisions the pvc must support resize/);
  });
});
