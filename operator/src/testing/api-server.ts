/**
 * The setup every test of the operator against the real API server shares (test/controlplane):
 * the run's control plane, a client and a raw transport on it, a fresh namespace per test,
 * and the few reads of a CommitLogCluster those tests make. Call {@link useApiServer} inside
 * `describe`, as `useNamespace`: it registers the hooks.
 *
 * @example
 *   describe('my operator behaviour (real API server)', function () {
 *     this.timeout(120_000);
 *     const api = useApiServer();              // or useApiServer({ user: 'commitlog-operator-x' })
 *     it('does things', async () => {
 *       await api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
 *       await new Reconciler({ client: api.client, … }).reconcile(api.ns, 'demo');
 *       assert.equal((await api.condition('demo', 'Ready'))?.status, 'True');
 *     });
 *   });
 */
import assert from 'node:assert/strict';
import { useControlPlane, useNamespace, type ControlPlane } from '../../../test/support/control-plane.js';
import type { CommitLogCluster, CommitLogClusterSpec, Condition } from '../api/types.js';
import { HttpKubeClient, type KubeObj } from '../kube/client.js';
import { KubeConfigTransport } from '../kube/http.js';
import { objectPath, RESOURCES } from '../kube/resources.js';

/** Options of {@link useApiServer}. */
export interface UseApiServerOptions {
  /**
   * Act as this user, in group `system:masters` (so the audit log can tell the operator's
   * requests from the test's). Default: the control plane's admin.
   */
  readonly user?: string;
}

/** A Kubernetes Event as the tests read it. */
export interface EventObj extends KubeObj {
  readonly type?: string;
  readonly reason?: string;
  readonly action?: string;
  readonly note?: string;
}

/** What {@link useApiServer} gives a test; every field is valid inside a test (`it`, hooks after `before`). */
export interface ApiServerTest {
  /** The run's shared control plane. */
  readonly cp: ControlPlane;
  /** Raw requests (PATCH of status subresources, dry runs). */
  readonly transport: KubeConfigTransport;
  readonly client: HttpKubeClient;
  /** The current test's fresh namespace (created before it, deleted after it). */
  readonly ns: string;
  /** A CommitLogCluster named `name` with `spec`, in the current namespace. */
  manifest(name: string, spec: CommitLogClusterSpec): CommitLogCluster;
  /** Creates that CommitLogCluster. */
  createCluster(name: string, spec: CommitLogClusterSpec): Promise<CommitLogCluster>;
  /** The CommitLogCluster `name` as stored; fails the test when it does not exist. */
  cluster(name: string): Promise<CommitLogCluster>;
  /** Condition `type` of cluster `name`'s status, if set. */
  condition(name: string, type: string): Promise<Condition | undefined>;
  /** The events of the current namespace for which `keep` holds (default all). */
  events(keep?: (e: EventObj) => boolean): Promise<EventObj[]>;
  /** A JSON merge patch of the object at `path` (a path of `objectPath`, plus `/status` for the subresource). */
  mergePatch(path: string, body: unknown): Promise<unknown>;
  /** Sets pod `name`'s status to Running with Ready `ready`, as a kubelet would (no kubelet runs here). */
  setPodReady(name: string, ready?: boolean): Promise<unknown>;
}

/**
 * Lease timings short enough for a test to see leadership move in seconds (2 s lease, 1.5 s
 * renew deadline, 200 ms retry), for the Operator's `leaderElection` or a LeaderElector.
 */
export const fastLease = (
  namespace: string,
  name = 'commitlog-operator-leader',
): { namespace: string; name: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number } => ({
  namespace,
  name,
  leaseDurationMs: 2000,
  renewDeadlineMs: 1500,
  retryPeriodMs: 200,
});

/**
 * Call inside `describe`: a `before` hook connects to the run's control plane (started on
 * first use, see test/support/control-plane.ts) and each test gets a fresh namespace.
 */
export function useApiServer(opts: UseApiServerOptions = {}): ApiServerTest {
  let cp: ControlPlane | undefined;
  let transport: KubeConfigTransport | undefined;
  let client: HttpKubeClient | undefined;
  const namespace = useNamespace();
  before(async () => {
    cp = await useControlPlane();
    const kubeConfig =
      opts.user === undefined
        ? cp.kubeConfig
        : (await cp.kubeConfigFor({ user: opts.user, groups: ['system:masters'] })).kubeConfig;
    transport = new KubeConfigTransport(kubeConfig);
    client = new HttpKubeClient(transport);
  });
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useApiServer(): not connected yet (use it inside a test)');
    return v;
  };
  const t: ApiServerTest = {
    get cp() {
      return ready(cp);
    },
    get transport() {
      return ready(transport);
    },
    get client() {
      return ready(client);
    },
    get ns() {
      return namespace.name;
    },
    manifest: (name, spec) => ({
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name, namespace: t.ns },
      spec,
    }),
    createCluster: (name, spec) => t.client.create(RESOURCES.cluster, t.manifest(name, spec)),
    cluster: async (name) => {
      const c = await t.client.get<CommitLogCluster>(RESOURCES.cluster, t.ns, name);
      assert.ok(c, `cluster ${name} exists`);
      return c;
    },
    condition: async (name, type) => (await t.cluster(name)).status?.conditions?.find((c) => c.type === type),
    events: async (keep = () => true) => (await t.client.list<EventObj>(RESOURCES.event, t.ns)).items.filter(keep),
    mergePatch: (path, body) =>
      t.transport.request('PATCH', path, { body, contentType: 'application/merge-patch+json' }),
    setPodReady: (name, isReady = true) =>
      t.mergePatch(`${objectPath(RESOURCES.pod, t.ns, name)}/status`, {
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] },
      }),
  };
  return t;
}
