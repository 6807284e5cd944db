import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { CommitLogCluster } from '../api/types.js';
import { allObjects, desiredObjects } from './index.js';
import { Bootstrap, type ModelInputs } from './inputs.js';
import { loadExample } from './test-support.js';
import { validateCluster } from './validate.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Deterministic stand-ins for certificates: the model only copies them. */
function fakeInputs(c: CommitLogCluster, replicas: number, users: readonly string[]): ModelInputs {
  const pair = (who: string) => ({ certPem: `CERT(${who})\n`, keyPem: `KEY(${who})\n` });
  const pods = Array.from({ length: replicas }, (_, i) => `${c.metadata.name}-${i}`);
  return {
    clusterId: 'cluster-id-1',
    bootstrap: Bootstrap.allowed,
    statefulSetReplicas: replicas,
    certificates: {
      caCertPem: 'CERT(ca)\n',
      generatedCa: pair('ca'),
      servers: Object.fromEntries(pods.map((p) => [p, pair(p)])),
      users: Object.fromEntries(users.map((u) => [u, pair(u)])),
      operator: pair('commitlog-operator'),
    },
    gossipKey: 'R09TU0lQLUtFWS0zMi1CWVRFUy0wMTIzNDU2Nzg5YWI=',
    externalAddresses: { [`${c.metadata.name}-0`]: '203.0.113.10:8400' },
  };
}

function golden(example: string, goldenFile: string): void {
  const c = loadExample(example);
  const v = validateCluster(c);
  assert.ok(v.ok, v.ok ? '' : v.errors.join('; '));
  const objs = allObjects(desiredObjects(c, v.spec, fakeInputs(c, v.spec.replicas, v.spec.acl.users.map((u) => u.name))));
  const text = objs.map((o) => '---\n' + stringify(o, { lineWidth: 0 })).join('');
  const path = resolve(import.meta.dirname, 'testdata', goldenFile);
  if (UPDATE) writeFileSync(path, text);
  assert.equal(text, readFileSync(path, 'utf8'), `model output changed: if intended, run UPDATE_GOLDEN=1 npx mocha '${import.meta.filename}'`);
}

describe('model golden files', () => {
  it('examples/minimal.yaml → testdata/minimal.golden.yaml', () => golden('minimal.yaml', 'minimal.golden.yaml'));
  it('examples/full.yaml → testdata/full.golden.yaml', () => golden('full.yaml', 'full.golden.yaml'));
});
