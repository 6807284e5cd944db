/**
 * Deleting a CommitLogCluster garbage-collects every child the operator created: the
 * controller-manager's garbage collector follows the owner references (issue: real
 * control plane, item 3). Runs against the real kube-apiserver + controller-manager.
 */
import assert from 'node:assert/strict';
import { silentLogger } from './kube/logger.js';
import { RESOURCES } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { Reconciler } from './reconcile/reconciler.js';
import { useApiServer } from './testing/api-server.js';

/** Children of cluster `demo` that must exist after a reconcile and vanish after its deletion. */
const CHILDREN = [
  [RESOURCES.statefulSet, 'demo'],
  [RESOURCES.service, 'demo-headless'],
  [RESOURCES.service, 'demo-0-external'],
  [RESOURCES.configMap, 'demo-config'],
  [RESOURCES.secret, 'demo-user-root'],
  [RESOURCES.pdb, 'demo'],
] as const;

describe('garbage collection on a real control plane', function () {
  // The collector normally acts within a second; in the worst case (a control plane
  // started without the CRD) it learns the new type at its 30 s discovery resync.
  this.timeout(120_000);
  const api = useApiServer();

  it('deleting a CommitLogCluster deletes every child it owns', async () => {
    await api.createCluster('demo', { replicas: 3 });
    const r = new Reconciler({ client: api.client, log: silentLogger, events: { record: () => Promise.resolve() } });
    for (let i = 0; i < 3; i++) await r.reconcile(api.ns, 'demo');
    for (const [res, name] of CHILDREN)
      assert.ok(await api.client.get(res, api.ns, name), `${res.kind} ${name} exists before the delete`);

    await api.client.delete(RESOURCES.cluster, api.ns, 'demo');
    const remaining = async (): Promise<string[]> => {
      const left: string[] = [];
      for (const [res, name] of CHILDREN) if (await api.client.get(res, api.ns, name)) left.push(`${res.kind}/${name}`);
      return left;
    };
    await until(
      async () => (await remaining()).length === 0,
      'the garbage collector to delete every child',
      60_000,
      250,
    ).catch(async (e: unknown) => {
      throw new Error(`${String(e)}; still present: ${(await remaining()).join(', ')}`);
    });
  });
});
