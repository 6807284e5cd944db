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
 * manager recreates them; reconcile/testing/ca-rotation-harness.ts marks them Ready).
 */
import assert from 'node:assert/strict';
import { ANNOTATIONS } from './api/types.js';
import { createCa } from './certs/pki.js';
import type { KubeObj } from './kube/client.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { CA_STORE_ANNOTATIONS } from './model/secrets.js';
import { Reconciler } from './reconcile/reconciler.js';
import { caRotationHarness, decode, type CaRotationHarness } from './reconcile/testing/ca-rotation-harness.js';
import { useApiServer } from './testing/api-server.js';

interface SecretData extends KubeObj {
  readonly data?: Record<string, string>;
}

const DWELL_S = 600;
const DWELL_MS = DWELL_S * 1000;

describe('a CA rotation phase lasts spec.tls.rotationDwellSeconds after it began (real API server)', function () {
  this.timeout(240_000);
  const api = useApiServer();
  /** The operator's clock (ms since the epoch); only the test moves it. */
  let t = 0;
  beforeEach(() => (t = Date.now()));
  /** A new operator: nothing in memory, its clock at `t`. */
  const reconciler = (): Reconciler =>
    new Reconciler({
      client: api.client,
      log: silentLogger,
      events: { record: () => Promise.resolve() },
      now: () => new Date(t),
    });
  const harness = (phaseSecret: string, knownCas: () => Promise<readonly string[]>): CaRotationHarness =>
    caRotationHarness({
      client: api.client,
      transport: api.transport,
      namespace: api.ns,
      name: 'demo',
      phaseSecret,
      knownCas,
    });
  const secret = async (name: string) => await api.client.get<SecretData>(RESOURCES.secret, api.ns, name);
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
    await api.createCluster('demo', {
      replicas: 1,
      external: { type: 'None' },
      tls: { rotationDwellSeconds: DWELL_S },
    });
    const h = harness('demo-ca', async () => {
      const ca = await secret('demo-ca');
      return [decode(ca?.data?.['tls.crt']), decode(ca?.data?.['next.crt'])];
    });
    await h.warmUp(reconciler());
    assert.equal((await api.cluster('demo')).spec.tls?.rotationDwellSeconds, DWELL_S);
    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), {
      metadata: { annotations: { [ANNOTATIONS.renewCa]: 'dwell-1' } },
    });
    await rotateThroughDwells(h, 'demo-ca');
  });

  it('a user-supplied CA replaced in its Secret: the same dwell, recorded in NAME-ca-record', async () => {
    const ca1 = await createCa('user CA 1', new Date(t), 3650);
    const ca2 = await createCa('user CA 2', new Date(t), 3650);
    const body = (pem: { certPem: string; keyPem: string }) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'my-ca', namespace: api.ns },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(pem.certPem).toString('base64'),
        'tls.key': Buffer.from(pem.keyPem).toString('base64'),
      },
    });
    await api.client.create(RESOURCES.secret, body(ca1));
    await api.createCluster('demo', {
      replicas: 1,
      external: { type: 'None' },
      tls: { caSecretName: 'my-ca', rotationDwellSeconds: DWELL_S },
    });
    const h = harness('demo-ca-record', () => Promise.resolve([ca1.certPem, ca2.certPem]));
    await h.warmUp(reconciler());
    await api.transport.request('PUT', objectPath(RESOURCES.secret, api.ns, 'my-ca'), {
      body: body(ca2),
      contentType: 'application/json',
    });
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
