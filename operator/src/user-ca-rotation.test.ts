/**
 * A user-supplied CA (`spec.tls.caSecretName`) rotated in phases on a real API server (issue
 * 14, item 6): when the user replaces the contents of their CA Secret, the operator goes through
 * TrustBoth → ReissueLeaves → DropOld as it does for its own CA. The old CA stays trusted from
 * the operator's record `<name>-ca-record` (certificates only) while the user's Secret already
 * holds the new one; the leaves move to the new CA only once every pod runs the bundle; the old
 * CA leaves every `ca.crt` at the end; the phase survives a restart of the operator.
 *
 * No kubelet: reconcile/testing/ca-rotation-harness.ts marks the pods Ready.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { useControlPlane, useNamespace, type ControlPlane } from '../../test/support/control-plane.js';
import type { CommitLogCluster } from './api/types.js';
import { fingerprint } from './certs/check.js';
import { createCa } from './certs/pki.js';
import { HttpKubeClient, type KubeObj } from './kube/client.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { createMetrics } from './kube/metrics.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import type { PemPair } from './model/inputs.js';
import { Operator } from './operator.js';
import { Reconciler } from './reconcile/reconciler.js';
import {
  assertDrivenByPods,
  caRotationHarness,
  decode,
  phases,
  type CaRotationHarness,
  type Seen,
} from './reconcile/testing/ca-rotation-harness.js';

interface SecretData extends KubeObj {
  readonly data?: Record<string, string>;
}

describe('a user-supplied CA rotated in phases on a real API server', function () {
  this.timeout(240_000);
  let cp: ControlPlane;
  let transport: KubeConfigTransport;
  let client: HttpKubeClient;
  const ns = useNamespace();
  let ca1: PemPair;
  let ca2: PemPair;
  let fp1: string;
  let fp2: string;

  before(async () => {
    cp = await useControlPlane();
    transport = new KubeConfigTransport(cp.kubeConfig);
    client = new HttpKubeClient(transport);
    ca1 = await createCa('user CA 1', new Date(), 3650);
    ca2 = await createCa('user CA 2', new Date(), 3650);
    [fp1, fp2] = [fingerprint(ca1.certPem), fingerprint(ca2.certPem)];
  });

  const events: string[] = [];
  beforeEach(() => events.splice(0));
  const reconciler = (): Reconciler =>
    new Reconciler({
      client,
      log: silentLogger,
      events: {
        record: (_o, type, reason) => {
          events.push(`${type} ${reason}`);
          return Promise.resolve();
        },
      },
    });
  const h = (): CaRotationHarness =>
    caRotationHarness({
      client,
      transport,
      namespace: ns.name,
      name: 'demo',
      phaseSecret: 'demo-ca-record',
      knownCas: () => Promise.resolve([ca1.certPem, ca2.certPem]),
    });

  /** Writes the user's CA Secret `my-ca` (a replace = the user puts another CA in it). */
  const put = async (ca: PemPair, verb: 'create' | 'replace'): Promise<void> => {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'my-ca', namespace: ns.name },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(ca.certPem).toString('base64'),
        'tls.key': Buffer.from(ca.keyPem).toString('base64'),
      },
    };
    if (verb === 'create') await client.create(RESOURCES.secret, body);
    else
      await transport.request('PUT', objectPath(RESOURCES.secret, ns.name, 'my-ca'), {
        body,
        contentType: 'application/json',
      });
  };
  const create = (replicas: number) =>
    client.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      // No dwell: these tests are about pods driving the phases (the dwell: ca-rotation-dwell.test.ts).
      spec: { replicas, external: { type: 'None' }, tls: { caSecretName: 'my-ca', rotationDwellSeconds: 0 } },
    } satisfies CommitLogCluster);
  const cluster = async () => (await client.get<CommitLogCluster>(RESOURCES.cluster, ns.name, 'demo'))!;
  const secret = async (name: string) => await client.get<SecretData>(RESOURCES.secret, ns.name, name);
  const trustWanted = (phase: string): string[] =>
    phase === 'TrustBoth' || phase === 'ReissueLeaves' ? [fp1, fp2] : [fp2];

  it('replacing the CA in its Secret trusts both CAs, re-issues the leaves once that is rolled out, then drops the old one, across an operator restart', async () => {
    await put(ca1, 'create');
    await create(3);
    await h().warmUp(reconciler());
    const rest0 = await h().seen(await h().podsNow());
    assert.deepEqual(rest0.trust['demo-server-tls'], [fp1], 'one CA trusted before the change');
    assert.deepEqual(rest0.leafIssuers, [fp1]);
    assert.equal((await cluster()).status?.ca?.current, fp1);

    await put(ca2, 'replace');
    // Until the pass that enters ReissueLeaves, or one that already dropped the old CA (the
    // one-step swap this replaces), which the assertions below then name.
    const first = await h().passes(
      reconciler(),
      (s) => s.phase === 'ReissueLeaves' || !(s.trust['demo-server-tls'] ?? []).includes(fp1),
    );
    assert.deepEqual(
      first[0]?.trust,
      { 'demo-server-tls': [fp1, fp2], 'demo-operator-tls': [fp1, fp2], 'demo-user-root': [fp1, fp2] },
      'the first pass after the change: every ca.crt holds the old and the new CA',
    );
    assert.deepEqual(phases(first), ['TrustBoth', 'ReissueLeaves']);
    const mid = (await cluster()).status;
    assert.deepEqual(
      [mid?.ca?.rotationPhase, mid?.ca?.current, mid?.ca?.next],
      ['ReissueLeaves', fp1, fp2],
      'status.ca names the phase and both CAs',
    );
    assert.equal(mid?.conditions?.find((c) => c.type === 'CaRotating')?.reason, 'ReissueLeaves');
    const record = await secret('demo-ca-record');
    assert.deepEqual(
      Object.keys(record?.data ?? {}).sort(),
      ['current.crt', 'next.crt'],
      'the record holds both CA certificates and no key',
    );
    assert.equal(fingerprint(decode(record?.data?.['current.crt'])), fp1, 'the old CA, kept by the operator');
    assert.equal(await secret('demo-ca'), undefined, 'the user CA key is not copied');

    await h().kubelet();
    const rest = await h().passes(reconciler(), (s) => s.phase === 'Idle'); // a new operator: nothing in memory
    const rotation: Seen[] = [...first, ...rest];
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    for (const s of rotation) {
      for (const [name, b] of Object.entries(s.trust))
        assert.deepEqual(b, trustWanted(s.phase), `${s.phase}: ${name} ca.crt`);
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [fp1] : [fp2], `${s.phase}: who issued the leaves`);
    }
    // The leaves moved to the new CA only after every pod ran the bundle of both CAs.
    const moved = rotation.findIndex((s) => s.leafIssuers.includes(fp2));
    const bundle = rotation[moved]?.before;
    assert.ok(bundle?.rolled, 'every pod ran the previous template and was Ready when the leaves moved');
    assert.equal(bundle.template, rotation[0]?.template, 'the pods ran the TrustBoth template');
    assert.match(bundle.template, new RegExp(`trust=${fp1.slice(0, 16)}\\+${fp2.slice(0, 16)};`));
    for (const p of ['TrustBoth', 'ReissueLeaves', 'DropOld'])
      assert.ok(rotation.filter((s) => s.phase === p).length >= 3, `${p} lasted a rolling restart of 3 pods`);

    const done = await cluster();
    assert.deepEqual(
      [done.status?.ca?.rotationPhase, done.status?.ca?.current, done.status?.ca?.next],
      ['Idle', fp2, undefined],
    );
    assert.equal(
      done.status?.conditions?.some((c) => c.type === 'CaRotating'),
      false,
      'no CaRotating once done',
    );
    assert.deepEqual(
      Object.keys((await secret('demo-ca-record'))?.data ?? {}),
      ['current.crt'],
      'the old CA is gone from the record',
    );
    assert.deepEqual(
      events.filter((e) => e.includes('CaRotation')),
      ['Normal CaRotationStarted', 'Normal CaRotationPhase', 'Normal CaRotationPhase', 'Normal CaRotationCompleted'],
    );
    // At rest on the new CA: more passes change nothing.
    const r = reconciler();
    for (let i = 0; i < 3; i++) {
      await r.reconcile(ns.name, 'demo');
      await h().kubelet();
    }
    assert.equal((await h().seen(await h().podsNow())).phase, 'Idle');
    assert.equal((await cluster()).status?.ca?.current, fp2);
  });

  it('switching a running cluster from the generated CA to a user-supplied one rotates in phases from the generated CA', async () => {
    await client.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns.name },
      spec: { replicas: 1, external: { type: 'None' }, tls: { rotationDwellSeconds: 0 } },
    } satisfies CommitLogCluster);
    const generated = async () => decode((await secret('demo-ca'))?.data?.['tls.crt']);
    const harness = caRotationHarness({
      client,
      transport,
      namespace: ns.name,
      name: 'demo',
      phaseSecret: 'demo-ca-record',
      knownCas: async () => [await generated(), ca1.certPem],
    });
    await harness.warmUp(reconciler());
    const fpGen = fingerprint(await generated());
    await put(ca1, 'create');
    await transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, 'demo'), {
      body: { spec: { tls: { caSecretName: 'my-ca' } } },
      contentType: 'application/merge-patch+json',
    });
    // (Before the record exists the phase reads Idle: a one-step swap ends the loop at once.)
    const rotation = await harness.passes(reconciler(), (s) => s.phase === 'Idle');
    assert.deepEqual(
      rotation[0]?.trust['demo-server-tls'],
      [fpGen, fp1],
      'the first pass after the switch trusts the generated CA and the user CA',
    );
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    for (const s of rotation)
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [fpGen] : [fp1], `${s.phase}: who issued the leaves`);
    assert.deepEqual(rotation.at(-1)?.trust['demo-server-tls'], [fp1]);
    assert.equal((await cluster()).status?.ca?.current, fp1);
    assert.equal(await secret('demo-ca'), undefined, 'the generated CA Secret goes once the user CA took over');
  });

  it('switching back from a user-supplied CA to a generated one rotates in phases too, and leaves no CA record behind', async () => {
    await put(ca1, 'create');
    await create(1);
    const generated = async () => decode((await secret('demo-ca'))?.data?.['tls.crt']);
    const harness = caRotationHarness({
      client,
      transport,
      namespace: ns.name,
      name: 'demo',
      phaseSecret: 'demo-ca-record',
      knownCas: async () => [ca1.certPem, await generated()],
    });
    await harness.warmUp(reconciler());
    assert.equal((await cluster()).status?.ca?.current, fp1);
    assert.equal(await secret('demo-ca'), undefined, 'no generated CA while on the user CA');
    await transport.request('PATCH', objectPath(RESOURCES.cluster, ns.name, 'demo'), {
      body: { spec: { tls: { caSecretName: null } } },
      contentType: 'application/merge-patch+json',
    });
    const rotation = await harness.passes(reconciler(), (s) => s.phase === 'Idle');
    const fpGen = fingerprint(await generated());
    assert.notEqual(fpGen, fp1);
    assert.deepEqual(
      rotation[0]?.trust['demo-server-tls'],
      [fp1, fpGen],
      'the first pass after the switch back trusts the user CA and the generated CA',
    );
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    for (const s of rotation)
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [fp1] : [fpGen], `${s.phase}: who issued the leaves`);
    assert.deepEqual(rotation.at(-1)?.trust['demo-server-tls'], [fpGen]);
    assert.deepEqual(
      [(await cluster()).status?.ca?.rotationPhase, (await cluster()).status?.ca?.current],
      ['Idle', fpGen],
    );
    assert.equal(await secret('demo-ca-record'), undefined, 'the record of the user CA is deleted once Idle');
    assert.deepEqual(
      events.filter((e) => e.includes('CaRotation')),
      ['Normal CaRotationStarted', 'Normal CaRotationPhase', 'Normal CaRotationPhase', 'Normal CaRotationCompleted'],
    );
    // At rest on the generated CA: the generated CA's own machine, nothing rotates again.
    const r = reconciler();
    for (let i = 0; i < 3; i++) {
      await r.reconcile(ns.name, 'demo');
      await harness.kubelet();
    }
    assert.deepEqual(
      [(await cluster()).status?.ca?.rotationPhase, (await cluster()).status?.ca?.current],
      ['Idle', fpGen],
    );
  });

  it('the operator watches the CA Secret: a replacement starts the rotation without waiting for a resync, and the operator completes it', async () => {
    const issuedBy = async (ca: PemPair) => {
      const leaf = decode((await secret('demo-user-root'))?.data?.['tls.crt']);
      return leaf !== '' && new X509Certificate(leaf).checkIssued(new X509Certificate(ca.certPem));
    };
    const trust = async () =>
      (
        decode((await secret('demo-user-root'))?.data?.['ca.crt']).match(
          /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
        ) ?? []
      ).map(fingerprint);
    await put(ca1, 'create');
    await create(1);
    // Resync far beyond the test: only a watch event can bring the change in.
    const metrics = createMetrics();
    const passCount = async () => (await metrics.reconciles.get()).values.reduce((a, v) => a + v.value, 0);
    const op = new Operator({
      client,
      log: silentLogger,
      metrics,
      namespaces: [ns.name],
      identity: 'ca-watch-test',
      resyncMs: 3_600_000,
    });
    op.start();
    try {
      await until(() => issuedBy(ca1), 'the user certificate issued by the first CA', 30_000, 100);
      await until(() => op.synced, 'the informers to list', 30_000, 100);
      // At rest (every member Ready), the operator stops polling: it must be woken. (Pods are
      // marked Ready again as they come: the first Ready pod forbids bootstrap in the node
      // config, and the rolling update restarts it onto that.)
      await until(
        async () => {
          await h().kubelet();
          return (await cluster()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        },
        'the cluster to be Ready',
        30_000,
        100,
      );
      // Only to make the check below fail without the Secret watch (a pass already queued
      // would pick the change up too): let the passes woken by the last writes finish.
      let last = -1;
      await until(
        async () => {
          const n = await passCount();
          const quiet = n === last;
          last = n;
          return quiet;
        },
        'the operator to finish the passes its own writes woke',
        30_000,
        1_000,
      );
      await put(ca2, 'replace');
      await until(
        async () => (await trust()).join() === [fp1, fp2].join(),
        'every ca.crt to trust both CAs (TrustBoth)',
        30_000,
        100,
      );
      // The running operator (its informer caches, its requeues) finishes the rotation.
      await until(
        async () => {
          await h().kubelet();
          return (
            (await issuedBy(ca2)) &&
            (await trust()).join() === fp2 &&
            (await cluster()).status?.ca?.rotationPhase === 'Idle'
          );
        },
        'the rotation to end: certificates issued by the new CA, only it trusted',
        120_000,
        200,
      );
    } finally {
      await op.stop();
    }
  });
});
