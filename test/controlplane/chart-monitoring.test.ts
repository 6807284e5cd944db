/**
 * The chart's monitoring objects (values `monitoring.podMonitors`, `monitoring.dashboard`):
 * rendered only when asked, and accepted by the real API server once the Prometheus
 * operator's own CRDs (PodMonitor, ServiceMonitor; fetched from its Go module by
 * test/tools/build.sh) are installed — server-side apply checks every field name against
 * those CRDs' schemas, so a misspelt PodMonitor field is refused here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { controlPlaneStartTimeoutMs, useControlPlane, useNamespace } from '../support/control-plane.js';
import { repoRoot } from './config.js';
import { installCrds, readCrds, refusedObjects } from './crds.js';
import { helmTemplate } from './helm.js';

const chart = join(repoRoot, 'charts', 'commitlog-operator');
/** The bound of the CRDs' fetch and build when the cache lacks them (a Go module download). */
const CRDS_BUILD_TIMEOUT_MS = 20 * 60_000;
const enabled = ['monitoring.podMonitors.enabled=true', 'monitoring.dashboard.enabled=true'];
type Obj = KubernetesObject & { spec?: Record<string, unknown>; data?: Record<string, string> };

describe("the Helm chart's monitoring objects (PodMonitors, Grafana dashboard ConfigMap)", function () {
  this.timeout(60_000);

  it('renders none of them with the default values', async () => {
    const objects = await helmTemplate(chart, { namespace: 'commitlog-system' });
    assert.deepEqual(
      objects.filter((o) => o.kind === 'PodMonitor' || o.kind === 'ConfigMap').map((o) => o.metadata?.name),
      [],
    );
  });

  it('renders PodMonitors for the operator and for the nodes, and the dashboard of docs/ labelled for Grafana', async () => {
    const objects = (await helmTemplate(chart, {
      releaseName: 'commitlog-operator',
      namespace: 'commitlog-system',
      set: [...enabled, 'monitoring.podMonitors.labels.release=kube-prometheus'],
    })) as Obj[];
    const monitors = JSON.parse(JSON.stringify(objects.filter((o) => o.kind === 'PodMonitor'))) as Obj[];
    assert.deepEqual(
      monitors.map((m) => [m.metadata?.name, m.metadata?.labels?.['release'], m.spec?.['selector']]),
      [
        ['commitlog-operator', 'kube-prometheus', { matchLabels: { 'app.kubernetes.io/name': 'commitlog-operator' } }],
        [
          'commitlog-operator-nodes',
          'kube-prometheus',
          { matchLabels: { 'app.kubernetes.io/name': 'commitlog', 'app.kubernetes.io/component': 'node' } },
        ],
      ],
    );
    assert.deepEqual(monitors[1]?.spec?.['namespaceSelector'], { any: true });
    const cm = objects.find((o) => o.kind === 'ConfigMap');
    assert.equal(cm?.metadata?.labels?.['grafana_dashboard'], '1');
    assert.deepEqual(
      JSON.parse(cm?.data?.['commitlog.json'] ?? '{}'),
      JSON.parse(readFileSync(join(repoRoot, 'docs', 'grafana-dashboard.json'), 'utf8')),
    );
  });

  it('limits the nodes’ PodMonitor to the watched namespaces when some are listed', async () => {
    const objects = (await helmTemplate(chart, {
      namespace: 'ops',
      set: [...enabled, 'watchNamespaces={team-a,team-b}'],
    })) as Obj[];
    const nodes = objects.find((o) => o.kind === 'PodMonitor' && o.metadata?.name?.endsWith('-nodes'));
    assert.deepEqual(JSON.parse(JSON.stringify(nodes?.spec?.['namespaceSelector'])), {
      matchNames: ['team-a', 'team-b'],
    });
  });

  describe("on the real API server with the Prometheus operator's CRDs", () => {
    let crdDir = '';
    before(async function () {
      // The CRDs come from the Prometheus operator's Go module: an install step `.ci/run` takes
      // before `npm test`, done here when missing (a fresh `npm test`). A cold fetch and build
      // on a busy machine took more than 4 min (2026-12-04, load 27), so it has a bound of its
      // own, apart from the control plane's start.
      this.timeout(CRDS_BUILD_TIMEOUT_MS + controlPlaneStartTimeoutMs + 120_000);
      const build = spawnSync('bash', [join(repoRoot, 'test/tools/build.sh'), 'prometheus-operator-crds'], {
        encoding: 'utf8',
        timeout: CRDS_BUILD_TIMEOUT_MS,
      });
      assert.equal(
        build.status,
        0,
        build.error
          ? `test/tools/build.sh prometheus-operator-crds did not finish within ${CRDS_BUILD_TIMEOUT_MS / 60_000} min (${build.error.message})`
          : `test/tools/build.sh prometheus-operator-crds failed:\n${build.stderr}`,
      );
      crdDir = join(
        spawnSync('bash', [join(repoRoot, 'test/tools/build.sh'), '--print-dir'], { encoding: 'utf8' }).stdout.trim(),
        'prometheus-operator-crds',
      );
      const cp = await useControlPlane({ crds: false });
      await installCrds(cp.kubeConfig, readCrds(crdDir));
    });
    const ns = useNamespace({ crds: false });

    it('accepts every rendered monitoring object (server-side apply, dry run)', async () => {
      const cp = await useControlPlane({ crds: false });
      const objects = (await helmTemplate(chart, { namespace: ns.name, set: enabled })).filter((o) =>
        ['PodMonitor', 'ConfigMap'].includes(o.kind ?? ''),
      );
      assert.equal(objects.length, 3);
      assert.deepEqual(await refusedObjects(cp.kubeConfig, objects), []);
    });

    it('refuses a PodMonitor with a misspelt field (the check above can fail)', async () => {
      const cp = await useControlPlane({ crds: false });
      const bad = {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name: 'bad', namespace: ns.name },
        spec: { selector: {}, podMetricEndpoints: [{ port: 'http' }] },
      };
      const refused = await refusedObjects(cp.kubeConfig, [bad]);
      assert.equal(refused.length, 1, 'the API server accepted an unknown field');
      assert.match(refused[0] ?? '', /podMetricEndpoints/);
    });
  });
});
