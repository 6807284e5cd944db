/**
 * The shipped RBAC works with the OwnerReferencesPermissionEnforcement admission plugin (on
 * by default in OpenShift; issue 14, item 3): every child carries an owner reference with
 * `blockOwnerDeletion: true`, which the plugin admits only from a user who may update the
 * owner's `finalizers` subresource. Runs on its own control plane (no controller-manager:
 * nothing here needs one) with the plugin enabled.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CLUSTER_RULES } from '../cdk8s/rbac.js';
import { repoRoot } from '../../test/controlplane/config.js';
import { startControlPlane, type ControlPlane } from '../../test/controlplane/control-plane.js';
import { createNamespace, controlPlaneStartTimeoutMs } from '../../test/support/control-plane.js';
import type { CommitLogCluster } from './api/types.js';
import { HttpKubeClient } from './kube/client.js';
import { KubeConfigTransport } from './kube/http.js';
import { silentLogger } from './kube/logger.js';
import { RESOURCES, type Resource } from './kube/resources.js';
import { until } from './kube/testing/wait.js';
import { Reconciler } from './reconcile/reconciler.js';

const rbacResource = (kind: string, plural: string, namespaced: boolean): Resource => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind,
  plural,
  namespaced,
});

describe('the shipped RBAC under the OwnerReferencesPermissionEnforcement admission plugin', function () {
  this.timeout(controlPlaneStartTimeoutMs);
  let cp: ControlPlane | undefined;

  before(async () => {
    cp = await startControlPlane({
      controllerManager: false,
      crdDir: join(repoRoot, 'crds'),
      startTimeoutMs: controlPlaneStartTimeoutMs - 10_000,
      apiServerFlags: ['--enable-admission-plugins=OwnerReferencesPermissionEnforcement'],
    });
  });
  after(async () => {
    await cp?.stop();
  });

  it('creates every child of a cluster with blockOwnerDeletion owner references, using only the shipped rules', async () => {
    assert.ok(cp);
    const ns = await createNamespace(cp, 'owner-refs');
    const admin = new HttpKubeClient(new KubeConfigTransport(cp.kubeConfig));
    const user = 'commitlog-operator-owner-refs';
    await admin.create(rbacResource('ClusterRole', 'clusterroles', false), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'commitlog-operator' },
      rules: CLUSTER_RULES,
    });
    await admin.create(rbacResource('RoleBinding', 'rolebindings', true), {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'operator', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'commitlog-operator' },
      subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
    });
    await admin.create(RESOURCES.cluster, {
      apiVersion: 'commitlog.dev/v1alpha1',
      kind: 'CommitLogCluster',
      metadata: { name: 'demo', namespace: ns },
      spec: { replicas: 3 },
    } satisfies CommitLogCluster);
    const limited = new HttpKubeClient(
      new KubeConfigTransport((await cp.kubeConfigFor({ user, groups: [] })).kubeConfig),
    );
    await until(
      async () => {
        try {
          await limited.list(RESOURCES.cluster, ns);
          return true;
        } catch {
          return false;
        }
      },
      'RBAC in effect',
      10_000,
      100,
    );
    const r = new Reconciler({ client: limited, log: silentLogger, events: { record: () => Promise.resolve() } });
    await r.reconcile(ns, 'demo'); // records the cluster id
    await r.reconcile(ns, 'demo'); // creates the children: each write carries blockOwnerDeletion
    for (const [res, name] of [
      [RESOURCES.secret, 'demo-server-tls'],
      [RESOURCES.configMap, 'demo-config'],
      [RESOURCES.service, 'demo-headless'],
      [RESOURCES.statefulSet, 'demo'],
      [RESOURCES.pdb, 'demo'],
    ] as const) {
      const o = await admin.get<{ metadata?: { ownerReferences?: { uid?: string; blockOwnerDeletion?: boolean }[] } }>(
        res,
        ns,
        name,
      );
      assert.equal(
        o?.metadata?.ownerReferences?.[0]?.blockOwnerDeletion,
        true,
        `${res.kind} ${name} exists with blockOwnerDeletion`,
      );
    }
  });
});
