import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { synthesize } from './synth.js';
import { RULES } from '../src/api/schema.js';

const root = resolve(import.meta.dirname, '../..');

describe('npm run synth output', () => {
  const files = synthesize();

  for (const [path, text] of files) {
    it(`${path} is committed and fresh (run \`npm run synth\` if this fails)`, () => {
      let onDisk: string;
      try {
        onDisk = readFileSync(resolve(root, path), 'utf8');
      } catch {
        assert.fail(`${path} is missing: run \`npm run synth\``);
      }
      assert.ok(onDisk === text, `${path} is stale: run \`npm run synth\` and commit the result`);
    });
  }

  it('is deterministic: two syntheses produce identical bytes', () => {
    assert.deepEqual([...synthesize()], [...files]);
  });

  it('the CRD has the names, subresources and printer columns of the API', () => {
    const crd = parseAllDocuments(files.get('crds/commitlog.dev_commitlogclusters.yaml') ?? '')[0]?.toJS() as {
      spec: {
        names: { shortNames: string[]; plural: string };
        versions: { subresources: unknown; additionalPrinterColumns: { name: string }[] }[];
      };
    };
    assert.deepEqual(crd.spec.names.shortNames, ['clc']);
    assert.equal(crd.spec.names.plural, 'commitlogclusters');
    const v = crd.spec.versions[0];
    assert.ok(v);
    assert.deepEqual(v.subresources, {
      status: {},
      scale: {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
      },
    });
    assert.deepEqual(
      v.additionalPrinterColumns.map((c) => c.name),
      ['Replicas', 'Ready', 'Leader', 'Phase', 'Age'],
    );
  });

  it('every CEL message is in the CRD exactly once', () => {
    const text = files.get('crds/commitlog.dev_commitlogclusters.yaml') ?? '';
    for (const message of Object.values(RULES)) {
      assert.equal(text.split(message).length - 1, 1, message);
    }
  });

  it('dist/install.yaml creates the namespace before anything that lives in it', () => {
    const kinds = parseAllDocuments(files.get('dist/install.yaml') ?? '').map(
      (d) => (d.toJS() as { kind: string }).kind,
    );
    assert.deepEqual(kinds, [
      'CustomResourceDefinition',
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'Deployment',
    ]);
  });
});
