/**
 * The plain-manifest install path (`kubectl apply -f dist/install.yaml`, synthesized by the
 * operator's cdk8s app) judged by the real API server: every object is accepted
 * (server-side apply, dry run: validated and admitted, not persisted).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlPlaneStartTimeoutMs, useControlPlane, type ControlPlane } from '../support/control-plane.js';
import { repoRoot } from './config.js';
import { parseManifests, refusedObjects } from './crds.js';

describe('install manifest dist/install.yaml', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  before(async function () {
    this.timeout(controlPlaneStartTimeoutMs);
    // Without crds/: the manifest carries its own copy of the CRD, and this test must judge that copy.
    cp = await useControlPlane({ crds: false });
  });

  it('is accepted object by object by the real API server (server-side apply, dry run)', async () => {
    const objects = parseManifests(readFileSync(join(repoRoot, 'dist', 'install.yaml'), 'utf8'), 'dist/install.yaml');
    assert.ok(
      objects.some((o) => o.kind === 'Deployment'),
      'the manifest installs the operator Deployment',
    );
    assert.deepEqual(await refusedObjects(cp.kubeConfig, objects), []);
  });
});
