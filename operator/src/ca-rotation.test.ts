/**
 * CA rotation in phases on a real API server (issue 14, item 6): a forced or an expiring CA
 * is replaced through TrustBoth → ReissueLeaves → DropOld, each phase entered only when every
 * pod runs the previous phase's pod template and is Ready; the trust bundle (`ca.crt` of every
 * Secret) holds both CAs in between; the phase survives a restart of the reconciler.
 * (A user-supplied CA: user-ca-rotation.test.ts. No kubelet: reconcile/testing/ca-rotation-harness.ts.)
 */
import assert from 'node:assert/strict';
import { useControlPlane, useNamespace, type ControlPlane } from '../../test/support/control-plane.js';
import { ANNOTATIONS, type CommitLogCluster } from './api/types.js';
import { HttpKubeClient, type KubeObj } from './kube/client.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { Reconciler } from './reconcile/reconciler.js';
import {
  assertDrivenByPods,
  caRotationHarness,
  decode,
  phases,
  type PodsNow,
  type Seen,
} from './reconcile/testing/ca-rotation-harness.js';

interface SecretData extends KubeObj {
  readonly data?: Record<string, string>;
}

describe('CA rotation in phases on a real API server', function () {
  this.timeout(240_000);
  let cp: ControlPlane;
  let transport: KubeConfigTransport;
  let client: HttpKubeClient;
  const ns = useNamespace();

  before(async () => {
    cp = await useControlPlane();
    transport = new KubeConfigTransport(cp.kubeConfig);
    client = new HttpKubeClient(transport);
  });

  const events: string[] = [];
  beforeEach(() => events.splice(0));
  const reconciler = (now?: () => Date): Reconciler =>
    new Reconciler({
      client,
      log: silentLogger,
      events: {
        record: (_o, type, reason) => {
          events.push(`${type} ${reason}`);
          return Promise.resolve();
        },
      },
      ...(now ? { now } : {}),
    });

  const create = (replicas: number) =>
    client.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      // No dwell: these tests are about pods driving the phases (the dwell: ca-rotation-dwell.test.ts).
      spec: { replicas, external: { type: 'None' }, tls: { rotationDwellSeconds: 0 } },
    } satisfies CommitLogCluster);
  const cluster = async () => (await client.get<CommitLogCluster>(RESOURCES.cluster, ns.name, 'demo'))!;
  const secret = async (name: string) => (await client.get<SecretData>(RESOURCES.secret, ns.name, name))!;

  const h = () =>
    caRotationHarness({
      client,
      transport,
      namespace: ns.name,
      name: 'demo',
      phaseSecret: 'demo-ca',
      knownCas: async () => {
        const ca = await secret('demo-ca');
        return [decode(ca.data?.['tls.crt']), decode(ca.data?.['next.crt'])];
      },
    });
  const kubelet = () => h().kubelet();
  const podsNow = () => h().podsNow();
  const seen = (before: PodsNow) => h().seen(before);
  const passes = (r: Reconciler, done: (s: Seen) => boolean, max?: number) => h().passes(r, done, max);
  const warmUp = (r: Reconciler) => h().warmUp(r);

  it('the renew annotation rotates the CA through TrustBoth, ReissueLeaves and DropOld, both CAs trusted in between', async () => {
    await create(3);
    const r = reconciler();
    await warmUp(r);
    const old = (await cluster()).status?.ca?.current ?? '';
    assert.deepEqual(
      (await seen(await podsNow())).trust['demo-server-tls'],
      [old],
      'one CA trusted before the rotation',
    );

    await transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, 'demo'), {
      body: { metadata: { annotations: { [ANNOTATIONS.renewCa]: '1' } } },
      contentType: 'application/merge-patch+json',
    });
    const rotation = await passes(r, (s) => s.phase === 'Idle');
    const next = (await cluster()).status?.ca?.current ?? '';
    assert.notEqual(next, old, 'a new CA');
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    assert.deepEqual(
      [...new Set(rotation.map((s) => s.template))].length,
      3,
      'three pod templates: TrustBoth, ReissueLeaves, DropOld (= Idle on the new CA)',
    );
    for (const s of rotation) {
      const bundles = Object.values(s.trust);
      const want =
        s.phase === 'TrustBoth' || s.phase === 'ReissueLeaves' ? [old, next] : s.phase === 'DropOld' ? [next] : [next];
      for (const b of bundles) assert.deepEqual(b, want, `${s.phase}: every ca.crt holds ${want.length} CA(s)`);
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [old] : [next], `${s.phase}: who issued the leaves`);
    }
    // Every phase but the last rolled the three pods before the next one began.
    for (const p of ['TrustBoth', 'ReissueLeaves', 'DropOld'])
      assert.ok(rotation.filter((s) => s.phase === p).length >= 3, `${p} lasted a rolling restart of 3 pods`);
    assert.deepEqual(
      events.filter((e) => e.includes('CaRotation')),
      ['Normal CaRotationStarted', 'Normal CaRotationPhase', 'Normal CaRotationPhase', 'Normal CaRotationCompleted'],
    );
    const done = await cluster();
    assert.equal(done.status?.ca?.rotationPhase, 'Idle');
    assert.equal(done.status?.ca?.next, undefined);
    assert.equal(
      done.status?.conditions?.some((c) => c.type === 'CaRotating'),
      false,
      'no CaRotating condition once done',
    );
    assert.equal((await secret('demo-ca')).data?.['next.crt'], undefined, 'the old CA is gone from the CA Secret');

    // The annotation may stay: its value was acted on, nothing rotates again.
    for (let i = 0; i < 4; i++) {
      await r.reconcile(ns.name, 'demo');
      await kubelet();
    }
    assert.equal((await cluster()).status?.ca?.current, next, 'the same CA after more passes');
    assert.equal((await seen(await podsNow())).phase, 'Idle');
  });

  it('an expiring CA starts a rotation, and the phase survives a restart of the reconciler', async () => {
    await create(1);
    await warmUp(reconciler());
    const old = (await cluster()).status?.ca;
    assert.equal(old?.rotationPhase, 'Idle');
    // The clock moves to 5 days before the CA's notAfter (renewBeforeDays is 30).
    const later = new Date(Date.parse(old?.expiry ?? '') - 5 * 86_400_000);
    const r2 = reconciler(() => later);
    const first = await passes(r2, (s) => s.phase === 'ReissueLeaves');
    assert.deepEqual(phases(first), ['TrustBoth', 'ReissueLeaves']);
    assertDrivenByPods(first);
    const mid = (await cluster()).status;
    assert.equal(mid?.ca?.rotationPhase, 'ReissueLeaves');
    assert.equal(mid?.conditions?.find((c) => c.type === 'CaRotating')?.reason, 'ReissueLeaves');
    const next = mid?.ca?.next;
    assert.ok(next !== undefined && next !== old?.current);

    await kubelet();
    const r3 = reconciler(() => later); // a new operator process: nothing in memory
    const rest = await passes(r3, (s) => s.phase === 'Idle');
    assert.deepEqual(phases(rest), [
      ...(rest[0]?.phase === 'ReissueLeaves' ? ['ReissueLeaves'] : []),
      'DropOld',
      'Idle',
    ]);
    assertDrivenByPods([first.at(-1)!, ...rest]);
    assert.equal((await cluster()).status?.ca?.current, next, 'the restarted reconciler finished the same rotation');
  });
});
