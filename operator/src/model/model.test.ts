import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { CommitLogCluster } from '../api/types.js';
import { allObjects, desiredObjects, podDisruptionBudget } from './index.js';
import { Bootstrap, type ModelInputs } from './inputs.js';
import { secrets } from './secrets.js';
import { loadExample } from './testing/support.js';
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
      caStore: { current: pair('ca') },
      caRevision: 'trust=00000000000000ca;issuer=00000000000000ca',
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
  const objs = allObjects(
    desiredObjects(
      c,
      v.spec,
      fakeInputs(
        c,
        v.spec.replicas,
        v.spec.acl.users.map((u) => u.name),
      ),
    ),
  );
  const text = objs.map((o) => '---\n' + stringify(o, { lineWidth: 0 })).join('');
  const path = resolve(import.meta.dirname, 'testdata', goldenFile);
  if (UPDATE) writeFileSync(path, text);
  assert.equal(
    text,
    readFileSync(path, 'utf8'),
    `model output changed: if intended, run UPDATE_GOLDEN=1 npx mocha '${import.meta.filename}'`,
  );
}

describe('model golden files', () => {
  it('examples/minimal.yaml → testdata/minimal.golden.yaml', () => golden('minimal.yaml', 'minimal.golden.yaml'));
  it('examples/full.yaml → testdata/full.golden.yaml', () => golden('full.yaml', 'full.golden.yaml'));
});

describe('model: the node config and bootstrap exactly once', () => {
  const render = (bootstrap: Bootstrap, replicas: number) => {
    const c = loadExample('full.yaml');
    const v = validateCluster(c);
    assert.ok(v.ok);
    const objs = allObjects(
      desiredObjects(c, v.spec, {
        ...fakeInputs(
          c,
          replicas,
          v.spec.acl.users.map((u) => u.name),
        ),
        bootstrap,
      }),
    );
    const cm = objs.find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
    const sts = objs.find((o) => o.kind === 'StatefulSet') as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    return {
      node: parse(cm.data['node.yaml'] ?? '') as Record<string, unknown>,
      cm,
      hash: sts.spec.template.metadata.annotations['commitlog.dev/config-hash'],
    };
  };

  it('allows bootstrap for ordinal 0 only, until forbidden; flipping the flag does not change the pod template hash', () => {
    const allowed = render(Bootstrap.allowed, 3);
    const forbidden = render(Bootstrap.forbidden, 3);
    assert.equal(allowed.node.bootstrap, true);
    assert.equal(allowed.node['bootstrap-node'], 'orders-0');
    assert.equal(forbidden.node.bootstrap, false);
    assert.equal(allowed.hash, forbidden.hash);
  });

  it('seeds gossip with the headless DNS names of pods 0-2 whatever the replicas, so scaling restarts nothing', () => {
    const three = render(Bootstrap.forbidden, 3);
    const five = render(Bootstrap.forbidden, 5);
    assert.equal(
      three.node['start-join-addrs'],
      'orders-0.orders-headless.default.svc:8401,orders-1.orders-headless.default.svc:8401,orders-2.orders-headless.default.svc:8401',
    );
    assert.equal(three.hash, five.hash);
  });

  it('never puts the gossip key in the ConfigMap (only the path of the mounted Secret)', () => {
    const { cm, node } = render(Bootstrap.allowed, 3);
    assert.equal(node['gossip-key-file'], '/etc/commitlog/gossip/key');
    assert.ok(!Object.values(cm.data).some((v) => v.includes('R09TU0lQLUtFWS0zMi1CWVRFUy0wMTIzNDU2Nzg5YWI=')));
    assert.ok(!('gossip-key' in node));
  });
});

describe('model: the PodDisruptionBudget keeps a quorum', () => {
  it('allows one voluntary disruption from 3 members on, none for 1 or 2 (any member down loses quorum)', () => {
    const c = loadExample('minimal.yaml');
    const max = (n: number): unknown => podDisruptionBudget(c, n).spec?.maxUnavailable;
    assert.deepEqual([1, 2, 3, 4, 5, 7].map(max), [0, 0, 1, 1, 1, 1]);
  });

  it('counts the members the StatefulSet runs on the way to spec.replicas, never more than it', () => {
    const c = { ...loadExample('minimal.yaml'), spec: { replicas: 3 } };
    const v = validateCluster(c);
    assert.ok(v.ok);
    const max = (running: number): unknown => {
      const pdb = desiredObjects(c, v.spec, fakeInputs(c, running, [])).statefulSet[1] as ReturnType<
        typeof podDisruptionBudget
      >;
      return pdb.spec?.maxUnavailable;
    };
    assert.deepEqual([1, 2, 3, 4, 5].map(max), [0, 0, 1, 1, 1], 'growing 1 → 3, or shrinking 5 → 3');
  });
});

describe('model: the record of a user-supplied CA', () => {
  it('is the Secret <name>-ca-record with the CA certificates and the phase, and no key; no CA store is rendered', () => {
    const c = loadExample('minimal.yaml');
    const v = validateCluster(c);
    assert.ok(v.ok);
    const base = fakeInputs(c, 1, []);
    const { caStore: _store, ...certs } = base.certificates!;
    const out = secrets(c, {
      ...base,
      certificates: {
        ...certs,
        caCertPem: 'CERT(old)\nCERT(new)\n',
        caRecord: { current: 'CERT(old)\n', next: 'CERT(new)\n', phase: 'TrustBoth' },
      },
    });
    const names = out.map((s) => s.metadata?.name);
    assert.equal(names.includes(`${c.metadata.name}-ca`), false);
    const record = out.find((s) => s.metadata?.name === `${c.metadata.name}-ca-record`);
    assert.deepEqual(
      [record?.type, record?.metadata?.annotations, record?.metadata?.labels?.['app.kubernetes.io/component']],
      ['Opaque', { 'commitlog.dev/ca-rotation-phase': 'TrustBoth' }, 'ca-record'],
    );
    assert.deepEqual(
      Object.fromEntries(Object.entries(record?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])),
      { 'current.crt': 'CERT(old)\n', 'next.crt': 'CERT(new)\n' },
    );
  });
});
