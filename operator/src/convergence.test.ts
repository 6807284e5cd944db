/**
 * Every spec change converges on a real API server (issue 14, item 1): a field removed from
 * the spec disappears from the children (server-side apply drops fields the operator no
 * longer sets), data of removed pods is cleaned up after a scale-down, and an unchanged
 * cluster still gets zero writes.
 */
import assert from 'node:assert/strict';
import { useControlPlane, useNamespace, type ControlPlane } from '../../test/support/control-plane.js';
import { ANNOTATIONS, type CommitLogCluster, type CommitLogClusterSpec } from './api/types.js';
import { HttpKubeClient } from './kube/client.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import type { AdminMember } from './reconcile/admin.js';
import { FakeNodeAdmin } from './reconcile/testing/fake-admin.js';
import { Reconciler } from './reconcile/reconciler.js';

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
  let cp: ControlPlane;
  let transport: KubeConfigTransport;
  let client: HttpKubeClient;
  const ns = useNamespace();

  before(async () => {
    cp = await useControlPlane();
    transport = new KubeConfigTransport(
      (await cp.kubeConfigFor({ user: OPERATOR_USER, groups: ['system:masters'] })).kubeConfig,
    );
    client = new HttpKubeClient(transport);
  });

  const manifest = (name: string, spec: CommitLogClusterSpec): CommitLogCluster => ({
    apiVersion: 'commitlog.dev/v1alpha1',
    kind: 'CommitLogCluster',
    metadata: { name, namespace: ns.name },
    spec,
  });
  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, name), {
      body: { spec },
      contentType: 'application/merge-patch+json',
    });
  const operatorWrites = async (f: () => Promise<unknown>): Promise<string[]> => {
    const a = await cp.audit.checkpoint();
    await f();
    const b = await cp.audit.checkpoint();
    return cp.audit
      .between(a, b, { user: OPERATOR_USER })
      .map(
        (w) =>
          `${w.verb} ${w.objectRef?.resource ?? ''}/${w.objectRef?.name ?? ''}${w.objectRef?.subresource ? `/${w.objectRef.subresource}` : ''}`,
      );
  };
  /** Reconciles until a pass writes nothing (bounded), then returns. */
  const converge = async (r: Reconciler, name: string): Promise<void> => {
    for (let pass = 0; pass < 8; pass++) {
      if ((await operatorWrites(() => r.reconcile(ns.name, name))).length === 0) return;
    }
    assert.fail(`cluster ${name} did not converge within 8 passes`);
  };

  it('a field removed from the spec disappears from the StatefulSet and the external Services, then zero writes', async () => {
    await client.create(
      RESOURCES.cluster,
      manifest('demo', {
        replicas: 1,
        resources: { requests: { cpu: '100m', memory: '64Mi' } },
        pod: { nodeSelector: { disk: 'ssd' }, labels: { team: 'a' } },
        external: { type: 'LoadBalancer', annotations: { 'lb.example.com/internal': 'true' } },
      }),
    );
    const r = new Reconciler({ client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await converge(r, 'demo');
    const before = await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo');
    assert.deepEqual(before?.spec.template.spec.nodeSelector, { disk: 'ssd' });
    assert.ok(before?.spec.template.spec.containers[0]?.resources?.requests, 'resources applied');
    assert.equal(
      (await client.get<Annotated>(RESOURCES.service, ns.name, 'demo-0-external'))?.metadata?.annotations?.[
        'lb.example.com/internal'
      ],
      'true',
    );

    await patchSpec('demo', { resources: null, pod: null, external: { annotations: null } });
    await converge(r, 'demo');
    const after = await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo');
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
    const svc = await client.get<Annotated>(RESOURCES.service, ns.name, 'demo-0-external');
    assert.equal(
      svc?.metadata?.annotations?.['lb.example.com/internal'],
      undefined,
      'spec.external.annotations removed from the Service',
    );
    assert.deepEqual(
      await operatorWrites(() => r.reconcile(ns.name, 'demo')),
      [],
      'an unchanged cluster gets no writes',
    );
  });

  it('a paused cluster gets no write but its status condition; removing the annotation applies what changed meanwhile', async () => {
    await client.create(RESOURCES.cluster, manifest('demo', { replicas: 1, external: { type: 'None' } }));
    const r = new Reconciler({ client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await converge(r, 'demo');
    await transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, 'demo'), {
      body: {
        metadata: { annotations: { [ANNOTATIONS.paused]: 'true' } },
        spec: { pod: { nodeSelector: { disk: 'ssd' } } },
      },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual(
      await operatorWrites(() => r.reconcile(ns.name, 'demo')),
      [`patch commitlogclusters/demo/status`],
      'only the ReconciliationPaused condition is written',
    );
    assert.deepEqual(await operatorWrites(() => r.reconcile(ns.name, 'demo')), [], 'and then nothing');
    const paused = (await client.get<CommitLogCluster>(RESOURCES.cluster, ns.name, 'demo'))?.status?.conditions?.find(
      (c) => c.type === 'ReconciliationPaused',
    );
    assert.deepEqual([paused?.status, paused?.reason], ['True', 'Paused']);
    assert.equal(
      (await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo'))?.spec.template.spec.nodeSelector,
      undefined,
      'the spec change waits',
    );

    await transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, 'demo'), {
      body: { metadata: { annotations: { [ANNOTATIONS.paused]: null } } },
      contentType: 'application/merge-patch+json',
    });
    await converge(r, 'demo');
    assert.deepEqual((await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo'))?.spec.template.spec.nodeSelector, {
      disk: 'ssd',
    });
    assert.equal(
      (await client.get<CommitLogCluster>(RESOURCES.cluster, ns.name, 'demo'))?.status?.conditions?.some(
        (c) => c.type === 'ReconciliationPaused',
      ),
      false,
    );
  });

  it('scaling 5 → 3 removes the certificates of the removed pods from the server Secret and their external Services', async () => {
    await client.create(RESOURCES.cluster, manifest('demo', { replicas: 5 }));
    const ids = [0, 1, 2, 3, 4].map((i) => `demo-${i}`);
    const voter = (id: string): AdminMember => ({
      id,
      rpcAddr: `${id}:8400`,
      role: 'voter',
      isLeader: id === 'demo-0',
      lag: 0,
    });
    const admin = new FakeNodeAdmin(ids.map(voter));
    admin.reachable = new Set(ids);
    const r = new Reconciler({
      client,
      log: silentLogger,
      events: { record: () => Promise.resolve() },
      admin: admin.factory(),
    });
    await converge(r, 'demo');
    // No kubelet here: the StatefulSet controller creates the pods, and the test marks them
    // Ready through the status subresource as a kubelet would.
    const podList = async () =>
      (await client.list<{ metadata?: { name?: string } }>(RESOURCES.pod, ns.name)).items.map(
        (p) => p.metadata?.name ?? '',
      );
    await until(async () => (await podList()).length === 5, 'the StatefulSet controller to create 5 pods', 30_000, 200);
    for (const pod of ids) {
      await transport.request('PATCH', `${objectPath(RESOURCES.pod, ns.name, pod)}/status`, {
        body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        contentType: 'application/merge-patch+json',
      });
    }
    await converge(r, 'demo');
    const keys = async () =>
      Object.keys((await client.get<SecretData>(RESOURCES.secret, ns.name, 'demo-server-tls'))?.data ?? {}).sort();
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
    assert.equal((await client.get<Sts>(RESOURCES.statefulSet, ns.name, 'demo'))?.spec.replicas, 3);
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
    const services = (await client.list<{ metadata?: { name?: string } }>(RESOURCES.service, ns.name)).items
      .map((s) => s.metadata?.name)
      .sort();
    assert.deepEqual(services, ['demo', 'demo-0-external', 'demo-1-external', 'demo-2-external', 'demo-headless']);
    assert.deepEqual(
      await operatorWrites(() => r.reconcile(ns.name, 'demo')),
      [],
      'an unchanged cluster gets no writes',
    );
  });
});
