/**
 * Every spec change converges on a real API server (issue 14, item 1): a field removed from
 * the spec disappears from the children (server-side apply drops fields the operator no
 * longer sets), data of removed pods is cleaned up after a scale-down, and an unchanged
 * cluster still gets zero writes.
 */
import assert from 'node:assert/strict';
import { ANNOTATIONS, type CommitLogCluster } from './api/types.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { FakeNodeAdmin } from './reconcile/testing/fake-admin.js';
import { Reconciler } from './reconcile/reconciler.js';
import { useApiServer } from './testing/api-server.js';
import { zeroWritesAtRest } from './testing/at-rest.js';

const OPERATOR_USER = 'commitlog-operator-convergence';

interface Container {
  readonly name: string;
  readonly resources?: Record<string, unknown>;
}
interface Sts {
  readonly metadata?: object;
  readonly spec: {
    readonly replicas: number;
    readonly template: {
      readonly spec: { readonly nodeSelector?: Record<string, string>; readonly containers: readonly Container[] };
    };
  };
}
interface Annotated {
  readonly metadata?: { readonly annotations?: Record<string, string> };
}
interface SecretData {
  readonly metadata?: object;
  readonly data?: Record<string, string>;
}

describe('the operator converges every spec change on a real API server', function () {
  this.timeout(120_000);
  const api = useApiServer({ user: OPERATOR_USER });

  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    api.mergePatch(objectPath(RESOURCES.cluster, api.ns, name), { spec });
  const operatorWrites = async (f: () => Promise<unknown>): Promise<string[]> => {
    const a = await api.cp.audit.checkpoint();
    await f();
    const b = await api.cp.audit.checkpoint();
    return api.cp.audit
      .between(a, b, { user: OPERATOR_USER })
      .map(
        (w) =>
          `${w.verb} ${w.objectRef?.resource ?? ''}/${w.objectRef?.name ?? ''}${w.objectRef?.subresource ? `/${w.objectRef.subresource}` : ''}`,
      );
  };
  /** Reconciles until a pass writes nothing (bounded), then returns. */
  const converge = async (r: Reconciler, name: string): Promise<void> => {
    for (let pass = 0; pass < 8; pass++) {
      if ((await operatorWrites(() => r.reconcile(api.ns, name))).length === 0) return;
    }
    assert.fail(`cluster ${name} did not converge within 8 passes`);
  };

  it('a field removed from the spec disappears from the StatefulSet and the external Services, then zero writes', async () => {
    await api.createCluster('demo', {
      replicas: 1,
      resources: { requests: { cpu: '100m', memory: '64Mi' } },
      pod: { nodeSelector: { disk: 'ssd' }, labels: { team: 'a' } },
      external: { type: 'LoadBalancer', annotations: { 'lb.example.com/internal': 'true' } },
    });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await converge(r, 'demo');
    const before = await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo');
    assert.deepEqual(before?.spec.template.spec.nodeSelector, { disk: 'ssd' });
    assert.ok(before?.spec.template.spec.containers[0]?.resources?.requests, 'resources applied');
    assert.equal(
      (await api.client.get<Annotated>(RESOURCES.service, api.ns, 'demo-0-external'))?.metadata?.annotations?.[
        'lb.example.com/internal'
      ],
      'true',
    );

    await patchSpec('demo', { resources: null, pod: null, external: { annotations: null } });
    await converge(r, 'demo');
    const after = await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo');
    assert.equal(
      after?.spec.template.spec.nodeSelector,
      undefined,
      'spec.pod.nodeSelector removed from the pod template',
    );
    assert.deepEqual(
      after?.spec.template.spec.containers[0]?.resources ?? {},
      {},
      'spec.resources removed from the container',
    );
    const svc = await api.client.get<Annotated>(RESOURCES.service, api.ns, 'demo-0-external');
    assert.equal(
      svc?.metadata?.annotations?.['lb.example.com/internal'],
      undefined,
      'spec.external.annotations removed from the Service',
    );
    // At rest (testing/at-rest.ts): the StatefulSet controller and the scheduler react to the
    // last writes asynchronously, and the operator rightly mirrors what they write into status
    // (a stress run, 2026-12-04: one such status patch right after a zero-write pass).
    await zeroWritesAtRest(api, OPERATOR_USER, () => r.reconcile(api.ns, 'demo'));
  });

  it('a paused cluster gets no write but its status condition; removing the annotation applies what changed meanwhile', async () => {
    await api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await converge(r, 'demo');
    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), {
      metadata: { annotations: { [ANNOTATIONS.paused]: 'true' } },
      spec: { pod: { nodeSelector: { disk: 'ssd' } } },
    });
    assert.deepEqual(
      await operatorWrites(() => r.reconcile(api.ns, 'demo')),
      [`patch commitlogclusters/demo/status`],
      'only the ReconciliationPaused condition is written',
    );
    assert.deepEqual(await operatorWrites(() => r.reconcile(api.ns, 'demo')), [], 'and then nothing');
    const paused = await api.condition('demo', 'ReconciliationPaused');
    assert.deepEqual([paused?.status, paused?.reason], ['True', 'Paused']);
    assert.equal(
      (await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo'))?.spec.template.spec.nodeSelector,
      undefined,
      'the spec change waits',
    );

    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), {
      metadata: { annotations: { [ANNOTATIONS.paused]: null } },
    });
    await converge(r, 'demo');
    assert.deepEqual(
      (await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo'))?.spec.template.spec.nodeSelector,
      {
        disk: 'ssd',
      },
    );
    assert.equal(
      (await api.client.get<CommitLogCluster>(RESOURCES.cluster, api.ns, 'demo'))?.status?.conditions?.some(
        (c) => c.type === 'ReconciliationPaused',
      ),
      false,
    );
  });

  it('scaling 5 → 3 removes the certificates of the removed pods from the server Secret and their external Services', async () => {
    await api.createCluster('demo', { replicas: 5 });
    const ids = [0, 1, 2, 3, 4].map((i) => `demo-${i}`);
    const admin = FakeNodeAdmin.formed(ids);
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: { record: () => Promise.resolve() },
      admin: admin.factory(),
    });
    await converge(r, 'demo');
    // No kubelet here: the StatefulSet controller creates the pods, and the test marks them
    // Ready through the status subresource as a kubelet would.
    const podList = async () =>
      (await api.client.list<{ metadata?: { name?: string } }>(RESOURCES.pod, api.ns)).items.map(
        (p) => p.metadata?.name ?? '',
      );
    await until(async () => (await podList()).length === 5, 'the StatefulSet controller to create 5 pods', 30_000, 200);
    for (const pod of ids) {
      await api.setPodReady(pod);
    }
    await converge(r, 'demo');
    const keys = async () =>
      Object.keys((await api.client.get<SecretData>(RESOURCES.secret, api.ns, 'demo-server-tls'))?.data ?? {}).sort();
    assert.ok((await keys()).includes('demo-4.key'), 'five pods have certificates');

    await patchSpec('demo', { replicas: 3 });
    await converge(r, 'demo');
    // Status counts ready pods: let the StatefulSet controller delete the two before the
    // zero-writes check, so that check sees a world at rest.
    await until(
      async () => (await podList()).length === 3,
      'the StatefulSet controller to delete demo-3 and demo-4',
      30_000,
      200,
    );
    await converge(r, 'demo');
    assert.equal((await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo'))?.spec.replicas, 3);
    assert.deepEqual(admin.calls, ['remove demo-4 via demo-0', 'remove demo-3 via demo-0']);
    assert.deepEqual(await keys(), [
      'ca.crt',
      'demo-0.crt',
      'demo-0.key',
      'demo-1.crt',
      'demo-1.key',
      'demo-2.crt',
      'demo-2.key',
    ]);
    const services = (await api.client.list<{ metadata?: { name?: string } }>(RESOURCES.service, api.ns)).items
      .map((s) => s.metadata?.name)
      .sort();
    assert.deepEqual(services, ['demo', 'demo-0-external', 'demo-1-external', 'demo-2-external', 'demo-headless']);
    // At rest (testing/at-rest.ts): the StatefulSet controller and the scheduler react to the
    // last writes asynchronously, and the operator rightly mirrors what they write into status
    // (a stress run, 2026-12-04: one such status patch right after a zero-write pass).
    await zeroWritesAtRest(api, OPERATOR_USER, () => r.reconcile(api.ns, 'demo'));
  });
});
