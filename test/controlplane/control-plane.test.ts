/**
 * Smoke tests of the real control plane (needs the binaries: `npm run testbin`). They
 * specify what the operator tests rely on: the pinned version answers, namespaces work,
 * the controller-manager garbage-collects by owner reference, the audit log counts writes,
 * and CRDs are served once installed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, CoreV1Api, CustomObjectsApi, VersionApi, type V1ConfigMap } from '@kubernetes/client-node';
import {
  controlPlaneStartTimeoutMs,
  useControlPlane,
  useNamespace,
  type ControlPlane,
} from '../support/control-plane.js';
import { adminIdentity } from './control-plane.js';
import { controlPlaneDir, pinnedVersions } from './config.js';
import { installCrds, parseManifests, readCrds, refusedObjects } from './crds.js';

/** Polls `probe` until it returns true, or fails with `what` after `timeoutMs`. */
async function eventually(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`${what}: not true after ${timeoutMs} ms`);
    await sleep(200);
  }
}

const isNotFound = (e: unknown): boolean => e instanceof ApiException && e.code === 404;

describe('test control plane (etcd + kube-apiserver + kube-controller-manager from Go modules)', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let core: CoreV1Api;

  before(async function () {
    this.timeout(controlPlaneStartTimeoutMs);
    // Without crds/: these tests specify the control plane itself, not the project's CRDs.
    cp = await useControlPlane({ crds: false });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
  });

  const ns = useNamespace({ crds: false });

  it('answers /version with the pinned Kubernetes release', async () => {
    const v = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
    assert.equal(v.gitVersion, pinnedVersions().kubernetes);
    assert.equal(cp.versions.kubernetes, v.gitVersion);
  });

  it('gives each test its own namespace, created and active', async () => {
    const got = await core.readNamespace({ name: ns.name });
    assert.equal(got.status?.phase, 'Active');
    assert.equal(got.metadata?.labels?.['commitlog.dev/test'], 'true');
  });

  it('authenticates client certificates and enforces RBAC for users outside system:masters', async () => {
    const nobody = await cp.kubeConfigFor({ user: 'nobody' });
    await assert.rejects(
      nobody.kubeConfig.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns.name }),
      (e: unknown) => e instanceof ApiException && e.code === 403,
    );
  });

  it('garbage-collects a ConfigMap whose owner was deleted (controller-manager running)', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'owner' } } });
    const uid = owner.metadata?.uid;
    assert.ok(uid !== undefined);
    const dependent: V1ConfigMap = {
      metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid }] },
      data: { k: 'v' },
    };
    await core.createNamespacedConfigMap({ namespace: ns.name, body: dependent });
    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'owner', propagationPolicy: 'Background' });
    await eventually('dependent ConfigMap is garbage-collected', 30_000, async () => {
      try {
        await core.readNamespacedConfigMap({ namespace: ns.name, name: 'dependent' });
        return false;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    });
  });

  it('records each write request in the audit log, and no reads', async () => {
    const before = await cp.audit.checkpoint();
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'audited' } } });
    await core.readNamespacedConfigMap({ namespace: ns.name, name: 'audited' });
    await core.listNamespacedConfigMap({ namespace: ns.name });
    await core.patchNamespacedConfigMap({
      namespace: ns.name,
      name: 'audited',
      body: [{ op: 'add', path: '/data', value: { a: 'b' } }],
    });
    const after = await cp.audit.checkpoint();
    const writes = cp.audit.between(before, after, { namespace: ns.name, user: adminIdentity.user });
    assert.deepEqual(
      writes.map((w) => [w.verb, w.objectRef?.resource, w.objectRef?.name]),
      [
        ['create', 'configmaps', 'audited'],
        ['patch', 'configmaps', 'audited'],
      ],
    );
    assert.equal(cp.audit.between(before, after, { namespace: ns.name, verb: 'delete' }).length, 0);
  });

  it('serves a CRD once installed: Established, and its schema rejects bad objects', async () => {
    const crds = readCrds(join(controlPlaneDir, 'testdata'));
    assert.deepEqual(await installCrds(cp.kubeConfig, crds), ['widgets.test.commitlog.dev']);
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const widget = (size: number): object => ({
      apiVersion: 'test.commitlog.dev/v1',
      kind: 'Widget',
      metadata: { name: `w${size}` },
      spec: { size },
    });
    await custom.createNamespacedCustomObject({
      group: 'test.commitlog.dev',
      version: 'v1',
      namespace: ns.name,
      plural: 'widgets',
      body: widget(3),
    });
    await assert.rejects(
      custom.createNamespacedCustomObject({
        group: 'test.commitlog.dev',
        version: 'v1',
        namespace: ns.name,
        plural: 'widgets',
        body: widget(0),
      }),
      (e: unknown) =>
        e instanceof ApiException && e.code === 422 && /should be greater than or equal to 1/.test(String(e.body)),
    );
  });

  it('judges manifests object by object: a refused object is reported with the reason, nothing is persisted', async () => {
    const objects = parseManifests(`
apiVersion: v1
kind: ConfigMap
metadata: { name: fine, namespace: ${ns.name} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: broken, namespace: ${ns.name} }
spec:
  replicas: -1
  selector: { matchLabels: { app: x } }
  template:
    metadata: { labels: { app: x } }
    spec: { containers: [{ name: c, image: busybox }] }
`);
    const refused = await refusedObjects(cp.kubeConfig, objects);
    assert.equal(refused.length, 1, refused.join('\n'));
    assert.match(
      refused[0] ?? '',
      /^Deployment\/broken: HTTP 422 .*spec\.replicas.*must be greater than or equal to 0/,
    );
    await assert.rejects(core.readNamespacedConfigMap({ namespace: ns.name, name: 'fine' }), isNotFound);
  });

  it('restarts the API server on the same address with the data kept (for recovery tests)', async function () {
    this.timeout(120_000);
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'survivor' }, data: { k: 'v' } },
    });
    await cp.stopApiServer();
    try {
      await assert.rejects(core.readNamespacedConfigMap({ namespace: ns.name, name: 'survivor' }), (e: unknown) => {
        assert.equal(((e as Error).cause as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
        return true;
      });
    } finally {
      await cp.startApiServer();
    }
    const got = await core.readNamespacedConfigMap({ namespace: ns.name, name: 'survivor' });
    assert.deepEqual(got.data, { k: 'v' });
  });
});
