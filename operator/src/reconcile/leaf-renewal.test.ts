/**
 * Short-lived leaf certificates (spec.tls.leafValidity / leafRenewBefore, issue 11): issued
 * for the configured lifetime, renewed when they enter their renewal window, and the pass
 * at rest requeued for that moment instead of waiting for a resync. Virtual time: the
 * reconciler's clock is a variable the test moves.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { CommitLogCluster, CommitLogClusterSpec } from '../api/types.js';
import type { EventRecorder } from '../kube/events.js';
import { silentLogger } from '../kube/logger.js';
import { RESOURCES } from '../kube/resources.js';
import { FakeKubeClient } from '../kube/testing/fake-client.js';
import { RENEWAL_HORIZON_MS, requeueForRenewal } from './certificates.js';
import { Reconciler } from './reconciler.js';

const NS = 'default';
const NAME = 'demo';
const MIN = 60_000;
const T0 = new Date('2030-01-01T00:00:00Z').getTime();

function setup(spec: CommitLogClusterSpec) {
  const client = new FakeKubeClient();
  client.seed(RESOURCES.cluster, {
    apiVersion: 'commitlog.dev/v1alpha1',
    kind: 'CommitLogCluster',
    metadata: { name: NAME, namespace: NS, uid: 'uid-demo', generation: 1 },
    spec,
  });
  const recorder: EventRecorder = { record: () => Promise.resolve() };
  const clock = { now: T0 };
  const r = new Reconciler({
    client,
    events: recorder,
    log: silentLogger,
    now: () => new Date(clock.now),
    newClusterId: () => 'cid-1',
  });
  for (let i = 0; i < (spec.replicas ?? 3); i++)
    client.seed(RESOURCES.pod, {
      metadata: {
        name: `${NAME}-${i}`,
        namespace: NS,
        labels: {
          'app.kubernetes.io/name': 'commitlog',
          'app.kubernetes.io/instance': NAME,
          'app.kubernetes.io/component': 'node',
          'controller-revision-hash': 'r1',
        },
      },
      status: { hostIP: '10.1.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    });
  /** notBefore/notAfter (ms) of pod 0's server certificate and of user root's. */
  const leaves = () => {
    const secret = (name: string) =>
      client.peek<{ metadata?: object; data: Record<string, string> }>(RESOURCES.secret, NS, name);
    const cert = (b64: string | undefined) => new X509Certificate(Buffer.from(b64 ?? '', 'base64'));
    const server = cert(secret(`${NAME}-server-tls`)?.data[`${NAME}-0.crt`]);
    const user = cert(secret(`${NAME}-user-root`)?.data['tls.crt']);
    return {
      server: { from: Date.parse(server.validFrom), to: Date.parse(server.validTo), serial: server.serialNumber },
      user: { to: Date.parse(user.validTo), serial: user.serialNumber },
    };
  };
  return {
    client,
    clock,
    leaves,
    pass: () => r.reconcile(NS, NAME),
    cluster: () => client.peek<CommitLogCluster>(RESOURCES.cluster, NS, NAME),
  };
}

/** Passes until the cluster is at rest (status settled), returning the last result. */
async function settle(t: ReturnType<typeof setup>) {
  let res = await t.pass();
  for (let i = 0; i < 5; i++) res = await t.pass();
  return res;
}

describe('short-lived leaf certificates (spec.tls.leafValidity, leafRenewBefore)', function () {
  this.timeout(20_000);

  it('issues every leaf for leafValidity and requeues the pass at rest for the start of its renewal window', async () => {
    const t = setup({ replicas: 3, tls: { leafValidity: '10m', leafRenewBefore: '8m' } });
    const res = await settle(t);
    const { server, user } = t.leaves();
    assert.equal(server.to, T0 + 10 * MIN);
    assert.equal(user.to, T0 + 10 * MIN);
    assert.equal(res.requeueAfterMs, 2 * MIN, 'the pass at rest is requeued for the renewal, 2 minutes on');
  });

  it('keeps the leaves until the window opens, then renews every one in that pass', async () => {
    const t = setup({ replicas: 3, tls: { leafValidity: '10m', leafRenewBefore: '8m' } });
    await settle(t);
    const first = t.leaves();
    t.clock.now = T0 + 2 * MIN - 1000;
    await t.pass();
    assert.equal(t.leaves().server.serial, first.server.serial, 'kept one second before the window');
    t.clock.now = T0 + 2 * MIN + 1000;
    const res = await t.pass();
    const renewed = t.leaves();
    assert.notEqual(renewed.server.serial, first.server.serial);
    assert.notEqual(renewed.user.serial, first.user.serial);
    assert.equal(renewed.server.to, t.clock.now + 10 * MIN);
    assert.ok(
      res.requeueAfterMs !== undefined && res.requeueAfterMs <= 2 * MIN,
      `requeued for the next renewal (got ${String(res.requeueAfterMs)})`,
    );
  });

  it('re-issues leaves of the default 365 days at once when leafValidity shortens their lifetime', async () => {
    const t = setup({ replicas: 3 });
    await settle(t);
    const before = t.leaves();
    assert.equal(before.server.to, T0 + 365 * 1440 * MIN);
    const c = t.cluster();
    assert.ok(c);
    t.client.seed(RESOURCES.cluster, {
      ...c,
      spec: { ...c.spec, tls: { leafValidity: '1h', leafRenewBefore: '20m' } },
      metadata: { ...c.metadata, generation: 2 },
    });
    await t.pass();
    const after = t.leaves();
    assert.notEqual(after.server.serial, before.server.serial);
    assert.equal(after.server.to, T0 + 60 * MIN);
  });

  it('a renewal beyond the horizon is left to the resync; one due now is requeued in a second, never sooner', () => {
    const now = new Date(T0);
    assert.deepEqual(requeueForRenewal({}, new Date(T0 + RENEWAL_HORIZON_MS + 1), now), {});
    assert.deepEqual(requeueForRenewal({}, new Date(T0 + 30 * MIN), now), { requeueAfterMs: 30 * MIN });
    assert.deepEqual(requeueForRenewal({ requeueAfterMs: 5000 }, new Date(T0 + 30 * MIN), now), {
      requeueAfterMs: 5000,
    });
    assert.deepEqual(requeueForRenewal({}, new Date(T0 - MIN), now), { requeueAfterMs: 1000 });
    assert.deepEqual(requeueForRenewal({ requeueAfterMs: 7 }, undefined, now), { requeueAfterMs: 7 });
  });
});
