/**
 * Scale without deadlock on a real API server (issue 14, item 5 of the issue, item 4 of the
 * task): a cluster that never formed scales freely; an unreachable Admin service is a Warning
 * event and a condition, retried with growing delays; the force annotation moves a blocked
 * scale-down step, and is refused when it would lose quorum unless that is allowed too.
 * No kubelet: the StatefulSet controller creates the pods and the test marks them Ready.
 */
import assert from 'node:assert/strict';
import { ANNOTATIONS, type CommitLogClusterSpec, type Condition } from './api/types.js';
import { KubeEventRecorder } from './kube/events.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { grpcNodeAdmin } from './reconcile/admin-grpc.js';
import { FakeNodeAdmin } from './reconcile/testing/fake-admin.js';
import { Reconciler } from './reconcile/reconciler.js';
import { useApiServer, type EventObj } from './testing/api-server.js';

describe('scaling never deadlocks (real API server)', function () {
  this.timeout(120_000);
  const api = useApiServer();

  const patchCluster = (body: unknown): Promise<unknown> =>
    api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), body);
  const create = (spec: CommitLogClusterSpec): Promise<unknown> => api.createCluster('demo', spec);
  const stsReplicas = async (): Promise<number | undefined> =>
    (await api.client.get<{ metadata?: object; spec?: { replicas?: number } }>(RESOURCES.statefulSet, api.ns, 'demo'))
      ?.spec?.replicas;
  const condition = (type: string): Promise<Condition | undefined> => api.condition('demo', type);
  const warnings = (reason: string): Promise<EventObj[]> =>
    api.events((e) => e.type === 'Warning' && e.reason === reason);
  /** Waits for the StatefulSet controller's pods, then reports those in `ready` as Ready, the others not. */
  const podsReady = async (n: number, ready: (i: number) => boolean): Promise<void> => {
    await until(
      async () => (await api.client.list(RESOURCES.pod, api.ns)).items.length >= n,
      `the StatefulSet controller to create ${n} pods`,
      30_000,
      200,
    );
    for (let i = 0; i < n; i++) await api.setPodReady(`demo-${i}`, ready(i));
  };

  it('a cluster that never bootstrapped scales down without the Admin service', async () => {
    await create({ replicas: 3, external: { type: 'None' } });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await r.reconcile(api.ns, 'demo');
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 3);
    await patchCluster({ spec: { replicas: 1 } });
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 1, 'no member ever became ready: nothing to remove from Raft');
  });

  it('an unreachable Admin service is a Warning event and a condition, retried with growing delays; the force annotation moves the step', async () => {
    await create({ replicas: 3, external: { type: 'None' } });
    const admin = new FakeNodeAdmin([]); // no pod answers
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: new KubeEventRecorder(api.client, 'scale-test'),
      admin: admin.factory(),
      progressRequeueMs: 1_000,
    });
    await r.reconcile(api.ns, 'demo');
    await r.reconcile(api.ns, 'demo');
    await podsReady(3, () => true);
    await patchCluster({ spec: { replicas: 2 } });
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 3; i++) delays.push((await r.reconcile(api.ns, 'demo')).requeueAfterMs);
    assert.deepEqual(delays, [1_000, 2_000, 4_000], 'retries back off while the Admin service does not answer');
    assert.equal(await stsReplicas(), 3, 'no shrink without removing the member');
    const degraded = await condition('Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'AdminUnreachable']);
    assert.match(degraded?.message ?? '', /demo-0: demo-0 unreachable/);
    assert.equal((await condition('Ready'))?.reason, 'AdminUnreachable');
    assert.match(
      (await condition('Progressing'))?.message ?? '',
      /scale-down waits for the nodes' Admin service to remove demo-2.*: Admin service unreachable/,
    );
    assert.equal((await warnings('AdminUnreachable')).length, 1, 'one event for a persisting failure');

    await patchCluster({ metadata: { annotations: { [ANNOTATIONS.forceScaleDown]: 'demo-1' } } });
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 3, 'the annotation must name the pod the step removes');
    await patchCluster({ metadata: { annotations: { [ANNOTATIONS.forceScaleDown]: 'demo-2' } } });
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 2);
    assert.equal((await warnings('ForcedScaleDown')).length, 1);
  });

  it("with the production gRPC Admin client, an unreachable Admin service names each ready pod's gRPC error", async () => {
    // GIVEN a cluster of 3 whose pods are Ready but whose Admin service no one can reach
    // (the pods' DNS names do not resolve outside a cluster)
    await create({ replicas: 3, external: { type: 'None' } });
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: new KubeEventRecorder(api.client, 'scale-test'),
      admin: grpcNodeAdmin,
    });
    await r.reconcile(api.ns, 'demo');
    await r.reconcile(api.ns, 'demo');
    await podsReady(3, () => true);
    // WHEN a scale-down needs the Admin service
    await patchCluster({ spec: { replicas: 2 } });
    await r.reconcile(api.ns, 'demo');
    // THEN nothing shrinks, and Degraded names each pod's gRPC status and message
    assert.equal(await stsReplicas(), 3, 'no shrink without removing the member');
    const degraded = await condition('Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'AdminUnreachable']);
    for (const pod of ['demo-0', 'demo-1', 'demo-2'])
      assert.match(degraded?.message ?? '', new RegExp(`${pod}: 14 UNAVAILABLE: \\S`), `${pod}'s gRPC error`);
    assert.equal((await warnings('AdminUnreachable')).length, 1);
  });

  it('a forced step that would lose quorum is refused with an event, unless quorum loss is allowed', async () => {
    await create({ replicas: 3, external: { type: 'None' } });
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: new KubeEventRecorder(api.client, 'scale-test'),
      admin: new FakeNodeAdmin([]).factory(),
    });
    await r.reconcile(api.ns, 'demo');
    await r.reconcile(api.ns, 'demo');
    await podsReady(3, (i) => i === 2); // only the pod to remove is ready
    await patchCluster({
      spec: { replicas: 2 },
      metadata: { annotations: { [ANNOTATIONS.forceScaleDown]: 'demo-2' } },
    });
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 3);
    assert.match(
      (await condition('Progressing'))?.message ?? '',
      /forced scale-down of demo-2 refused: 0 ready member\(s\) would remain/,
    );
    assert.equal((await warnings('ForceScaleDownRefused')).length, 1);
    await patchCluster({ metadata: { annotations: { [ANNOTATIONS.allowQuorumLoss]: 'true' } } });
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 2);
  });
});
