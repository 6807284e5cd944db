import assert from 'node:assert/strict';
import type { CommitLogCluster, CommitLogClusterSpec } from '../api/types.js';
import { FakeKubeClient } from '../kube/testing/fake-client.js';
import type { EventRecorder } from '../kube/events.js';
import { silentLogger } from '../kube/logger.js';
import { RESOURCES } from '../kube/resources.js';
import { parse } from 'yaml';
import { FakeNodeAdmin, fakeVoter as voter } from './testing/fake-admin.js';
import { Reconciler } from './reconciler.js';
import { X509Certificate } from 'node:crypto';
import { createCa } from '../certs/pki.js';

const NS = 'default';
const NAME = 'demo';

function setup(spec: CommitLogClusterSpec, admin?: FakeNodeAdmin) {
  const client = new FakeKubeClient();
  client.seed(RESOURCES.cluster, {
    apiVersion: 'commitlog.dev/v1alpha1',
    kind: 'CommitLogCluster',
    metadata: { name: NAME, namespace: NS, uid: 'uid-demo', generation: 1 },
    spec,
  });
  const events: string[] = [];
  const recorder: EventRecorder = {
    record: (_o, type, reason, _a, note) => {
      events.push(`${type} ${reason}: ${note}`);
      return Promise.resolve();
    },
  };
  const r = new Reconciler({
    client,
    events: recorder,
    log: silentLogger,
    now: () => new Date('2030-01-01T00:00:00Z'),
    newClusterId: () => 'cid-1',
    ...(admin ? { admin: admin.factory() } : {}),
  });
  const cluster = () => client.peek<CommitLogCluster>(RESOURCES.cluster, NS, NAME);
  return { client, events, r, cluster, pass: () => r.reconcile(NS, NAME) };
}

function seedPods(client: FakeKubeClient, n: number, ready: (i: number) => boolean, revision = 'r1'): void {
  for (let i = 0; i < n; i++) {
    client.seed(RESOURCES.pod, {
      metadata: {
        name: `${NAME}-${i}`,
        namespace: NS,
        labels: {
          'app.kubernetes.io/name': 'commitlog',
          'app.kubernetes.io/instance': NAME,
          'app.kubernetes.io/component': 'node',
          'controller-revision-hash': revision,
        },
      },
      status: { hostIP: '10.1.0.1', conditions: [{ type: 'Ready', status: ready(i) ? 'True' : 'False' }] },
    });
  }
}

function setReplicas(client: FakeKubeClient, replicas: number): void {
  const c = client.peek<CommitLogCluster>(RESOURCES.cluster, NS, NAME);
  assert.ok(c);
  client.seed(RESOURCES.cluster, {
    ...c,
    spec: { ...c.spec, replicas },
    metadata: { ...c.metadata, generation: (c.metadata.generation ?? 1) + 1 },
  });
}

const stsReplicas = (client: FakeKubeClient): number | undefined =>
  client.peek<{ metadata?: object; spec: { replicas: number } }>(RESOURCES.statefulSet, NS, NAME)?.spec.replicas;

const bootstrapAllowed = (client: FakeKubeClient): boolean => {
  const cm = client.peek<{ metadata?: object; data: Record<string, string> }>(
    RESOURCES.configMap,
    NS,
    `${NAME}-config`,
  );
  return (parse(cm?.data['node.yaml'] ?? '') as { bootstrap: boolean }).bootstrap;
};

describe('Reconciler against the recording fake API', function () {
  this.timeout(15_000);

  it('first records the cluster id in status, and nothing else', async () => {
    const t = setup({ replicas: 3 });
    const res = await t.pass();
    assert.deepEqual(t.client.writes(), [
      { verb: 'apply', kind: 'CommitLogCluster', namespace: NS, name: NAME, subresource: 'status' },
    ]);
    assert.equal(t.cluster()?.status?.clusterId, 'cid-1');
    assert.equal(t.cluster()?.status?.bootstrapped, false);
    assert.ok(res.requeueAfterMs !== undefined);
  });

  it('then creates every child with a controller owner reference, allowing bootstrap once', async () => {
    const t = setup({ replicas: 3 });
    await t.pass();
    t.client.clearRequests();
    await t.pass();
    const created = t.client
      .writes()
      .filter((w) => w.verb === 'apply' && !w.subresource)
      .map((w) => `${w.kind}/${w.name ?? ''}`);
    assert.deepEqual(created, [
      'Secret/demo-gossip',
      'Secret/demo-ca',
      'Secret/demo-server-tls',
      'Secret/demo-operator-tls',
      'Secret/demo-user-root',
      'ConfigMap/demo-config',
      'Service/demo-headless',
      'Service/demo',
      'Service/demo-0-external',
      'Service/demo-1-external',
      'Service/demo-2-external',
      'StatefulSet/demo',
      'PodDisruptionBudget/demo',
    ]);
    const sts = t.client.peek<{ metadata: { ownerReferences: { uid: string; controller: boolean }[] } }>(
      RESOURCES.statefulSet,
      NS,
      NAME,
    );
    assert.deepEqual(
      sts?.metadata.ownerReferences.map((o) => [o.uid, o.controller]),
      [['uid-demo', true]],
    );
    assert.equal(stsReplicas(t.client), 3);
    assert.equal(bootstrapAllowed(t.client), true);
    assert.equal(t.cluster()?.status?.phase, 'Bootstrapping');
  });

  it('makes zero writes on a pass over an unchanged cluster', async () => {
    const t = setup({ replicas: 3 });
    await t.pass();
    await t.pass();
    await t.pass(); // status settles (conditions written once)
    t.client.clearRequests();
    await t.pass();
    assert.deepEqual(t.client.writes(), []);
  });

  it('forbids bootstrap once a member is ready, without restarting pods', async () => {
    const t = setup({ replicas: 3 });
    await t.pass();
    await t.pass();
    const hashBefore = t.client.peek<{
      metadata?: object;
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    }>(RESOURCES.statefulSet, NS, NAME)?.spec.template.metadata.annotations['commitlog.dev/config-hash'];
    seedPods(t.client, 3, () => true);
    await t.pass(); // observes a ready member: records bootstrapped
    assert.equal(t.cluster()?.status?.bootstrapped, true);
    await t.pass(); // renders the config that forbids bootstrap
    assert.equal(bootstrapAllowed(t.client), false);
    const hashAfter = t.client.peek<{
      metadata?: object;
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    }>(RESOURCES.statefulSet, NS, NAME)?.spec.template.metadata.annotations['commitlog.dev/config-hash'];
    assert.equal(hashAfter, hashBefore);
    assert.equal(t.cluster()?.status?.phase, 'Running');
    const ready = t.cluster()?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    assert.equal(ready?.observedGeneration, 1);
  });

  it('reports an invalid spec in status and an Event, and creates nothing', async () => {
    const t = setup({ replicas: 3, log: { segmentBytes: 10 } });
    await t.pass();
    assert.deepEqual(
      t.client.writes().map((w) => `${w.kind}/${w.subresource ?? ''}`),
      ['CommitLogCluster/status'],
    );
    const ready = t.cluster()?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'InvalidSpec');
    assert.equal(ready?.message, 'spec.log.segmentBytes must be at least 1024');
    assert.equal(t.cluster()?.status?.phase, 'Failed');
    assert.deepEqual(t.events, ['Warning InvalidSpec: spec.log.segmentBytes must be at least 1024']);
  });

  it('scales up one member at a time, each only when all are ready', async () => {
    const t = setup({ replicas: 3 });
    await t.pass();
    await t.pass();
    seedPods(t.client, 3, () => true);
    setReplicas(t.client, 5);
    await t.pass();
    assert.equal(stsReplicas(t.client), 4);
    seedPods(t.client, 4, (i) => i < 3); // demo-3 still catching up
    await t.pass();
    assert.equal(stsReplicas(t.client), 4);
    assert.match(
      t.cluster()?.status?.conditions?.find((c) => c.type === 'Progressing')?.message ?? '',
      /waits for all 4 members to be ready/,
    );
    seedPods(t.client, 4, () => true);
    await t.pass();
    assert.equal(stsReplicas(t.client), 5);
  });

  it('scales down by moving leadership away, removing the Raft member, then shrinking in the same pass', async () => {
    const admin = new FakeNodeAdmin([voter('demo-0'), voter('demo-1'), voter('demo-2', true)]);
    admin.reachable = new Set(['demo-0', 'demo-1', 'demo-2']);
    const t = setup({ replicas: 3 }, admin);
    await t.pass();
    await t.pass();
    seedPods(t.client, 3, () => true);
    await t.pass();
    assert.equal(t.cluster()?.status?.leader, 'demo-2');
    setReplicas(t.client, 2);
    // Record the order of the removal and of StatefulSet writes with their replicas.
    const events: string[] = [];
    const remove = admin.removeMember.bind(admin);
    admin.removeMember = (leaderPod, id) => {
      events.push(`remove ${id}`);
      return remove(leaderPod, id);
    };
    const apply = t.client.apply.bind(t.client);
    t.client.apply = ((res, obj) => {
      if (obj.kind === 'StatefulSet')
        events.push(`apply StatefulSet replicas=${String((obj as { spec?: { replicas?: number } }).spec?.replicas)}`);
      return apply(res, obj);
    }) as typeof t.client.apply;
    await t.pass();
    assert.deepEqual(admin.calls, ['transfer demo-2 -> demo-0', 'remove demo-2 via demo-0']);
    // The StatefulSet shrinks in the same pass, right after the removal committed (RemoveMember
    // resolves on commit), so the removed member is alive in gossip as briefly as possible.
    assert.deepEqual(
      events.filter((e) => e.startsWith('remove') || e.includes('replicas=2')),
      ['remove demo-2', 'apply StatefulSet replicas=2'],
    );
    assert.equal(stsReplicas(t.client), 2);
    await t.pass();
    assert.equal(stsReplicas(t.client), 2);
    assert.equal(
      t.client.peek(RESOURCES.service, NS, 'demo-2-external'),
      undefined,
      'external Service of the removed pod is deleted',
    );
  });

  it('does not shrink while no Admin service can remove the member', async () => {
    const t = setup({ replicas: 3 });
    await t.pass();
    await t.pass();
    seedPods(t.client, 3, () => true);
    setReplicas(t.client, 2);
    await t.pass();
    assert.equal(stsReplicas(t.client), 3);
    const p = t.cluster()?.status?.conditions?.find((c) => c.type === 'Progressing');
    assert.equal(p?.reason, 'WaitingForMembers');
    assert.equal(
      p?.message,
      "scale-down waits for the nodes' Admin service to remove demo-2 from the Raft configuration",
    );
  });

  it('deletes the client Secret of a user removed from the ACL', async () => {
    const t = setup({
      acl: { users: [{ name: 'root' }, { name: 'bob' }], rules: [{ user: 'bob', actions: ['consume'] }] },
    });
    await t.pass();
    await t.pass();
    assert.ok(t.client.peek(RESOURCES.secret, NS, 'demo-user-bob'));
    const c = t.cluster();
    assert.ok(c);
    t.client.seed(RESOURCES.cluster, { ...c, spec: { ...c.spec, acl: { users: [{ name: 'root' }], rules: [] } } });
    await t.pass();
    assert.equal(t.client.peek(RESOURCES.secret, NS, 'demo-user-bob'), undefined);
  });

  it('rolls a new pod template one pod at a time, followers first, the leader last after a transfer', async () => {
    const admin = new FakeNodeAdmin([voter('demo-0'), voter('demo-1', true), voter('demo-2')]);
    admin.reachable = new Set(['demo-0', 'demo-1', 'demo-2']);
    const t = setup({ replicas: 3 }, admin);
    await t.pass();
    await t.pass();
    seedPods(t.client, 3, () => true, 'r1');
    await t.pass();
    const sts = t.client.peek<{ metadata?: object; status?: object }>(RESOURCES.statefulSet, NS, NAME);
    assert.ok(sts);
    t.client.seed(RESOURCES.statefulSet, { ...sts, status: { updateRevision: 'r2' } }); // a new template was applied
    t.client.clearRequests();
    await t.pass();
    assert.deepEqual(
      t.client
        .writes()
        .filter((w) => w.kind === 'Pod')
        .map((w) => `${w.verb} ${w.name ?? ''}`),
      ['delete demo-2'],
    );
    assert.equal(t.cluster()?.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'RollingUpdate');
    seedPods(t.client, 3, (i) => i !== 2, 'r1');
    t.client.seed(RESOURCES.pod, {
      metadata: {
        name: 'demo-2',
        namespace: NS,
        labels: {
          'app.kubernetes.io/name': 'commitlog',
          'app.kubernetes.io/instance': NAME,
          'app.kubernetes.io/component': 'node',
          'controller-revision-hash': 'r2',
        },
      },
      status: { conditions: [{ type: 'Ready', status: 'False' }] },
    });
    t.client.clearRequests();
    await t.pass();
    assert.deepEqual(
      t.client.writes().filter((w) => w.kind === 'Pod'),
      [],
      'waits while the restarted pod is not ready',
    );
    for (const [i, rev] of [
      [0, 'r2'],
      [2, 'r2'],
    ] as const) {
      t.client.seed(RESOURCES.pod, {
        metadata: {
          name: `demo-${i}`,
          namespace: NS,
          labels: {
            'app.kubernetes.io/name': 'commitlog',
            'app.kubernetes.io/instance': NAME,
            'app.kubernetes.io/component': 'node',
            'controller-revision-hash': rev,
          },
        },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
    t.client.clearRequests();
    await t.pass();
    assert.deepEqual(admin.calls, ['transfer demo-1 -> demo-0']);
    assert.deepEqual(
      t.client
        .writes()
        .filter((w) => w.kind === 'Pod')
        .map((w) => `${w.verb} ${w.name ?? ''}`),
      ['delete demo-1'],
    );
  });

  it('feeds external addresses back: config, server certificate IP SAN, status', async () => {
    const t = setup({ replicas: 1 });
    await t.pass();
    await t.pass();
    const svc = t.client.peek<{ metadata?: object; status?: object }>(RESOURCES.service, NS, 'demo-0-external');
    assert.ok(svc);
    t.client.seed(RESOURCES.service, { ...svc, status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } });
    await t.pass();
    const cm = t.client.peek<{ metadata?: object; data: Record<string, string> }>(
      RESOURCES.configMap,
      NS,
      'demo-config',
    );
    assert.equal(cm?.data['external.yaml'], 'demo-0: 203.0.113.9:8400\n');
    const secret = t.client.peek<{ metadata?: object; data: Record<string, string> }>(
      RESOURCES.secret,
      NS,
      'demo-server-tls',
    );
    const cert = new X509Certificate(Buffer.from(secret?.data['demo-0.crt'] ?? '', 'base64'));
    assert.equal(cert.checkIP('203.0.113.9'), '203.0.113.9');
    const ext = t.cluster()?.status?.conditions?.find((c) => c.type === 'ExternalAccessReady');
    assert.equal(ext?.status, 'True');
    assert.equal(
      t.cluster()?.status?.members?.[0]?.externalAddress,
      undefined,
      'no pod observed yet: members come from pods',
    );
  });

  it('issues from a user-supplied CA, and reports a missing CA Secret in CertificatesReady', async () => {
    const t = setup({ replicas: 1, tls: { caSecretName: 'my-ca' } });
    await t.pass();
    await t.pass();
    const cond = t.cluster()?.status?.conditions?.find((c) => c.type === 'CertificatesReady');
    assert.deepEqual(
      [cond?.status, cond?.message],
      ['False', 'CA Secret my-ca not found or without tls.crt and tls.key'],
    );
    assert.equal(t.client.peek(RESOURCES.statefulSet, NS, NAME), undefined, 'nothing runs without certificates');
    const ca = await createCa('user CA', new Date('2030-01-01T00:00:00Z'), 3650);
    t.client.seed(RESOURCES.secret, {
      metadata: { name: 'my-ca', namespace: NS },
      data: {
        'tls.crt': Buffer.from(ca.certPem).toString('base64'),
        'tls.key': Buffer.from(ca.keyPem).toString('base64'),
      },
    });
    await t.pass();
    assert.equal(t.client.peek(RESOURCES.secret, NS, 'demo-ca'), undefined, 'the user CA key is not copied');
    const user = t.client.peek<{ metadata?: object; data: Record<string, string> }>(
      RESOURCES.secret,
      NS,
      'demo-user-root',
    );
    const cert = new X509Certificate(Buffer.from(user?.data['tls.crt'] ?? '', 'base64'));
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
    assert.equal(t.cluster()?.status?.conditions?.find((c) => c.type === 'CertificatesReady')?.status, 'True');
  });
});
