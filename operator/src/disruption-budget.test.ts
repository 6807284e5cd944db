/**
 * The PodDisruptionBudget on a real API server and its disruption controller (issue 14, item
 * 5: "PDB correct for 1, 2 and 3+ members"): a voluntary disruption (drain, eviction) may take
 * a member down only when the others still form a quorum. The budget counts the members the
 * StatefulSet runs, not `spec.replicas`: a cluster growing from 1 to 3 has 2 voters once its
 * second member is Ready, and either one down loses quorum, until the third member is Ready
 * too (the operator may be away meanwhile: paused, or its own pod drained).
 *
 * No kubelet: the StatefulSet controller creates the pods and the test marks them Ready; the
 * Raft configuration is the scripted Admin service's.
 */
import assert from 'node:assert/strict';
import type { KubeObj } from './kube/client.js';
import { silentLogger } from './kube/logger.js';
import { objectPath, RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { FakeNodeAdmin, fakeVoter } from './reconcile/testing/fake-admin.js';
import { Reconciler } from './reconcile/reconciler.js';
import { useApiServer } from './testing/api-server.js';

interface Pdb extends KubeObj {
  readonly spec?: { readonly maxUnavailable?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly expectedPods?: number;
    readonly currentHealthy?: number;
    readonly disruptionsAllowed?: number;
  };
}
interface Sts extends KubeObj {
  readonly spec?: { readonly replicas?: number };
}

describe('the PodDisruptionBudget keeps a quorum of the members the StatefulSet runs (real API server)', function () {
  this.timeout(120_000);
  const api = useApiServer();

  const stsReplicas = async (): Promise<number | undefined> =>
    (await api.client.get<Sts>(RESOURCES.statefulSet, api.ns, 'demo'))?.spec?.replicas;
  /**
   * The budget once the disruption controller has counted `pods` pods, all of them Ready, under
   * its current spec. `expectedPods` alone is not that state: with `maxUnavailable` it is the
   * StatefulSet's scale, reached before the last pod exists, and the controller's pod cache may
   * not have the last Ready yet when it writes the new generation's status (a stress run saw
   * `disruptionsAllowed: 0` with 3 expected and the third pod Ready a moment later).
   */
  const budget = async (pods: number): Promise<{ maxUnavailable?: number; disruptionsAllowed?: number }> => {
    let pdb: Pdb | undefined;
    await until(
      async () => {
        pdb = await api.client.get<Pdb>(RESOURCES.pdb, api.ns, 'demo');
        return (
          pdb?.status?.observedGeneration === pdb?.metadata?.generation &&
          pdb?.status?.expectedPods === pods &&
          pdb.status.currentHealthy === pods
        );
      },
      `the disruption controller to count ${pods} Ready pods under the PodDisruptionBudget's current spec`,
      30_000,
      200,
    );
    return {
      ...(pdb?.spec?.maxUnavailable !== undefined ? { maxUnavailable: pdb.spec.maxUnavailable } : {}),
      ...(pdb?.status?.disruptionsAllowed !== undefined ? { disruptionsAllowed: pdb.status.disruptionsAllowed } : {}),
    };
  };
  /** Waits for pod `name` of the StatefulSet controller, then marks it Ready (a caught-up voter). */
  const podReady = async (name: string): Promise<void> => {
    await until(
      async () => (await api.client.get(RESOURCES.pod, api.ns, name)) !== undefined,
      `the StatefulSet controller to create ${name}`,
      30_000,
      200,
    );
    await api.setPodReady(name);
  };

  it('a cluster growing from 1 to 3 allows no disruption while it runs 2 members, one once it runs 3', async () => {
    // GIVEN a formed cluster of 1 at rest
    await api.createCluster('demo', { replicas: 1, external: { type: 'None' } });
    const admin = FakeNodeAdmin.formed(['demo-0']);
    const r = new Reconciler({
      client: api.client,
      log: silentLogger,
      events: { record: () => Promise.resolve() },
      admin: admin.factory(),
    });
    await r.reconcile(api.ns, 'demo'); // records the cluster id
    await r.reconcile(api.ns, 'demo'); // creates the children
    await podReady('demo-0');
    await r.reconcile(api.ns, 'demo');
    assert.deepEqual(await budget(1), { maxUnavailable: 0, disruptionsAllowed: 0 }, '1 member: none may go');

    // WHEN it is scaled to 3 and its second member joins and is Ready, before the operator's next pass
    await api.mergePatch(objectPath(RESOURCES.cluster, api.ns, 'demo'), { spec: { replicas: 3 } });
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 2, 'one member at a time');
    admin.members_ = [...admin.members_, fakeVoter('demo-1')];
    admin.reachable.add('demo-1');
    await podReady('demo-1');

    // THEN no disruption is allowed: with 2 voters, either one down loses quorum
    assert.deepEqual(await budget(2), { maxUnavailable: 0, disruptionsAllowed: 0 }, '2 members: none may go');

    // WHEN the operator adds the third member, which joins and is Ready
    await r.reconcile(api.ns, 'demo');
    assert.equal(await stsReplicas(), 3);
    admin.members_ = [...admin.members_, fakeVoter('demo-2')];
    admin.reachable.add('demo-2');
    await podReady('demo-2');
    await r.reconcile(api.ns, 'demo');

    // THEN one member may go at a time
    assert.deepEqual(await budget(3), { maxUnavailable: 1, disruptionsAllowed: 1 }, '3 members: one may go');
  });
});
