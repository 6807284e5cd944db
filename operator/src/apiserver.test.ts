/**
 * The operator against a real kube-apiserver + etcd + controller-manager (test/controlplane),
 * with the CRD from crds/ installed by the fixture: schema and CEL rejections, defaults, the
 * scale and status subresources, a reconcile that creates every child with owner references
 * and then makes zero writes, Lease leader election and two operator instances failing over.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { RULES, undescribed, type Schema } from './api/schema.js';
import type { CommitLogCluster, CommitLogClusterSpec } from './api/types.js';
import { HttpKubeClient } from './kube/client.js';
import { ApiError } from './kube/errors.js';
import { KubeConfigTransport } from './kube/http.js';
import { LeaderElector } from './kube/leader.js';
import { silentLogger, type Logger } from './kube/logger.js';
import { collectionPath, objectPath, RESOURCES } from './kube/resources.js';
import { Reconciler } from './reconcile/reconciler.js';
import { createMetrics } from './kube/metrics.js';
import { Operator } from './operator.js';
import { CLUSTER_RULES, LEADER_ELECTION_RULES } from '../cdk8s/rbac.js';
import { KubeEventRecorder } from './kube/events.js';
import { until as poll } from './kube/testing/wait.js';
import type { AuditCheckpoint } from '../../test/controlplane/audit.js';
import { zeroWritesAtRest as atRest } from './testing/at-rest.js';
import { fastLease, useApiServer } from './testing/api-server.js';

const until = (cond: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> => poll(cond, what, ms, 200);

const OPERATOR_USER = 'commitlog-operator-under-test';

describe('operator on a real API server', function () {
  this.timeout(120_000);
  const api = useApiServer({ user: OPERATOR_USER });

  async function rejection(spec: CommitLogClusterSpec, name = 'bad'): Promise<string> {
    try {
      await api.transport.request('POST', collectionPath(RESOURCES.cluster, api.ns), {
        query: { dryRun: 'All' },
        body: api.manifest(name, spec),
      });
    } catch (e) {
      assert.ok(e instanceof ApiError && e.status === 422, `expected 422 Invalid, got ${String(e)}`);
      return e.message;
    }
    return assert.fail('the API server accepted an invalid spec');
  }

  /** The reconciler's debug log of status diffs ("why did it write?"), for failure messages. */
  const diffs: string[] = [];
  const statusDiffs: Logger = {
    ...silentLogger,
    debug: (fields, msg) => {
      if (msg === 'status changed') diffs.push(JSON.stringify(fields));
    },
    child: () => statusDiffs,
  };
  /**
   * "An unchanged cluster gets no writes", with "unchanged" made explicit: reconciles pass
   * after pass, each between two audit checkpoints, until a pass follows a quiet one (no
   * write by the operator, no successful write by anyone else to the namespace's objects;
   * Events excluded, the operator reads none) and nobody else wrote during it either. That pass ran over
   * exactly the world the quiet pass saw, so it must write nothing. A pass during which the
   * controller-manager changed something starts the wait for rest again (bounded).
   * Returns the checkpoint after the last pass. The rule is testing/at-rest.ts's, shared with
   * convergence.test.ts; this adds the status diff the operator logs to each pass's line.
   */
  function zeroWritesAtRest(r: Reconciler, name: string, maxPasses = 12): Promise<AuditCheckpoint> {
    return atRest(
      api,
      OPERATOR_USER,
      async () => {
        diffs.length = 0;
        await r.reconcile(api.ns, name);
      },
      { maxPasses, detail: () => (diffs.length ? ` (status diff ${diffs.join(' ')})` : '') },
    );
  }

  it('rejects bad specs with the CRD schema and CEL messages', async () => {
    assert.match(await rejection({ replicas: 0 }), new RegExp(RULES.replicasMin));
    for (const size of ['banana', '10GB', '1 Gi'])
      assert.ok(
        (await rejection({ storage: { size } })).includes(RULES.storageSizeQuantity),
        `${size} is refused as no quantity`,
      );
    for (const size of ['-1Gi', '0'])
      assert.ok(
        (await rejection({ storage: { size } })).includes(RULES.storageSizePositive),
        `${size} is refused as not positive`,
      );
    assert.match(
      await rejection({ external: { type: 'NodePort', loadBalancerSourceRanges: ['10.0.0.0/8'] } }),
      new RegExp(RULES.sourceRangesNeedLb),
    );
    assert.match(
      await rejection({ acl: { users: [{ name: 'root' }], rules: [{ user: 'bob', actions: ['consume'] }] } }),
      new RegExp(RULES.aclRuleUser.replace(/[[\]]/g, '\\$&')),
    );
    assert.match(
      await rejection({ tls: { validityDays: 10, renewBeforeDays: 10 } }),
      new RegExp(RULES.renewBeforeValidity),
    );
    for (const [tls, message] of [
      [{ leafValidity: '1h' }, RULES.leafTogether],
      [{ leafValidity: '9m', leafRenewBefore: '5m' }, RULES.leafValidityMin],
      [{ leafValidity: '87601h', leafRenewBefore: '5m' }, RULES.leafValidityMin],
      [{ leafValidity: '1h', leafRenewBefore: '4m59s' }, RULES.leafRenewBeforeMin],
      [{ leafValidity: '1h', leafRenewBefore: '1h' }, RULES.leafRenewBeforeValidity],
    ] as const)
      assert.ok((await rejection({ tls })).includes(message), `${JSON.stringify(tls)} is refused with: ${message}`);
    assert.match(await rejection({ tls: { leafValidity: '1d', leafRenewBefore: '5m' } }), /should match/);
    assert.match(await rejection({ ports: { rpc: 9000, http: 9000 } }), new RegExp(RULES.portsDistinct));
    assert.match(await rejection({ tls: { enabled: false } }), new RegExp(RULES.tlsRequired));
    assert.ok(
      (await rejection({ log: { segmentBytes: 1 << 20, retentionBytes: 4096 } })).includes(RULES.retentionBelowSegment),
      'retention smaller than a segment is refused',
    );
    assert.match(await rejection({ external: { type: 'Public' as never } }), /Unsupported value: "Public"/);
    assert.match(await rejection({}, 'a'.repeat(41)), new RegExp(RULES.nameLength));
  });

  it('publishes a description of every spec and status field in OpenAPI v3 (what kubectl explain reads)', async () => {
    // kube-apiserver publishes a CRD's OpenAPI v3 document asynchronously, after the CRD is
    // Established (its OpenAPI controller): on a busy machine the path was still a 404 when
    // this test began (a stress run, 2026-12-04). Wait for the published schema, bounded.
    type Doc = { components: { schemas: Record<string, Schema> } };
    let clc: Schema | undefined;
    await until(
      async () => {
        try {
          const doc = await api.transport.request<Doc>('GET', '/openapi/v3/apis/commitlog.dev/v1alpha1');
          clc = doc.components.schemas['dev.commitlog.v1alpha1.CommitLogCluster'];
          return clc !== undefined;
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) return false;
          throw err;
        }
      },
      'the OpenAPI v3 document of commitlog.dev/v1alpha1 with the CommitLogCluster schema (kubectl explain)',
      60_000,
    );
    assert.ok(clc, 'the CRD schema is published');
    const props = (clc['properties'] ?? {}) as Record<string, Schema>;
    assert.match(
      String(
        props['spec']?.['properties'] &&
          (props['spec']['properties'] as Record<string, Schema>)['storage']?.['description'],
      ),
      /PersistentVolumeClaim/,
    );
    assert.deepEqual(
      [...undescribed(props['spec'] ?? {}, '.spec'), ...undescribed(props['status'] ?? {}, '.status')],
      [],
    );
  });

  it('accepts examples/minimal.yaml and examples/full.yaml as written', async () => {
    for (const file of ['minimal.yaml', 'full.yaml']) {
      const doc = parse(readFileSync(resolve(import.meta.dirname, '../../examples', file), 'utf8')) as CommitLogCluster;
      await api.transport.request('POST', collectionPath(RESOURCES.cluster, api.ns), {
        query: { dryRun: 'All' },
        body: { ...doc, metadata: { ...doc.metadata, namespace: api.ns } },
      });
    }
  });

  it('fills defaults, keeps the storage class immutable, lets the size grow but not shrink, and scales through the scale subresource', async () => {
    await api.createCluster('demo', { storage: { storageClassName: 'fast' } });
    const c = await api.client.get<CommitLogCluster>(RESOURCES.cluster, api.ns, 'demo');
    assert.equal(c?.spec.replicas, 3);
    assert.equal(c?.spec.tls?.enabled, true);
    assert.deepEqual(c?.spec.acl?.rules, [{ user: 'root', actions: ['produce', 'consume'] }]);
    await assert.rejects(
      api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), {
        spec: { storage: { storageClassName: 'slow' } },
      }),
      (e: unknown) => e instanceof ApiError && e.message.includes(RULES.storageClassImmutable),
    );
    await assert.rejects(
      api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), { spec: { storage: { size: '512Mi' } } }),
      (e: unknown) => e instanceof ApiError && e.message.includes(RULES.storageSizeNoShrink),
    );
    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), { spec: { storage: { size: '2Gi' } } });
    assert.equal(
      (await api.client.get<CommitLogCluster>(RESOURCES.cluster, api.ns, 'demo'))?.spec.storage?.size,
      '2Gi',
      'storage may grow',
    );
    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo', 'scale'), { spec: { replicas: 5 } });
    assert.equal((await api.client.get<CommitLogCluster>(RESOURCES.cluster, api.ns, 'demo'))?.spec.replicas, 5);
  });

  it('reconciles a cluster into its children with owner references, then makes zero writes', async () => {
    await api.createCluster('demo', { replicas: 3 });
    const events: string[] = [];
    const r = new Reconciler({
      client: api.client,
      log: statusDiffs,
      events: {
        record: (_o, _t, reason) => {
          events.push(reason);
          return Promise.resolve();
        },
      },
    });
    const start = await api.cp.audit.checkpoint();
    await r.reconcile(api.ns, 'demo'); // records the cluster id
    await r.reconcile(api.ns, 'demo'); // creates the children
    await r.reconcile(api.ns, 'demo'); // settles status
    const c = await api.client.get<CommitLogCluster>(RESOURCES.cluster, api.ns, 'demo');
    assert.ok(c?.status?.clusterId);
    assert.equal(c.status.replicas, 3);
    assert.equal(
      c.status.selector,
      'app.kubernetes.io/name=commitlog,app.kubernetes.io/instance=demo,app.kubernetes.io/component=node',
    );
    assert.equal(c.status.observedGeneration, 1);
    const sts = await api.client.get<{
      metadata: { ownerReferences: { uid: string; controller: boolean }[]; managedFields: { manager: string }[] };
    }>(RESOURCES.statefulSet, api.ns, 'demo');
    assert.deepEqual(
      sts?.metadata.ownerReferences.map((o) => [o.uid, o.controller]),
      [[c.metadata.uid, true]],
    );
    assert.ok(sts?.metadata.managedFields.some((m) => m.manager === 'commitlog-operator'));
    for (const [res, name] of [
      [RESOURCES.service, 'demo-2-external'],
      [RESOURCES.service, 'demo-headless'],
      [RESOURCES.configMap, 'demo-config'],
      [RESOURCES.secret, 'demo-user-root'],
      [RESOURCES.pdb, 'demo'],
    ] as const) {
      assert.ok(await api.client.get(res, api.ns, name), `${res.kind} ${name} exists`);
    }

    // The StatefulSet controller acts on the new StatefulSet asynchronously (PVC and pod
    // demo-0; with OrderedReady and no kubelet it stops there), and the operator observes
    // pods: wait for that explicitly instead of hoping a fixed number of passes outlasts it.
    await until(
      async () => {
        const s = await api.client.get<{ metadata: { generation?: number }; status?: { observedGeneration?: number } }>(
          RESOURCES.statefulSet,
          api.ns,
          'demo',
        );
        const pods = await api.client.list(RESOURCES.pod, api.ns);
        return (
          s?.status?.observedGeneration === s?.metadata.generation &&
          pods.items.some((p) => p.metadata?.name === 'demo-0')
        );
      },
      'the StatefulSet controller observed demo and created pod demo-0',
      60_000,
    );
    const end = await zeroWritesAtRest(r, 'demo');
    const clusterWrites = api.cp.audit.between(start, end, { user: OPERATOR_USER, resource: 'commitlogclusters' });
    assert.ok(clusterWrites.length > 0);
    assert.deepEqual(
      new Set(clusterWrites.map((w) => `${w.verb} ${w.objectRef?.subresource ?? '(main resource)'}`)),
      new Set(['patch status']),
      'the operator writes the cluster only through the status subresource',
    );

    // The owner reference (kind, apiVersion, uid, controller) is what the garbage collector
    // acts on; garbage-collection.test.ts deletes a cluster and watches the children go.
    const ref = (sts?.metadata.ownerReferences ?? [])[0] as unknown as Record<string, unknown> | undefined;
    assert.deepEqual(
      [ref?.apiVersion, ref?.kind, ref?.name, ref?.blockOwnerDeletion],
      ['commitlog.dev/v1alpha1', 'CommitLogCluster', 'demo', true],
    );
  });

  it('elects one leader through a real Lease (MicroTime times accepted) and fails over on release', async () => {
    const log: string[] = [];
    const mk = (id: string) =>
      new LeaderElector(api.client, {
        ...fastLease(api.ns, 'lock'),
        identity: id,
        onStartedLeading: () => log.push(`${id}:start`),
        onStoppedLeading: () => log.push(`${id}:stop`),
      });
    const a = mk('a');
    const b = mk('b');
    try {
      a.start();
      await until(() => Promise.resolve(a.isLeader), 'a leads', 10_000);
      b.start();
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(b.isLeader, false);
      await a.stop();
      await until(() => Promise.resolve(b.isLeader), 'b takes over', 10_000);
      assert.deepEqual(log, ['a:start', 'a:stop', 'b:start']);
      const lease = await api.client.get<{ metadata?: object; spec: { holderIdentity: string; renewTime: string } }>(
        RESOURCES.lease,
        api.ns,
        'lock',
      );
      assert.equal(lease?.spec.holderIdentity, 'b');
      assert.match(lease?.spec.renewTime ?? '', /\.\d{6}Z$/);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('runs two operator instances: one leader reconciles, the other takes over when it stops', async () => {
    await api.createCluster('demo', { replicas: 3 });
    const mk = (identity: string) =>
      new Operator({
        client: api.client,
        log: silentLogger,
        metrics: createMetrics(),
        namespaces: [api.ns],
        identity,
        leaderElection: fastLease(api.ns),
      });
    const a = mk('operator-a');
    const b = mk('operator-b');
    try {
      a.start();
      await until(() => Promise.resolve(a.leading && a.synced), 'a leads with synced caches', 15_000);
      b.start();
      await until(
        async () => (await api.client.get(RESOURCES.statefulSet, api.ns, 'demo')) !== undefined,
        'the leader reconciled the cluster',
        20_000,
      );
      assert.equal(b.leading, false, 'the standby does not lead');
      await until(
        async () =>
          (await api.client.list<{ metadata?: object; reason?: string }>(RESOURCES.event, api.ns)).items.some(
            (e) => e.reason === 'ClusterIdRecorded',
          ),
        'an events.k8s.io Event (MicroTime eventTime accepted)',
        10_000,
      );
      await a.stop();
      await until(() => Promise.resolve(b.leading), 'b takes over', 10_000);
      await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), { spec: { external: { type: 'None' } } });
      await until(
        async () => (await api.client.get(RESOURCES.service, api.ns, 'demo-0-external')) === undefined,
        'the new leader reconciled the change',
        20_000,
      );
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('runs as a process: ready once synced, reconciles, repairs a deleted child, exits 0 on SIGTERM', async function () {
    this.timeout(240_000);
    const user = await api.cp.kubeConfigFor({ user: OPERATOR_USER, groups: ['system:masters'] });
    await api.createCluster('proc', { replicas: 1, external: { type: 'None' } });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve(import.meta.dirname, 'main.ts'),
        '--http-port',
        '0',
        '--namespaces',
        api.ns,
        '--no-admin',
      ],
      {
        env: { ...process.env, KUBECONFIG: user.kubeconfigPath, POD_NAME: 'proc-test' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // The operator starts through tsx: over 20 s in a CI run at load 25 ("timed out after 20000 ms
      // waiting for the starting log line"). A bound, not a condition.
      await until(() => Promise.resolve(/"httpPort":\d+/.test(out)), 'the starting log line', 90_000);
      const port = Number(/"httpPort":(\d+)/.exec(out)?.[1]);
      await until(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
        '/readyz 200',
        20_000,
      );
      await until(
        async () => (await api.client.get(RESOURCES.statefulSet, api.ns, 'proc')) !== undefined,
        'the process reconciled the cluster',
        20_000,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /commitlog_operator_reconciles_total\{result="success"\} [1-9]/);
      await api.client.delete(RESOURCES.configMap, api.ns, 'proc-config');
      await until(
        async () => (await api.client.get(RESOURCES.configMap, api.ns, 'proc-config')) !== undefined,
        'a deleted ConfigMap repaired from its watch event',
        10_000,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('needs nothing beyond its least-privilege RBAC rules (reconcile, events, Lease)', async () => {
    const admin = new HttpKubeClient(new KubeConfigTransport(api.cp.kubeConfig));
    const user = `rbac-${api.ns}`;
    const rbac = (kind: string, version = 'rbac.authorization.k8s.io/v1') => ({ apiVersion: version, kind });
    const crName = `commitlog-operator-${api.ns}`;
    const clusterRole = {
      kind: 'ClusterRole',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      plural: 'clusterroles',
      namespaced: false,
    };
    const role = { kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true };
    const roleBinding = {
      kind: 'RoleBinding',
      apiVersion: 'rbac.authorization.k8s.io/v1',
      plural: 'rolebindings',
      namespaced: true,
    };
    await admin.create(clusterRole, { ...rbac('ClusterRole'), metadata: { name: crName }, rules: CLUSTER_RULES });
    // Bound in the test namespace only, as the chart does for a list of watched namespaces.
    await admin.create(roleBinding, {
      ...rbac('RoleBinding'),
      metadata: { name: 'operator', namespace: api.ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: crName },
      subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
    });
    await admin.create(role, {
      ...rbac('Role'),
      metadata: { name: 'leader', namespace: api.ns },
      rules: LEADER_ELECTION_RULES,
    });
    await admin.create(roleBinding, {
      ...rbac('RoleBinding'),
      metadata: { name: 'leader', namespace: api.ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leader' },
      subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
    });
    try {
      await admin.create(RESOURCES.cluster, api.manifest('demo', { replicas: 3 }));
      const kc = (await api.cp.kubeConfigFor({ user, groups: [] })).kubeConfig;
      const limited = new HttpKubeClient(new KubeConfigTransport(kc));
      const eventErrors: unknown[] = [];
      const r = new Reconciler({
        client: limited,
        log: silentLogger,
        events: new KubeEventRecorder(limited, 'rbac-test', (e) => eventErrors.push(e)),
      });
      await until(
        async () => {
          try {
            await limited.list(RESOURCES.cluster, api.ns);
            return true;
          } catch {
            return false;
          }
        },
        'RBAC in effect',
        10_000,
      );
      for (let i = 0; i < 3; i++) await r.reconcile(api.ns, 'demo');
      assert.ok(await limited.get(RESOURCES.statefulSet, api.ns, 'demo'));
      assert.deepEqual(eventErrors.map(String), []);
      const elector = new LeaderElector(limited, {
        namespace: api.ns,
        name: 'lock',
        identity: 'x',
        retryPeriodMs: 100,
        onStartedLeading: () => undefined,
        onStoppedLeading: () => undefined,
      });
      elector.start();
      try {
        await until(() => Promise.resolve(elector.isLeader), 'the Lease with leader-election rules only', 10_000);
      } finally {
        await elector.stop();
      }
      await assert.rejects(
        limited.list(RESOURCES.secret, 'default'),
        (e: unknown) => e instanceof ApiError && e.status === 403,
        'no access outside the watched namespace',
      );
    } finally {
      await admin.delete(clusterRole, undefined, crName);
    }
  });

  it('makes zero writes on an unchanged cluster from examples/full.yaml too (quantities, overrides, source ranges)', async () => {
    const doc = parse(
      readFileSync(resolve(import.meta.dirname, '../../examples/full.yaml'), 'utf8'),
    ) as CommitLogCluster;
    await api.client.create(RESOURCES.cluster, { ...doc, metadata: { ...doc.metadata, namespace: api.ns } });
    const r = new Reconciler({ client: api.client, log: statusDiffs, events: { record: () => Promise.resolve() } });
    await zeroWritesAtRest(r, 'orders');
  });
});
