/**
 * The optional kube-scheduler (`startControlPlane({ scheduler: true })`): with no kubelet,
 * a Node object that reports Ready is enough for the scheduler to bind a pod to it. Runs its
 * own small control plane (no CRDs), because the run's shared one has no scheduler.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { controlPlaneStartTimeoutMs } from '../support/control-plane.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

describe('test control plane with kube-scheduler', function () {
  this.timeout(60_000);
  let cp: ControlPlane | undefined;
  before(async function () {
    this.timeout(controlPlaneStartTimeoutMs);
    cp = await startControlPlane({ scheduler: true, crdDir: null });
  });
  after(async function () {
    this.timeout(30_000);
    await cp?.stop();
  });

  it('binds a pod to a Ready node', async () => {
    assert.ok(cp !== undefined);
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNode({ body: { metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' } } } });
    const capacity = { cpu: '4', memory: '8Gi', pods: '110' };
    await core.patchNodeStatus(
      {
        name: 'node-a',
        body: {
          status: {
            capacity,
            allocatable: capacity,
            conditions: [{ type: 'Ready', status: 'True', reason: 'Test', message: 'no kubelet: set by the test' }],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    // The controller-manager creates the `default` ServiceAccount a moment after the namespace
    // exists; pod admission needs it.
    for (let i = 0; ; i++) {
      try {
        await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
        break;
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 404) || i > 100) throw e;
        await sleep(200);
      }
    }
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'p' },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: 'c', image: 'example.invalid/never-pulled' }],
        },
      },
    });
    const deadline = Date.now() + 30_000;
    let nodeName: string | undefined;
    while (nodeName === undefined && Date.now() < deadline) {
      nodeName = (await core.readNamespacedPod({ namespace: 'default', name: 'p' })).spec?.nodeName;
      if (nodeName === undefined) await sleep(200);
    }
    assert.equal(nodeName, 'node-a');
  });
});
