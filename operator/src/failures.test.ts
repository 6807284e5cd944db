/**
 * Failures are visible on a real API server (issue 14, item 2): a child the API server
 * rejects sets Ready=False / Degraded=True with reason ReconcileFailed, the step, the API
 * server's message and the generation, plus one deduplicated Warning event, and the cluster
 * recovers when the cause is gone; an RBAC denial (403) is the same failure. No condition is
 * computed from placeholder values.
 */
import assert from 'node:assert/strict';
import { CLUSTER_RULES } from '../cdk8s/rbac.js';
import { HttpKubeClient } from './kube/client.js';
import { KubeEventRecorder } from './kube/events.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES, type Resource } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { Reconciler, StepError } from './reconcile/reconciler.js';
import { useApiServer, type EventObj } from './testing/api-server.js';

describe('failures are visible in status and events on a real API server', function () {
  this.timeout(120_000);
  const api = useApiServer();

  const warnings = (): Promise<EventObj[]> => api.events((e) => e.type === 'Warning');

  it('a child the API server rejects sets Degraded=ReconcileFailed with the step and message and one Warning event, then recovers', async () => {
    await api.createCluster('demo', {
      replicas: 1,
      external: { type: 'None' },
      pod: { tolerations: [{ key: 'k', operator: 'Sideways', effect: 'NoSchedule' }] },
    });
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: new KubeEventRecorder(api.client, 'failures-test'),
    });
    await r.reconcile(api.ns, 'demo'); // records the cluster id
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        r.reconcile(api.ns, 'demo'),
        (e: unknown) => e instanceof StepError && e.step === 'statefulset',
        'the pass still fails, so the queue backs off',
      );
    }
    const generation = (await api.cluster('demo')).metadata.generation;
    const degraded = await api.condition('demo', 'Degraded');
    assert.deepEqual(
      [degraded?.status, degraded?.reason, degraded?.observedGeneration],
      ['True', 'ReconcileFailed', generation],
    );
    assert.match(degraded?.message ?? '', /^step statefulset failed: .*422 Invalid.*Sideways/);
    assert.deepEqual(
      [(await api.condition('demo', 'Ready'))?.status, (await api.condition('demo', 'Ready'))?.reason],
      ['False', 'ReconcileFailed'],
    );
    const failures = (await warnings()).filter((e) => e.reason === 'ReconcileFailed');
    assert.equal(failures.length, 1, 'two identical failures record one Warning event');
    assert.equal(failures[0]?.action, 'statefulset');

    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), { spec: { pod: null } });
    await r.reconcile(api.ns, 'demo');
    assert.ok(
      await api.client.get(RESOURCES.statefulSet, api.ns, 'demo'),
      'the StatefulSet exists once the cause is gone',
    );
    const recovered = await api.condition('demo', 'Degraded');
    assert.deepEqual([recovered?.status, recovered?.reason], ['False', 'AsExpected']);
    assert.notEqual((await api.condition('demo', 'Ready'))?.reason, 'ReconcileFailed');
  });

  it('an RBAC denial sets Degraded=ReconcileFailed with the step and the 403, and one Warning event, then recovers', async () => {
    // GIVEN an operator user with the shipped rules but for PodDisruptionBudgets
    const user = `rbac-denied-${api.ns}`;
    const roleName = `commitlog-operator-no-pdb-${api.ns}`;
    const rbac = (kind: string, plural: string, namespaced: boolean): Resource => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      plural,
      namespaced,
    });
    const bind = (name: string, roleKind: string, role: string) =>
      api.client.create(rbac('RoleBinding', 'rolebindings', true), {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: api.ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role },
        subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
      });
    await api.client.create(rbac('ClusterRole', 'clusterroles', false), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: roleName },
      rules: CLUSTER_RULES.filter((r) => !r.resources.includes('poddisruptionbudgets')),
    });
    try {
      await bind('operator', 'ClusterRole', roleName);
      await api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
      const limited = new HttpKubeClient(
        new KubeConfigTransport((await api.cp.kubeConfigFor({ user, groups: [] })).kubeConfig),
      );
      await until(
        () =>
          limited.list(RESOURCES.cluster, api.ns).then(
            () => true,
            () => false,
          ),
        'RBAC in effect',
        10_000,
        100,
      );
      const r = new Reconciler({
        client: limited,
        log: silentLogger,
        events: new KubeEventRecorder(limited, 'failures-test'),
      });
      await r.reconcile(api.ns, 'demo'); // records the cluster id

      // WHEN a pass applies the PodDisruptionBudget, twice
      for (let i = 0; i < 2; i++)
        await assert.rejects(
          r.reconcile(api.ns, 'demo'),
          (e: unknown) => e instanceof StepError && e.step === 'statefulset',
          'the pass fails, so the queue backs off',
        );

      // THEN Degraded names the step and the API server's refusal, and one Warning event says so
      const degraded = await api.condition('demo', 'Degraded');
      assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'ReconcileFailed']);
      assert.match(degraded?.message ?? '', /^step statefulset failed: .*403 Forbidden: .*poddisruptionbudgets/);
      assert.equal((await api.condition('demo', 'Ready'))?.reason, 'ReconcileFailed');
      const failures = (await warnings()).filter((e) => e.reason === 'ReconcileFailed');
      assert.equal(failures.length, 1, 'two identical failures record one Warning event');
      assert.equal(failures[0]?.action, 'statefulset');

      // WHEN the missing permission is granted
      await api.client.create(rbac('Role', 'roles', true), {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'pdb', namespace: api.ns },
        rules: CLUSTER_RULES.filter((r) => r.resources.includes('poddisruptionbudgets')),
      });
      await bind('pdb', 'Role', 'pdb');
      // THEN the next pass succeeds and the condition recovers (bounded: RBAC takes effect asynchronously)
      await until(
        () =>
          r.reconcile(api.ns, 'demo').then(
            () => true,
            () => false,
          ),
        'a pass to succeed once the PodDisruptionBudget rules are granted',
        10_000,
        200,
      );
      const recovered = await api.condition('demo', 'Degraded');
      assert.deepEqual([recovered?.status, recovered?.reason], ['False', 'AsExpected']);
    } finally {
      await api.client.delete(rbac('ClusterRole', 'clusterroles', false), undefined, roleName);
    }
  });

  it('a pod the StatefulSet controller cannot create shows FailedCreate with the API server refusal, then recovers', async () => {
    const priorityClass = `missing-${api.ns}`;
    await api.createCluster('demo', {
      replicas: 1,
      external: { type: 'None' },
      pod: { priorityClassName: priorityClass },
    });
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: new KubeEventRecorder(api.client, 'failures-test'),
    });
    await r.reconcile(api.ns, 'demo'); // records the cluster id
    await r.reconcile(api.ns, 'demo'); // creates the StatefulSet
    await until(
      async () => (await api.events((e) => e.reason === 'FailedCreate')).length > 0,
      'the StatefulSet controller to record FailedCreate',
      60_000,
      200,
    );
    await r.reconcile(api.ns, 'demo');
    const ready = await api.condition('demo', 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'FailedCreate']);
    assert.match(
      ready?.message ?? '',
      /^0\/1 members ready; demo-0: FailedCreate: .*no PriorityClass with name missing-/,
    );
    const degraded = await api.condition('demo', 'Degraded');
    assert.deepEqual([degraded?.status, degraded?.reason], ['True', 'FailedCreate']);
    assert.match(degraded?.message ?? '', /Create Pod demo-0 in StatefulSet demo failed/);
    const events = (await warnings()).filter((e) => e.reason === 'FailedCreate' && e.action === 'CreatePod');
    assert.equal(events.length, 1, 'one Warning event FailedCreate on the cluster');

    await api.transport.request('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', {
      body: {
        apiVersion: 'scheduling.k8s.io/v1',
        kind: 'PriorityClass',
        metadata: { name: priorityClass },
        value: 1000,
      },
    });
    try {
      await until(
        async () => (await api.client.get(RESOURCES.pod, api.ns, 'demo-0')) !== undefined,
        'the StatefulSet controller to create demo-0 once the PriorityClass exists',
        90_000,
        250,
      );
      await r.reconcile(api.ns, 'demo');
      const after = await api.condition('demo', 'Ready');
      assert.equal(after?.reason, 'MembersNotReady', 'a pod exists: no FailedCreate any more');
      assert.doesNotMatch(after?.message ?? '', /FailedCreate/);
      assert.notEqual((await api.condition('demo', 'Degraded'))?.reason, 'FailedCreate');
    } finally {
      await api.transport.request('DELETE', `/apis/scheduling.k8s.io/v1/priorityclasses/${priorityClass}`);
    }
  });

  it("Ready says why members are not ready: the scheduler's and the kubelet's reasons", async () => {
    await api.createCluster('demo', { replicas: 3, external: { type: 'None' } });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await r.reconcile(api.ns, 'demo');
    await r.reconcile(api.ns, 'demo');
    await until(
      async () => (await api.client.list(RESOURCES.pod, api.ns)).items.length === 3,
      'the StatefulSet controller to create 3 pods',
      30_000,
      200,
    );
    const podStatus = (i: number, status: unknown): Promise<unknown> =>
      api.mergePatch(`${objectPath(RESOURCES.pod, api.ns, `demo-${i}`)}/status`, { status });
    await podStatus(0, {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
    });
    await podStatus(1, {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/1 nodes are available: 1 Insufficient memory.',
        },
      ],
    });
    await podStatus(2, {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
      containerStatuses: [
        {
          name: 'node',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
          lastState: {
            terminated: {
              exitCode: 1,
              reason: 'Error',
              message: 'ClusterIdMismatch: data dir belongs to another cluster',
            },
          },
        },
      ],
    });
    await r.reconcile(api.ns, 'demo');
    const ready = await api.condition('demo', 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'MembersNotReady']);
    assert.equal(
      ready?.message,
      '1/3 members ready; demo-1: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.; demo-2: CrashLoopBackOff: last exit: ClusterIdMismatch: data dir belongs to another cluster (exit code 1)',
    );
  });

  it('an invalid spec reports Unknown certificates and external access, never True from placeholders', async () => {
    // Passes the schema (quantities are strings), fails validation: requests exceed limits.
    await api.createCluster('demo', { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await r.reconcile(api.ns, 'demo');
    assert.equal((await api.condition('demo', 'Ready'))?.reason, 'InvalidSpec');
    for (const type of ['CertificatesReady', 'ExternalAccessReady', 'Available']) {
      const x = await api.condition('demo', type);
      assert.deepEqual([type, x?.status, x?.reason], [type, 'Unknown', 'InvalidSpec']);
    }
  });

  it('ExternalAccessReady is not True while no member has a pod or an address', async () => {
    await api.createCluster('demo', { replicas: 3, external: { type: 'LoadBalancer' } });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    await r.reconcile(api.ns, 'demo'); // records the cluster id
    await r.reconcile(api.ns, 'demo'); // creates the children; observed no pod
    const ext = await api.condition('demo', 'ExternalAccessReady');
    assert.deepEqual(
      [ext?.status, ext?.reason, ext?.message],
      ['False', 'AddressPending', 'waiting for external addresses of demo-0, demo-1, demo-2'],
    );
  });
});
