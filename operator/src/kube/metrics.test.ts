import assert from 'node:assert/strict';
import type { CommitLogClusterStatus } from '../api/types.js';
import { FakeKubeClient } from './testing/fake-client.js';
import { silentLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { RESOURCES } from './resources.js';
import { Reconciler } from '../reconcile/reconciler.js';

/** The sample lines of `name` in the exposition text, without HELP/TYPE. */
async function samples(m: ReturnType<typeof createMetrics>, name: string): Promise<string[]> {
  return (await m.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .sort();
}

const running: CommitLogClusterStatus = {
  phase: 'Running',
  readyReplicas: 3,
  leader: 'demo-0',
  certificateExpiry: '2030-01-01T00:00:00Z',
  members: [
    { name: 'demo-0', role: 'voter', ready: true, internalAddress: 'a' },
    { name: 'demo-1', role: 'voter', ready: true, internalAddress: 'a' },
    { name: 'demo-2', role: 'learner', ready: true, internalAddress: 'a' },
  ],
};

describe('operator metrics', () => {
  it('per cluster: the phase as a 0/1 set, members by role with the leader apart, ready members, certificate expiry', async () => {
    const m = createMetrics();
    m.observeStatus('ns', 'demo', running);
    assert.deepEqual(
      (await samples(m, 'commitlog_operator_cluster_phase')).filter((l) => l.endsWith(' 1')),
      ['commitlog_operator_cluster_phase{namespace="ns",cluster="demo",phase="Running"} 1'],
    );
    assert.equal((await samples(m, 'commitlog_operator_cluster_phase')).length, 6, 'every phase has a series');
    assert.deepEqual(await samples(m, 'commitlog_operator_cluster_members'), [
      'commitlog_operator_cluster_members{namespace="ns",cluster="demo",role="leader"} 1',
      'commitlog_operator_cluster_members{namespace="ns",cluster="demo",role="learner"} 1',
      'commitlog_operator_cluster_members{namespace="ns",cluster="demo",role="unknown"} 0',
      'commitlog_operator_cluster_members{namespace="ns",cluster="demo",role="voter"} 1',
    ]);
    assert.deepEqual(await samples(m, 'commitlog_operator_cluster_ready_members'), [
      'commitlog_operator_cluster_ready_members{namespace="ns",cluster="demo"} 3',
    ]);
    assert.deepEqual(await samples(m, 'commitlog_operator_certificate_expiry_timestamp_seconds'), [
      `commitlog_operator_certificate_expiry_timestamp_seconds{namespace="ns",cluster="demo"} ${Date.parse('2030-01-01T00:00:00Z') / 1000}`,
    ]);
  });

  it('per cluster: the CA expiry and the CA rotation phase as a 0/1 set, gone with the cluster', async () => {
    const m = createMetrics();
    m.observeStatus('ns', 'demo', {
      ...running,
      ca: { rotationPhase: 'ReissueLeaves', current: 'aa', next: 'bb', expiry: '2036-01-01T00:00:00Z' },
    });
    assert.deepEqual(await samples(m, 'commitlog_operator_ca_expiry_timestamp_seconds'), [
      `commitlog_operator_ca_expiry_timestamp_seconds{namespace="ns",cluster="demo"} ${Date.parse('2036-01-01T00:00:00Z') / 1000}`,
    ]);
    assert.deepEqual(await samples(m, 'commitlog_operator_ca_rotation_phase'), [
      'commitlog_operator_ca_rotation_phase{namespace="ns",cluster="demo",phase="DropOld"} 0',
      'commitlog_operator_ca_rotation_phase{namespace="ns",cluster="demo",phase="Idle"} 0',
      'commitlog_operator_ca_rotation_phase{namespace="ns",cluster="demo",phase="ReissueLeaves"} 1',
      'commitlog_operator_ca_rotation_phase{namespace="ns",cluster="demo",phase="TrustBoth"} 0',
    ]);
    m.forget('ns', 'demo');
    assert.deepEqual(await samples(m, 'commitlog_operator_ca_expiry_timestamp_seconds'), []);
    assert.deepEqual(await samples(m, 'commitlog_operator_ca_rotation_phase'), []);
  });

  it('a phase change moves the 1; a deleted cluster loses every series', async () => {
    const m = createMetrics();
    m.observeStatus('ns', 'demo', running);
    m.scaleStep('ns', 'demo', 'up');
    m.rolloutRestart('ns', 'demo');
    m.observeStatus('ns', 'demo', { ...running, phase: 'Degraded', certificateExpiry: undefined });
    assert.deepEqual(
      (await samples(m, 'commitlog_operator_cluster_phase')).filter((l) => l.endsWith(' 1')),
      ['commitlog_operator_cluster_phase{namespace="ns",cluster="demo",phase="Degraded"} 1'],
    );
    assert.deepEqual(await samples(m, 'commitlog_operator_certificate_expiry_timestamp_seconds'), []);
    m.forget('ns', 'demo');
    for (const name of [
      'commitlog_operator_cluster_phase',
      'commitlog_operator_cluster_members',
      'commitlog_operator_cluster_ready_members',
      'commitlog_operator_scale_steps_total',
      'commitlog_operator_rollout_restarts_total',
    ])
      assert.deepEqual(await samples(m, name), [], `${name} is gone`);
  });

  it('the reconciler reports each pass: phase, members without the Admin service as unknown, scale steps', async () => {
    const client = new FakeKubeClient();
    client.seed(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: 'ns', uid: 'uid-demo', generation: 1 },
      spec: { replicas: 3, external: { type: 'None' } },
    });
    const m = createMetrics();
    const r = new Reconciler({ client, log: silentLogger, events: { record: () => Promise.resolve() }, metrics: m });
    await r.reconcile('ns', 'demo'); // records the cluster id
    await r.reconcile('ns', 'demo'); // creates the StatefulSet with 3 replicas (never bootstrapped)
    assert.deepEqual(
      (await samples(m, 'commitlog_operator_cluster_phase')).filter((l) => l.endsWith(' 1')),
      ['commitlog_operator_cluster_phase{namespace="ns",cluster="demo",phase="Bootstrapping"} 1'],
    );
    for (let i = 0; i < 3; i++)
      client.seed(RESOURCES.pod, {
        metadata: {
          name: `demo-${i}`,
          namespace: 'ns',
          labels: {
            'app.kubernetes.io/name': 'commitlog',
            'app.kubernetes.io/instance': 'demo',
            'app.kubernetes.io/component': 'node',
          },
        },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
    await r.reconcile('ns', 'demo');
    assert.ok(
      (await samples(m, 'commitlog_operator_cluster_members')).includes(
        'commitlog_operator_cluster_members{namespace="ns",cluster="demo",role="unknown"} 3',
      ),
    );
    assert.ok(
      (await samples(m, 'commitlog_operator_cluster_ready_members')).includes(
        'commitlog_operator_cluster_ready_members{namespace="ns",cluster="demo"} 3',
      ),
    );
    await client.apply(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: 'ns' },
      spec: { replicas: 4 },
    });
    await r.reconcile('ns', 'demo'); // formed cluster, all ready: one step up
    assert.deepEqual(await samples(m, 'commitlog_operator_scale_steps_total'), [
      'commitlog_operator_scale_steps_total{namespace="ns",cluster="demo",kind="up"} 1',
    ]);
  });
});
