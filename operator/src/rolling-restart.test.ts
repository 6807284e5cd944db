/**
 * A manual rolling restart on a real API server (issue 14, item 8): annotation
 * `commitlog.dev/restart` on the CommitLogCluster restarts every pod once per new value, as
 * `kubectl rollout restart` does for a Deployment, through the operator's own rolling update
 * (one pod at a time while every member is Ready, followers first, the Raft leader last after
 * a leadership transfer). The value acted on stays in the pod template, so the annotation may
 * stay, and removing it restarts nothing.
 *
 * No kubelet: the StatefulSet controller (controller-manager) recreates each pod the rolling
 * update deletes, on the StatefulSet's new revision, and the test marks pods Ready through the
 * status subresource as a kubelet would.
 */
import assert from 'node:assert/strict';
import { ANNOTATIONS } from './api/types.js';
import type { KubeObj } from './kube/client.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { RESTART_ANNOTATION } from './model/stateful-set.js';
import { FakeNodeAdmin, fakeVoter } from './reconcile/testing/fake-admin.js';
import { Reconciler } from './reconcile/reconciler.js';
import { useApiServer } from './testing/api-server.js';

interface Sts extends KubeObj {
  readonly spec?: {
    readonly replicas?: number;
    readonly template?: { readonly metadata?: { readonly annotations?: Record<string, string> } };
  };
  readonly status?: { readonly updateRevision?: string; readonly observedGeneration?: number };
}
interface Pod extends KubeObj {
  readonly status?: { readonly conditions?: readonly { type: string; status: string }[] };
}

const PODS = ['demo-0', 'demo-1', 'demo-2'];

describe('a manual rolling restart (commitlog.dev/restart) on a real API server', function () {
  this.timeout(180_000);
  const api = useApiServer();

  const sts = async (): Promise<Sts | undefined> => api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo');
  const pods = async (): Promise<Pod[]> =>
    (await api.client.list<Pod>(RESOURCES.pod, api.ns)).items.filter((p) => !p.metadata?.deletionTimestamp);
  /** The kubelet's part: waits (bounded) until the StatefulSet controller runs every pod, then marks them Ready. */
  const kubelet = async (): Promise<void> => {
    await until(
      async () => (await pods()).length === PODS.length,
      'the StatefulSet controller to run 3 pods',
      30_000,
      100,
    );
    for (const p of await pods())
      if (!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        await api.setPodReady(p.metadata?.name ?? '');
  };
  /** Every pod exists on the StatefulSet's update revision, seen by its controller, and is Ready. */
  const rolled = async (): Promise<boolean> => {
    const s = await sts();
    const rev = s?.status?.updateRevision;
    const all = await pods();
    return (
      s?.status?.observedGeneration === s?.metadata?.generation &&
      all.length === PODS.length &&
      all.every(
        (p) =>
          p.metadata?.labels?.['controller-revision-hash'] === rev &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      )
    );
  };
  const annotate = (value: string | null): Promise<unknown> =>
    api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), {
      metadata: { annotations: { [ANNOTATIONS.restart]: value } },
    });

  it('each new value restarts every pod once, one per pass, the leader last; removing the annotation restarts nothing', async () => {
    // GIVEN a formed cluster of 3 at rest, demo-1 leading
    await api.createCluster('demo', { replicas: 3, external: { type: 'None' } });
    const admin = new FakeNodeAdmin([fakeVoter('demo-0'), fakeVoter('demo-1', true), fakeVoter('demo-2')]);
    admin.reachable = new Set(PODS);
    const restarted: string[] = [];
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: {
        record: (_o, _type, reason, _action, note) => {
          if (reason === 'RollingUpdate') restarted.push(/restarted (\S+)/.exec(note)?.[1] ?? note);
          return Promise.resolve();
        },
      },
      admin: admin.factory(),
    });
    /** Passes (each followed by the kubelet) until every pod rolled onto the template; the restarts of each pass. */
    const passesUntilRolled = async (): Promise<string[][]> => {
      const perPass: string[][] = [];
      const start = restarted.length;
      for (let i = 0; i < 20; i++) {
        const from = restarted.length;
        await r.reconcile(api.ns, 'demo');
        perPass.push(restarted.slice(from));
        await kubelet();
        if (await rolled()) {
          await r.reconcile(api.ns, 'demo'); // the pass that sees them rolled restarts nothing more
          assert.equal(restarted.length - start, perPass.flat().length, 'no restart once every pod rolled');
          return perPass;
        }
      }
      return assert.fail(`the pods did not roll within 20 passes; restarted: ${restarted.join(' ')}`);
    };
    await r.reconcile(api.ns, 'demo'); // records the cluster id
    await r.reconcile(api.ns, 'demo'); // creates the children
    await passesUntilRolled();
    assert.deepEqual(restarted, [], 'a new cluster restarts nothing');
    const before = (await sts())?.status?.updateRevision;

    // WHEN the restart annotation is set
    await annotate('2026-12-03T11:00:00Z');
    const perPass = await passesUntilRolled();

    // THEN the pod template carries its value: a new revision, every pod restarted onto it
    const after = await sts();
    assert.equal(after?.spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION], '2026-12-03T11:00:00Z');
    assert.notEqual(after?.status?.updateRevision, before, 'a new pod template revision');
    // AND one pod per pass, followers first (highest ordinal first), the leader last after a transfer
    assert.deepEqual(restarted, ['demo-2', 'demo-0', 'demo-1']);
    assert.ok(
      perPass.every((p) => p.length <= 1),
      `at most one restart per pass: ${JSON.stringify(perPass)}`,
    );
    assert.deepEqual(admin.calls, ['transfer demo-1 -> demo-0']);

    // WHEN the annotation stays, or is removed
    const revision = after?.status?.updateRevision;
    for (const value of ['2026-12-03T11:00:00Z', null]) {
      if (value === null) await annotate(null);
      for (let i = 0; i < 3; i++) {
        await r.reconcile(api.ns, 'demo');
        await kubelet();
      }
    }
    // THEN nothing restarts: the template keeps the value acted on
    assert.deepEqual(restarted, ['demo-2', 'demo-0', 'demo-1'], 'no restart while the value is unchanged or removed');
    assert.equal((await sts())?.status?.updateRevision, revision, 'the same pod template revision');
    assert.equal((await sts())?.spec?.template?.metadata?.annotations?.[RESTART_ANNOTATION], '2026-12-03T11:00:00Z');

    // WHEN a new value is set
    await annotate('2');
    await passesUntilRolled();
    // THEN every pod restarts once more, the leader (now demo-0) last
    assert.deepEqual(restarted.slice(3), ['demo-2', 'demo-1', 'demo-0']);
  });
});
