/**
 * The local node's volume expansion (resizer.ts): the stage decisions as pure functions, and
 * the addons loop on a real API server (no kubelet needed: the PV controller binds the claim
 * to the volume the provisioner creates, the API server's resize rules judge the patch).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  StorageV1Api,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { until } from '../../operator/src/kube/testing/wait.js';
import { useControlPlane, useNamespace, type ControlPlane } from '../support/control-plane.js';
import { Addons, storageClassName } from './addons.js';
import { pendingNodeResize, resized, resizeStage } from './resizer.js';

const pv = (name: string, size: string, cls = storageClassName): V1PersistentVolume => ({
  metadata: { name },
  spec: { capacity: { storage: size }, storageClassName: cls },
});
const claim = (request: string, capacity: string, phase = 'Bound'): V1PersistentVolumeClaim => ({
  metadata: { name: 'data-demo-0', namespace: 'ns' },
  spec: { volumeName: 'pv-1', resources: { requests: { storage: request } } },
  status: { phase, capacity: { storage: capacity } },
});

describe('local test node: volume expansion (an external-resizer and a node expansion in two stages)', () => {
  it('a bound claim asking for more than its volume holds gets the controller stage, then the node stage', () => {
    const pvs = new Map([['pv-1', pv('pv-1', '1Gi')]]);
    assert.deepEqual(resizeStage(claim('2Gi', '1Gi'), pvs, storageClassName), {
      kind: 'controller',
      pv: 'pv-1',
      size: '2Gi',
    });
    const grown = new Map([['pv-1', pv('pv-1', '2Gi')]]);
    assert.deepEqual(resizeStage(claim('2Gi', '1Gi'), grown, storageClassName), { kind: 'node', size: '2Gi' });
    assert.equal(resizeStage(claim('2Gi', '2Gi'), grown, storageClassName), undefined);
  });

  it('pending, other-class, unknown-volume and equal-but-differently-written claims are left alone', () => {
    assert.equal(
      resizeStage(claim('2Gi', '1Gi', 'Pending'), new Map([['pv-1', pv('pv-1', '1Gi')]]), 'standard'),
      undefined,
    );
    assert.equal(
      resizeStage(claim('2Gi', '1Gi'), new Map([['pv-1', pv('pv-1', '1Gi', 'fast')]]), 'standard'),
      undefined,
    );
    assert.equal(resizeStage(claim('2Gi', '1Gi'), new Map(), 'standard'), undefined);
    assert.equal(resizeStage(claim('1024Mi', '1Gi'), new Map([['pv-1', pv('pv-1', '1Gi')]]), 'standard'), undefined);
  });

  it('the controller stage leaves FileSystemResizePending and NodeResizePending; the node stage clears them', () => {
    const now = new Date('2026-12-02T00:00:00Z');
    const pending = pendingNodeResize({ phase: 'Bound', capacity: { storage: '1Gi' } }, '2Gi', now);
    assert.deepEqual(
      pending.conditions?.map((c) => [c.type, c.status]),
      [['FileSystemResizePending', 'True']],
    );
    assert.deepEqual(pending.allocatedResourceStatuses, { storage: 'NodeResizePending' });
    assert.deepEqual(pending.allocatedResources, { storage: '2Gi' });
    const done = resized(pending, '2Gi');
    assert.equal(done.conditions, undefined);
    assert.equal(done.allocatedResourceStatuses, undefined);
    assert.deepEqual(done.capacity, { storage: '2Gi' });
    assert.deepEqual(done.allocatedResources, { storage: '2Gi' });
  });
});

describe('local test node addons on a real API server: a claim of the test class grows', function () {
  this.timeout(120_000);
  let cp: ControlPlane;
  let addons: Addons | undefined;
  let dir: string;
  const ns = useNamespace();

  before(async () => {
    cp = await useControlPlane();
    dir = mkdtempSync(join(tmpdir(), 'commitlog-addons-'));
    await cp.kubeConfig
      .makeApiClient(StorageV1Api)
      .deleteStorageClass({ name: storageClassName })
      .catch(() => undefined);
    addons = await Addons.start(cp.kubeConfig, {
      loadBalancerCidr: '10.99.250.0/30',
      volumeDir: dir,
      periodMs: 200,
    });
  });
  after(async () => {
    await addons?.stop();
    await cp.kubeConfig.makeApiClient(StorageV1Api).deleteStorageClass({ name: storageClassName });
    rmSync(dir, { recursive: true, force: true });
  });

  it('provisioned, bound, then expanded in two stages: PV capacity, then the claim capacity; conditions cleared', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = ns.name;
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const read = () => core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
    await until(
      async () => (await read()).status?.phase === 'Bound',
      'the claim Bound to a provisioned volume',
      60_000,
      200,
    );
    const volume = (await read()).spec?.volumeName ?? '';
    try {
      // WHEN the claim asks for more (the API server admits it: the class allows expansion)
      await core.patchNamespacedPersistentVolumeClaim({
        namespace,
        name: 'data',
        body: [{ op: 'replace', path: '/spec/resources/requests/storage', value: '2Gi' }],
      });
      // THEN the volume grows, then the claim's capacity (the stages' statuses are unit-tested above).
      await until(
        async () => (await read()).status?.capacity?.['storage'] === '2Gi',
        'status.capacity.storage 2Gi',
        60_000,
        200,
      );
      const pvNow = await core.readPersistentVolume({ name: volume });
      assert.equal(pvNow.spec?.capacity?.['storage'], '2Gi');
      const c = await read();
      assert.deepEqual(c.status?.conditions ?? [], []);
      assert.equal(c.status?.allocatedResourceStatuses?.['storage'], undefined);
      assert.equal(addons?.lastError, null);
    } finally {
      await core.deletePersistentVolume({ name: volume }).catch(() => undefined);
    }
  });
});
