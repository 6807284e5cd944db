/**
 * The dwell of a CA rotation on a real API server (issue 14, item 6): every pod running a
 * phase's certificates and being Ready is not enough to leave the phase; it also lasts
 * `spec.tls.rotationDwellSeconds` from when it began, so clients that read their certificates
 * from a Secret volume (refreshed at the kubelet's sync period) have loaded the phase's trust
 * bundle or re-issued leaf before the next phase relies on it. The start is recorded next to
 * the phase (`<name>-ca`, or `<name>-ca-record` with a user-supplied CA) and read back by a
 * new operator; passes that only wait for the dwell write nothing and requeue for its end.
 *
 * Time is the operator's injected clock: the test moves it, the pods are real (controller-
 * manager recreates them; testing/ca-rotation-harness.ts marks them Ready; the set-up is
 * testing/ca-rotation.ts).
 */
import assert from 'node:assert/strict';
import { createCa } from './certs/pki.js';
import type { KubeObj } from './kube/client.js';
import { RESOURCES } from './kube/resources.js';
import { CA_STORE_ANNOTATIONS } from './model/secrets.js';
import { USER_CA_SECRET, useCaRotation } from './testing/ca-rotation.js';
import type { CaRotationHarness } from './testing/ca-rotation-harness.js';

const DWELL_S = 600;
const DWELL_MS = DWELL_S * 1000;

describe('a CA rotation phase lasts spec.tls.rotationDwellSeconds after it began (real API server)', function () {
  this.timeout(240_000);
  const rot = useCaRotation();
  const api = rot.api;
  /** The operator's clock (ms since the epoch); only the test moves it. */
  let t = 0;
  beforeEach(() => (t = Date.now()));
  /** A new operator: nothing in memory, its clock at `t`. */
  const reconciler = () => rot.reconciler(() => new Date(t));
  const secret = rot.secret;
  const phaseNow = async () => (await api.cluster('demo')).status?.ca?.rotationPhase;

  /** resourceVersions of the cluster, the StatefulSet and every Secret: equal = nothing written. */
  const versions = async (): Promise<string[]> => [
    `cluster ${(await api.cluster('demo')).metadata.resourceVersion}`,
    `statefulset ${(await api.client.get<KubeObj>(RESOURCES.statefulSet, api.ns, 'demo'))?.metadata?.resourceVersion}`,
    ...(await api.client.list<KubeObj>(RESOURCES.secret, api.ns)).items.map(
      (s) => `secret ${s.metadata?.name} ${s.metadata?.resourceVersion}`,
    ),
  ];

  /**
   * Passes at the same time `t` until the pods run the pod template of `phase` and are Ready,
   * then one more (the pass that sees them settled): the phase must not change meanwhile.
   */
  const settle = async (h: CaRotationHarness, phase: string): Promise<void> => {
    for (let i = 0; i < 40; i++) {
      await reconciler().reconcile(api.ns, 'demo');
      assert.equal(await phaseNow(), phase, `${phase} left before its dwell (pass ${i}, pods settled: ${i > 0})`);
      await h.kubelet();
      if (!(await h.podsNow()).rolled) continue;
      await reconciler().reconcile(api.ns, 'demo');
      assert.equal(await phaseNow(), phase, `${phase} left once its pods were settled, before its dwell`);
      return;
    }
    assert.fail(`the pods did not settle on the template of ${phase} within 40 passes`);
  };

  /**
   * From the pass that entered TrustBoth to Idle: in each phase the pods settle, the dwell
   * holds the phase (no writes, a requeue for its end), and the pass at its end advances.
   */
  const rotateThroughDwells = async (h: CaRotationHarness, phaseSecret: string): Promise<void> => {
    for (const phase of ['TrustBoth', 'ReissueLeaves', 'DropOld']) {
      const began = t;
      await settle(h, phase);
      const ca = (await api.cluster('demo')).status?.ca;
      assert.equal(ca?.phaseSince, new Date(began).toISOString(), `status.ca.phaseSince: when ${phase} began`);
      assert.equal(
        (await secret(phaseSecret))?.metadata?.annotations?.[CA_STORE_ANNOTATIONS.phaseSince],
        ca?.phaseSince,
        `${phaseSecret} records when ${phase} began, next to the phase`,
      );
      t = began + DWELL_MS / 2;
      await reconciler().reconcile(api.ns, 'demo'); // status now says it waits for the dwell
      assert.match(
        (await api.cluster('demo')).status?.ca?.waiting ?? '',
        /every pod runs the phase's certificates; the phase lasts until .* \(spec\.tls\.rotationDwellSeconds\)/,
      );
      const quiet = await versions();
      for (const [at, due] of [
        [began + DWELL_MS / 2, DWELL_MS / 2],
        [began + DWELL_MS - 5_000, 5_000],
        [began + DWELL_MS - 1, 1_000],
      ] as const) {
        t = at;
        const result = await reconciler().reconcile(api.ns, 'demo');
        assert.equal(await phaseNow(), phase, `${phase} ${at - began} ms after it began (dwell ${DWELL_MS} ms)`);
        assert.equal(result.requeueAfterMs, due, `${phase}: requeued for the end of the dwell`);
      }
      assert.deepEqual(await versions(), quiet, `${phase}: passes that only wait for the dwell write nothing`);
      t = began + DWELL_MS;
      await reconciler().reconcile(api.ns, 'demo');
      assert.notEqual(await phaseNow(), phase, `${phase} ends when its dwell does`);
    }
    assert.equal(await phaseNow(), 'Idle');
    const done = (await api.cluster('demo')).status?.ca;
    assert.deepEqual([done?.phaseSince, done?.waiting], [undefined, undefined], 'nothing left of the phase once Idle');
    assert.equal(
      (await secret(phaseSecret))?.metadata?.annotations?.[CA_STORE_ANNOTATIONS.phaseSince],
      undefined,
      `no phase start in ${phaseSecret} once Idle`,
    );
  };

  it('the operator CA: each phase lasts the dwell after its pods settled, read back by a new operator each pass', async () => {
    // GIVEN a cluster of 1 at rest on the operator's CA, with a dwell of 600 s
    await rot.createDemo(1, { rotationDwellSeconds: DWELL_S });
    const h = rot.operatorCa();
    await h.warmUp(reconciler());
    assert.equal((await api.cluster('demo')).spec.tls?.rotationDwellSeconds, DWELL_S);
    // WHEN the renew annotation starts a rotation
    await rot.renewCa('dwell-1');
    // THEN each phase lasts its dwell after its pods settled, to Idle
    await rotateThroughDwells(h, 'demo-ca');
  });

  it('a user-supplied CA replaced in its Secret: the same dwell, recorded in NAME-ca-record', async () => {
    // GIVEN a cluster of 1 at rest on the user's CA 1, with a dwell of 600 s
    const ca1 = await createCa('user CA 1', new Date(t), 3650);
    const ca2 = await createCa('user CA 2', new Date(t), 3650);
    await rot.putUserCa(ca1, 'create');
    await rot.createDemo(1, { caSecretName: USER_CA_SECRET, rotationDwellSeconds: DWELL_S });
    const h = rot.userCa(() => [ca1.certPem, ca2.certPem]);
    await h.warmUp(reconciler());
    // WHEN the user puts CA 2 in the Secret
    await rot.putUserCa(ca2, 'replace');
    // THEN each phase lasts its dwell after its pods settled, recorded in demo-ca-record, to Idle
    await rotateThroughDwells(h, 'demo-ca-record');
  });

  it('the dwell is part of the schema: a default of 120 s, whole seconds from 0 to 3600', async () => {
    const c = await api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
    assert.equal(c.spec.tls?.rotationDwellSeconds, 120);
    await assert.rejects(
      api.createCluster('other', { replicas: 1, tls: { rotationDwellSeconds: -1 } }),
      /spec\.tls\.rotationDwellSeconds/,
    );
    await assert.rejects(
      api.createCluster('third', { replicas: 1, tls: { rotationDwellSeconds: 3601 } }),
      /spec\.tls\.rotationDwellSeconds/,
    );
  });
});
