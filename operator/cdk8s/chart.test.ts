import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { helmTemplate } from '../../test/controlplane/helm.js';

const root = resolve(import.meta.dirname, '../..');
const chartDir = resolve(root, 'charts/commitlog-operator');

type Obj = KubernetesObject & { spec?: unknown; rules?: unknown; subjects?: unknown; roleRef?: unknown };
// helm output is parsed into client-node model classes; compare plain JSON.
const byKind = (objs: readonly Obj[], kind: string): Obj[] =>
  objs.filter((o) => o.kind === kind).map((o) => JSON.parse(JSON.stringify(o)) as Obj);

describe('Helm chart and dist/install.yaml', function () {
  this.timeout(60_000);
  const install = parseAllDocuments(readFileSync(resolve(root, 'dist/install.yaml'), 'utf8')).map(
    (d) => d.toJS() as Obj,
  );

  it('render the same operator Deployment, RBAC rules and bindings with the default values', async () => {
    const chart = (await helmTemplate(chartDir, {
      releaseName: 'commitlog-operator',
      namespace: 'commitlog-system',
      includeCrds: true,
    })) as Obj[];
    assert.deepEqual(byKind(chart, 'Deployment')[0]?.spec, byKind(install, 'Deployment')[0]?.spec);
    for (const kind of ['ClusterRole', 'Role']) {
      assert.deepEqual(byKind(chart, kind)[0]?.rules, byKind(install, kind)[0]?.rules, `${kind} rules`);
    }
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const c = byKind(chart, kind)[0];
      const i = byKind(install, kind)[0];
      assert.deepEqual(
        [c?.roleRef, c?.subjects],
        [i?.roleRef, i?.subjects],
        `${kind} binds the same role to the same account`,
      );
    }
    // The chart's crds/ is byte-identical to crds/ (synth freshness test); the parsed form is
    // not compared here because client-node's model classes drop CEL rules from CRDs.
    assert.equal(byKind(chart, 'CustomResourceDefinition').length, 1);
  });

  it('binds the ClusterRole only in the watched namespaces when some are listed', async () => {
    const chart = (await helmTemplate(chartDir, {
      releaseName: 'commitlog-operator',
      namespace: 'ops',
      set: ['watchNamespaces={team-a,team-b}'],
    })) as Obj[];
    assert.equal(byKind(chart, 'ClusterRoleBinding').length, 0);
    const bindings = byKind(chart, 'RoleBinding').filter((b) => (b.roleRef as { kind: string }).kind === 'ClusterRole');
    assert.deepEqual(
      bindings.map((b) => b.metadata?.namespace),
      ['team-a', 'team-b'],
    );
    const env = (
      byKind(chart, 'Deployment')[0]?.spec as {
        template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
      }
    ).template.spec.containers[0]?.env;
    assert.equal(env?.find((e) => e.name === 'WATCH_NAMESPACES')?.value, 'team-a,team-b');
  });
});
