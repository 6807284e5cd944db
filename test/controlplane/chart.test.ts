/**
 * The operator's Helm chart (charts/commitlog-operator), checked with the real helm binary
 * and the real API server: it lints, it renders, and everything it renders is accepted by
 * kube-apiserver v1.36 (server-side apply, dry run: validated and admitted, not persisted).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { controlPlaneStartTimeoutMs, useControlPlane, useNamespace } from '../support/control-plane.js';
import { repoRoot } from './config.js';
import { refusedObjects } from './crds.js';
import { helmTemplate, runHelm } from './helm.js';

const chart = join(repoRoot, 'charts', 'commitlog-operator');
const kinds = (objects: readonly KubernetesObject[]): string[] => [...new Set(objects.map((o) => o.kind ?? ''))].sort();

describe('Helm chart charts/commitlog-operator', function () {
  this.timeout(60_000);

  it('passes `helm lint`', async () => {
    const r = await runHelm(['lint', chart]);
    assert.equal(r.code, 0, `helm lint failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the operator: its CRD, identity, RBAC and Deployment', async () => {
    const objects = await helmTemplate(chart, { namespace: 'commitlog-system', includeCrds: true });
    const got = kinds(objects);
    for (const k of ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Deployment', 'ServiceAccount']) {
      assert.ok(got.includes(k), `helm template renders a ${k} (got ${got.join(', ')})`);
    }
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'ServiceAccount')) {
      assert.equal(
        o.metadata?.namespace ?? 'commitlog-system',
        'commitlog-system',
        `${o.kind} ${o.metadata?.name} lands in the release namespace`,
      );
    }
  });

  describe('on the real API server', () => {
    before(async function () {
      this.timeout(controlPlaneStartTimeoutMs);
      // Without crds/: the chart carries its own copy of the CRD, and this test must judge that copy.
      await useControlPlane({ crds: false });
    });
    const ns = useNamespace({ crds: false });

    it('applies every rendered object cleanly (server-side apply, dry run)', async () => {
      const cp = await useControlPlane({ crds: false });
      const objects = await helmTemplate(chart, { namespace: ns.name, includeCrds: true });
      assert.ok(objects.length > 0);
      assert.deepEqual(await refusedObjects(cp.kubeConfig, objects), []);
    });
  });
});
