/**
 * A user-supplied CA (`spec.tls.caSecretName`) rotated in phases on a real API server (issue
 * 14, item 6): when the user replaces the contents of their CA Secret, the operator goes through
 * TrustBoth → ReissueLeaves → DropOld as it does for its own CA. The old CA stays trusted from
 * the operator's record `<name>-ca-record` (certificates only) while the user's Secret already
 * holds the new one; the leaves move to the new CA only once every pod runs the bundle; the old
 * CA leaves every `ca.crt` at the end; the phase survives a restart of the operator.
 *
 * The set-up and the stand-in kubelet: testing/ca-rotation.ts and testing/ca-rotation-harness.ts.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { fingerprint } from './certs/check.js';
import { createCa } from './certs/pki.js';
import { silentLogger } from './kube/logger.js';
import { createMetrics } from './kube/metrics.js';
import { until } from './kube/testing/wait.js';
import type { PemPair } from './model/inputs.js';
import { Operator } from './operator.js';
import { USER_CA_SECRET, useCaRotation } from './testing/ca-rotation.js';
import { assertDrivenByPods, phases, type Seen } from './testing/ca-rotation-harness.js';

describe('a user-supplied CA rotated in phases on a real API server', function () {
  this.timeout(240_000);
  const rot = useCaRotation();
  let ca1: PemPair;
  let ca2: PemPair;
  let fp1: string;
  let fp2: string;

  before(async () => {
    ca1 = await createCa('user CA 1', new Date(), 3650);
    ca2 = await createCa('user CA 2', new Date(), 3650);
    [fp1, fp2] = [fingerprint(ca1.certPem), fingerprint(ca2.certPem)];
  });
  /** The harness on the user's CA, which is one of the two CAs of these tests. */
  const userCa = () => rot.userCa(() => [ca1.certPem, ca2.certPem]);
  /** The certificate of the operator's generated CA ('' when there is none). */
  const generated = () => rot.secretText('demo-ca', 'tls.crt');
  const trustWanted = (phase: string): string[] =>
    phase === 'TrustBoth' || phase === 'ReissueLeaves' ? [fp1, fp2] : [fp2];

  it('replacing the CA in its Secret trusts both CAs, re-issues the leaves once that is rolled out, then drops the old one, across an operator restart', async () => {
    // GIVEN a cluster of 3 at rest on the user's CA 1
    await rot.putUserCa(ca1, 'create');
    await rot.createDemo(3, { caSecretName: USER_CA_SECRET });
    const h = userCa();
    await h.warmUp(rot.reconciler());
    const rest0 = await h.seen(await h.podsNow());
    assert.deepEqual(rest0.trust['demo-server-tls'], [fp1], 'one CA trusted before the change');
    assert.deepEqual(rest0.leafIssuers, [fp1]);
    assert.equal((await rot.cluster()).status?.ca?.current, fp1);

    // WHEN the user puts CA 2 in the Secret, and passes run until ReissueLeaves (or until one
    // already dropped the old CA: the one-step swap this replaces, which the checks then name)
    await rot.putUserCa(ca2, 'replace');
    const first = await h.passes(
      rot.reconciler(),
      (s) => s.phase === 'ReissueLeaves' || !(s.trust['demo-server-tls'] ?? []).includes(fp1),
    );

    // THEN the first pass trusts both CAs in every ca.crt, and TrustBoth leads to ReissueLeaves
    assert.deepEqual(
      first[0]?.trust,
      { 'demo-server-tls': [fp1, fp2], 'demo-operator-tls': [fp1, fp2], 'demo-user-root': [fp1, fp2] },
      'the first pass after the change: every ca.crt holds the old and the new CA',
    );
    assert.deepEqual(phases(first), ['TrustBoth', 'ReissueLeaves']);
    const mid = (await rot.cluster()).status;
    assert.deepEqual(
      [mid?.ca?.rotationPhase, mid?.ca?.current, mid?.ca?.next],
      ['ReissueLeaves', fp1, fp2],
      'status.ca names the phase and both CAs',
    );
    assert.equal(mid?.conditions?.find((c) => c.type === 'CaRotating')?.reason, 'ReissueLeaves');
    // AND the old CA is kept by the operator as a certificate only
    const record = await rot.secret('demo-ca-record');
    assert.deepEqual(
      Object.keys(record?.data ?? {}).sort(),
      ['current.crt', 'next.crt'],
      'the record holds both CA certificates and no key',
    );
    assert.equal(fingerprint(await rot.secretText('demo-ca-record', 'current.crt')), fp1, 'the old CA, kept');
    assert.equal(await rot.secret('demo-ca'), undefined, 'the user CA key is not copied');

    // WHEN a new operator (nothing in memory) runs passes until Idle
    await h.kubelet();
    const rest = await h.passes(rot.reconciler(), (s) => s.phase === 'Idle');

    // THEN the whole rotation went through the phases, driven by the pods
    const rotation: Seen[] = [...first, ...rest];
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    for (const s of rotation) {
      for (const [name, b] of Object.entries(s.trust))
        assert.deepEqual(b, trustWanted(s.phase), `${s.phase}: ${name} ca.crt`);
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [fp1] : [fp2], `${s.phase}: who issued the leaves`);
    }
    // AND the leaves moved to the new CA only after every pod ran the bundle of both CAs
    const moved = rotation.findIndex((s) => s.leafIssuers.includes(fp2));
    const bundle = rotation[moved]?.before;
    assert.ok(bundle?.rolled, 'every pod ran the previous template and was Ready when the leaves moved');
    assert.equal(bundle.template, rotation[0]?.template, 'the pods ran the TrustBoth template');
    assert.match(bundle.template, new RegExp(`trust=${fp1.slice(0, 16)}\\+${fp2.slice(0, 16)};`));
    for (const p of ['TrustBoth', 'ReissueLeaves', 'DropOld'])
      assert.ok(rotation.filter((s) => s.phase === p).length >= 3, `${p} lasted a rolling restart of 3 pods`);
    // AND status, the record and the events say it is over
    const done = await rot.cluster();
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
      Object.keys((await rot.secret('demo-ca-record'))?.data ?? {}),
      ['current.crt'],
      'the old CA is gone from the record',
    );
    assert.deepEqual(rot.rotationEvents(), [
      'Normal CaRotationStarted',
      'Normal CaRotationPhase',
      'Normal CaRotationPhase',
      'Normal CaRotationCompleted',
    ]);
    // AND at rest on the new CA, more passes change nothing
    const r = rot.reconciler();
    for (let i = 0; i < 3; i++) {
      await r.reconcile(rot.api.ns, 'demo');
      await h.kubelet();
    }
    assert.equal((await h.seen(await h.podsNow())).phase, 'Idle');
    assert.equal((await rot.cluster()).status?.ca?.current, fp2);
  });

  it('switching a running cluster from the generated CA to a user-supplied one rotates in phases from the generated CA', async () => {
    // GIVEN a cluster of 1 at rest on the operator's generated CA
    await rot.createDemo(1);
    const h = rot.userCa(async () => [await generated(), ca1.certPem]);
    await h.warmUp(rot.reconciler());
    const fpGen = fingerprint(await generated());

    // WHEN the user creates a CA Secret and names it in spec.tls.caSecretName
    await rot.putUserCa(ca1, 'create');
    await rot.setCaSecretName(USER_CA_SECRET);
    // (Before the record exists the phase reads Idle: a one-step swap ends the loop at once.)
    const rotation = await h.passes(rot.reconciler(), (s) => s.phase === 'Idle');

    // THEN the first pass trusts both, the phases run, and the leaves move to the user's CA
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
    assert.equal((await rot.cluster()).status?.ca?.current, fp1);
    // AND the generated CA Secret is gone
    assert.equal(await rot.secret('demo-ca'), undefined, 'the generated CA Secret goes once the user CA took over');
  });

  it('switching back from a user-supplied CA to a generated one rotates in phases too, and leaves no CA record behind', async () => {
    // GIVEN a cluster of 1 at rest on the user's CA 1, without a generated CA
    await rot.putUserCa(ca1, 'create');
    await rot.createDemo(1, { caSecretName: USER_CA_SECRET });
    const h = rot.userCa(async () => [ca1.certPem, await generated()]);
    await h.warmUp(rot.reconciler());
    assert.equal((await rot.cluster()).status?.ca?.current, fp1);
    assert.equal(await rot.secret('demo-ca'), undefined, 'no generated CA while on the user CA');

    // WHEN spec.tls.caSecretName is removed
    await rot.setCaSecretName(null);
    const rotation = await h.passes(rot.reconciler(), (s) => s.phase === 'Idle');

    // THEN the rotation to a new generated CA runs through the phases, trusting both in between
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
      [(await rot.cluster()).status?.ca?.rotationPhase, (await rot.cluster()).status?.ca?.current],
      ['Idle', fpGen],
    );
    // AND the record of the user CA is deleted, the events tell the phases
    assert.equal(await rot.secret('demo-ca-record'), undefined, 'the record of the user CA is deleted once Idle');
    assert.deepEqual(rot.rotationEvents(), [
      'Normal CaRotationStarted',
      'Normal CaRotationPhase',
      'Normal CaRotationPhase',
      'Normal CaRotationCompleted',
    ]);
    // AND at rest on the generated CA (its own machine now), nothing rotates again
    const r = rot.reconciler();
    for (let i = 0; i < 3; i++) {
      await r.reconcile(rot.api.ns, 'demo');
      await h.kubelet();
    }
    assert.deepEqual(
      [(await rot.cluster()).status?.ca?.rotationPhase, (await rot.cluster()).status?.ca?.current],
      ['Idle', fpGen],
    );
  });

  it('a user-supplied CA within renewBeforeDays of its expiry is a Warning CaExpiring event, its expiry in status', async () => {
    // GIVEN a user CA that expires in 10 days (spec.tls.renewBeforeDays defaults to 30)
    const short = await createCa('user CA expiring', new Date(), 10);
    const notAfter = new X509Certificate(short.certPem).validToDate;
    await rot.putUserCa(short, 'create');
    await rot.createDemo(1, { caSecretName: USER_CA_SECRET });

    // WHEN the operator reconciles the cluster
    const r = rot.reconciler();
    await r.reconcile(rot.api.ns, 'demo'); // records the cluster id
    await r.reconcile(rot.api.ns, 'demo'); // issues the certificates from the user CA

    // THEN a Warning event says the CA expires and what to do (the operator cannot renew it)
    assert.ok(rot.events.includes('Warning CaExpiring'), `events: ${rot.events.join(', ')}`);
    // AND status names the CA's expiry and the earliest expiry of the cluster's certificates
    const status = (await rot.cluster()).status;
    assert.equal(status?.ca?.expiry, notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const certs = status?.conditions?.find((c) => c.type === 'CertificatesReady');
    assert.deepEqual([certs?.status, certs?.reason], ['True', 'Issued']);
    assert.equal(certs?.message, `earliest expiry ${status?.ca?.expiry}`, 'the CA expires first');
  });

  it('the operator watches the CA Secret: a replacement starts the rotation without waiting for a resync, and the operator completes it', async () => {
    const issuedBy = async (ca: PemPair) => {
      const leaf = await rot.secretText('demo-user-root', 'tls.crt');
      return leaf !== '' && new X509Certificate(leaf).checkIssued(new X509Certificate(ca.certPem));
    };
    const trust = async () =>
      (
        (await rot.secretText('demo-user-root', 'ca.crt')).match(
          /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
        ) ?? []
      ).map(fingerprint);
    // GIVEN a running Operator whose resync is far beyond the test (only a watch event can
    // bring a change in), and a cluster of 1 on the user's CA 1, Ready and quiet
    await rot.putUserCa(ca1, 'create');
    await rot.createDemo(1, { caSecretName: USER_CA_SECRET });
    const h = userCa();
    const metrics = createMetrics();
    const passCount = async () => (await metrics.reconciles.get()).values.reduce((a, v) => a + v.value, 0);
    const op = new Operator({
      client: rot.api.client,
      log: silentLogger,
      metrics,
      namespaces: [rot.api.ns],
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
          await h.kubelet();
          return (await rot.cluster()).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
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

      // WHEN the user replaces the CA in its Secret
      await rot.putUserCa(ca2, 'replace');

      // THEN the operator enters TrustBoth without a resync
      await until(
        async () => (await trust()).join() === [fp1, fp2].join(),
        'every ca.crt to trust both CAs (TrustBoth)',
        30_000,
        100,
      );
      // AND the running operator (its informer caches, its requeues) finishes the rotation
      await until(
        async () => {
          await h.kubelet();
          return (
            (await issuedBy(ca2)) &&
            (await trust()).join() === fp2 &&
            (await rot.cluster()).status?.ca?.rotationPhase === 'Idle'
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
