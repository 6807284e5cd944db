/**
 * The set-up every CA-rotation test on a real API server shares (ca-rotation.test.ts,
 * user-ca-rotation.test.ts, ca-rotation-dwell.test.ts), so that each test holds only its
 * GIVEN / WHEN / THEN: the API server and a fresh namespace per test ({@link useApiServer}),
 * the CommitLogCluster `demo` without external access, new operators (a {@link Reconciler}
 * with nothing in memory, its clock injectable, its events recorded for the test), the
 * Secrets as read, the user's CA Secret written as a user would, the annotation and spec
 * changes that start a rotation, and the harness of ca-rotation-harness.ts (stand-in kubelet,
 * observations per pass) on the operator's CA or on a user-supplied one.
 *
 * Call {@link useCaRotation} inside `describe`: it registers the hooks (connect, a namespace
 * per test, recorded events cleared before each test).
 *
 * @example
 *   describe('CA rotation …', function () {
 *     this.timeout(240_000);
 *     const rot = useCaRotation();
 *     it('the renew annotation rotates the CA in phases', async () => {
 *       // GIVEN a cluster of 3 at rest on the operator's CA
 *       await rot.createDemo(3);
 *       const h = rot.operatorCa();
 *       await h.warmUp(rot.reconciler());
 *       // WHEN the renew annotation is set
 *       await rot.renewCa('1');
 *       // THEN passes go through every phase to Idle
 *       const rotation = await h.passes(rot.reconciler(), (s) => s.phase === 'Idle');
 *       assert.deepEqual(phases(rotation), ['TrustBoth', 'ReissueLeaves', 'DropOld', 'Idle']);
 *     });
 *   });
 */
import { ANNOTATIONS, type CommitLogCluster, type TlsSpec } from '../api/types.js';
import type { KubeObj } from '../kube/client.js';
import { silentLogger } from '../kube/logger.js';
import { objectPath, RESOURCES } from '../kube/resources.js';
import type { PemPair } from '../model/inputs.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { useApiServer, type ApiServerTest } from './api-server.js';
import { caRotationHarness, decode, type CaRotationHarness } from './ca-rotation-harness.js';

/** The name of the cluster every rotation test runs (its Secrets are `demo-ca`, `demo-server-tls`, …). */
export const DEMO = 'demo';
/** The name of the user's CA Secret in the tests of a user-supplied CA (`spec.tls.caSecretName`). */
export const USER_CA_SECRET = 'my-ca';

/** A Secret as the tests read it. */
export interface SecretData extends KubeObj {
  readonly data?: Record<string, string>;
}

/** What {@link useCaRotation} gives a test; every member is valid inside a test. */
export interface CaRotationTest {
  /** The API server, its clients and the test's namespace. */
  readonly api: ApiServerTest;
  /** `type reason` of every event the reconcilers of the current test recorded, in order. */
  readonly events: readonly string[];
  /** Those of {@link events} about the rotation (`Normal CaRotationStarted`, …). */
  rotationEvents(): string[];
  /**
   * A new operator: a Reconciler with nothing in memory (as after a restart), recording its
   * events into {@link events}, on the clock `now` (default the wall clock).
   */
  reconciler(now?: () => Date): Reconciler;
  /**
   * Creates the cluster `demo` of `replicas` with no external access and `spec.tls` = `tls`
   * over a dwell of 0 s (pods, not time, drive the phases unless `tls.rotationDwellSeconds` says otherwise).
   */
  createDemo(replicas: number, tls?: TlsSpec): Promise<CommitLogCluster>;
  /** The cluster `demo` as stored. */
  cluster(): Promise<CommitLogCluster>;
  /** Secret `name` of the namespace, if it exists. */
  secret(name: string): Promise<SecretData | undefined>;
  /** The text under `key` of Secret `name` ('' when either is absent). */
  secretText(name: string, key: string): Promise<string>;
  /** The harness on the operator's own CA: the phase in `demo-ca`, the CAs its `tls.crt` and `next.crt`. */
  operatorCa(): CaRotationHarness;
  /** The harness on a user-supplied CA: the phase in `demo-ca-record`, the CAs `knownCas` names. */
  userCa(knownCas: () => readonly string[] | Promise<readonly string[]>): CaRotationHarness;
  /** Writes the user's CA Secret {@link USER_CA_SECRET} holding `ca`: `create`, or `replace` (a PUT, as a user replaces it). */
  putUserCa(ca: PemPair, verb: 'create' | 'replace'): Promise<void>;
  /** Sets annotation `commitlog.dev/renew-ca` of `demo` to `value` (forces a rotation of the operator's CA). */
  renewCa(value: string): Promise<void>;
  /** Sets `spec.tls.caSecretName` of `demo` (null removes it: back to the operator's generated CA). */
  setCaSecretName(name: string | null): Promise<void>;
}

/** Call inside `describe`: the shared set-up of the CA-rotation tests (see the file header). */
export function useCaRotation(): CaRotationTest {
  const api = useApiServer();
  const events: string[] = [];
  beforeEach(() => events.splice(0));
  const harness = (phaseSecret: string, knownCas: () => readonly string[] | Promise<readonly string[]>) =>
    caRotationHarness({
      client: api.client,
      transport: api.transport,
      namespace: api.ns,
      name: DEMO,
      phaseSecret,
      knownCas: async () => await knownCas(),
    });
  const t: CaRotationTest = {
    api,
    events,
    rotationEvents: () => events.filter((e) => e.includes('CaRotation')),
    reconciler: (now) =>
      new Reconciler({
        client: api.client,
        log: silentLogger,
        events: {
          record: (_o, type, reason) => {
            events.push(`${type} ${reason}`);
            return Promise.resolve();
          },
        },
        ...(now ? { now } : {}),
      }),
    createDemo: (replicas, tls = {}) =>
      api.createCluster(DEMO, { replicas, external: { type: 'None' }, tls: { rotationDwellSeconds: 0, ...tls } }),
    cluster: () => api.cluster(DEMO),
    secret: (name) => api.client.get<SecretData>(RESOURCES.secret, api.ns, name),
    secretText: async (name, key) => decode((await t.secret(name))?.data?.[key]),
    operatorCa: () =>
      harness(`${DEMO}-ca`, async () => [
        await t.secretText(`${DEMO}-ca`, 'tls.crt'),
        await t.secretText(`${DEMO}-ca`, 'next.crt'),
      ]),
    userCa: (knownCas) => harness(`${DEMO}-ca-record`, knownCas),
    putUserCa: async (ca, verb) => {
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: USER_CA_SECRET, namespace: api.ns },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(ca.certPem).toString('base64'),
          'tls.key': Buffer.from(ca.keyPem).toString('base64'),
        },
      };
      if (verb === 'create') await api.client.create(RESOURCES.secret, body);
      else
        await api.transport.request('PUT', objectPath(RESOURCES.secret, api.ns, USER_CA_SECRET), {
          body,
          contentType: 'application/json',
        });
    },
    renewCa: async (value) => {
      await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, DEMO), {
        metadata: { annotations: { [ANNOTATIONS.renewCa]: value } },
      });
    },
    setCaSecretName: async (name) => {
      await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, DEMO), { spec: { tls: { caSecretName: name } } });
    },
  };
  return t;
}
