/**
 * CA rotation in phases on a real API server (issue 14, item 6): a forced or an expiring CA
 * is replaced through TrustBoth → ReissueLeaves → DropOld, each phase entered only when every
 * pod runs the previous phase's pod template and is Ready; the trust bundle (`ca.crt` of every
 * Secret) holds both CAs in between; the phase survives a restart of the reconciler.
 * (A user-supplied CA: user-ca-rotation.test.ts. The set-up and the stand-in kubelet:
 * testing/ca-rotation.ts and testing/ca-rotation-harness.ts.)
 */
import assert from 'node:assert/strict';
import { useCaRotation } from './testing/ca-rotation.js';
import { assertDrivenByPods, phases } from './testing/ca-rotation-harness.js';

describe('CA rotation in phases on a real API server', function () {
  this.timeout(240_000);
  const rot = useCaRotation();

  it('the renew annotation rotates the CA through TrustBoth, ReissueLeaves and DropOld, both CAs trusted in between', async () => {
    // GIVEN a cluster of 3 at rest on the operator's CA, which every ca.crt trusts alone
    await rot.createDemo(3);
    const h = rot.operatorCa();
    const r = rot.reconciler();
    await h.warmUp(r);
    const old = (await rot.cluster()).status?.ca?.current ?? '';
    assert.deepEqual((await h.seen(await h.podsNow())).trust['demo-server-tls'], [old], 'one CA trusted before');

    // WHEN the renew annotation is set, and passes run until the rotation is over
    await rot.renewCa('1');
    const rotation = await h.passes(r, (s) => s.phase === 'Idle');

    // THEN a new CA, reached through the three phases, each entered once the pods rolled
    const next = (await rot.cluster()).status?.ca?.current ?? '';
    assert.notEqual(next, old, 'a new CA');
    assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
    assertDrivenByPods(rotation);
    assert.deepEqual(
      [...new Set(rotation.map((s) => s.template))].length,
      3,
      'three pod templates: TrustBoth, ReissueLeaves, DropOld (= Idle on the new CA)',
    );
    // AND both CAs trusted in TrustBoth and ReissueLeaves; the leaves move in ReissueLeaves
    for (const s of rotation) {
      const want = s.phase === 'TrustBoth' || s.phase === 'ReissueLeaves' ? [old, next] : [next];
      for (const b of Object.values(s.trust))
        assert.deepEqual(b, want, `${s.phase}: every ca.crt holds ${want.length} CA(s)`);
      assert.deepEqual(s.leafIssuers, s.phase === 'TrustBoth' ? [old] : [next], `${s.phase}: who issued the leaves`);
    }
    // AND every phase but the last rolled the three pods before the next one began
    for (const p of ['TrustBoth', 'ReissueLeaves', 'DropOld'])
      assert.ok(rotation.filter((s) => s.phase === p).length >= 3, `${p} lasted a rolling restart of 3 pods`);
    assert.deepEqual(rot.rotationEvents(), [
      'Normal CaRotationStarted',
      'Normal CaRotationPhase',
      'Normal CaRotationPhase',
      'Normal CaRotationCompleted',
    ]);
    const done = await rot.cluster();
    assert.equal(done.status?.ca?.rotationPhase, 'Idle');
    assert.equal(done.status?.ca?.next, undefined);
    assert.equal(
      done.status?.conditions?.some((c) => c.type === 'CaRotating'),
      false,
      'no CaRotating condition once done',
    );
    assert.equal((await rot.secret('demo-ca'))?.data?.['next.crt'], undefined, 'the old CA is gone from the CA Secret');

    // AND the annotation may stay: its value was acted on, nothing rotates again
    for (let i = 0; i < 4; i++) {
      await r.reconcile(rot.api.ns, 'demo');
      await h.kubelet();
    }
    assert.equal((await rot.cluster()).status?.ca?.current, next, 'the same CA after more passes');
    assert.equal((await h.seen(await h.podsNow())).phase, 'Idle');
  });

  it('an expiring CA starts a rotation, and the phase survives a restart of the reconciler', async () => {
    // GIVEN a cluster of 1 at rest on the operator's CA
    await rot.createDemo(1);
    const h = rot.operatorCa();
    await h.warmUp(rot.reconciler());
    const old = (await rot.cluster()).status?.ca;
    assert.equal(old?.rotationPhase, 'Idle');

    // WHEN the clock moves to 5 days before the CA's notAfter (renewBeforeDays is 30)
    const later = new Date(Date.parse(old?.expiry ?? '') - 5 * 86_400_000);
    const first = await h.passes(
      rot.reconciler(() => later),
      (s) => s.phase === 'ReissueLeaves',
    );

    // THEN a rotation starts and reaches ReissueLeaves, status naming the phase and the new CA
    assert.deepEqual(phases(first), ['TrustBoth', 'ReissueLeaves']);
    assertDrivenByPods(first);
    const mid = (await rot.cluster()).status;
    assert.equal(mid?.ca?.rotationPhase, 'ReissueLeaves');
    assert.equal(mid?.conditions?.find((c) => c.type === 'CaRotating')?.reason, 'ReissueLeaves');
    const next = mid?.ca?.next;
    assert.ok(next !== undefined && next !== old?.current);

    // WHEN a new operator process (nothing in memory) takes over
    await h.kubelet();
    const rest = await h.passes(
      rot.reconciler(() => later),
      (s) => s.phase === 'Idle',
    );

    // THEN it finishes the same rotation from the recorded phase
    assert.deepEqual(phases(rest), [
      ...(rest[0]?.phase === 'ReissueLeaves' ? ['ReissueLeaves'] : []),
      'DropOld',
      'Idle',
    ]);
    assertDrivenByPods([first.at(-1)!, ...rest]);
    assert.equal(
      (await rot.cluster()).status?.ca?.current,
      next,
      'the restarted reconciler finished the same rotation',
    );
  });
});
