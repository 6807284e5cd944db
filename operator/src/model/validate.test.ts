import assert from 'node:assert/strict';
import type { CommitLogCluster, CommitLogClusterSpec } from '../api/types.js';
import { validateCluster } from './validate.js';

function cluster(spec: CommitLogClusterSpec, name = 'demo'): CommitLogCluster {
  return {
    apiVersion: 'commitlog.dev/v1alpha1',
    kind: 'CommitLogCluster',
    metadata: { name, namespace: 'default' },
    spec,
  };
}

function errorsOf(spec: CommitLogClusterSpec, name?: string): readonly string[] {
  const v = validateCluster(cluster(spec, name));
  return v.ok ? [] : v.errors;
}

describe('validateCluster: what a user sees for a bad spec', () => {
  it('accepts an empty spec and resolves every default', () => {
    const v = validateCluster(cluster({}));
    assert.ok(v.ok);
    assert.equal(v.spec.replicas, 3);
    assert.equal(v.spec.tls.enabled, true);
    assert.deepEqual(v.spec.acl.rules, [{ user: 'root', actions: ['produce', 'consume'] }]);
    assert.equal(v.spec.external.type, 'LoadBalancer');
  });

  const cases: readonly [string, CommitLogClusterSpec, string, string?][] = [
    ['zero replicas', { replicas: 0 }, 'spec.replicas must be at least 1'],
    [
      'too many replicas',
      { replicas: 16 },
      'spec.replicas must be at most 15: larger Raft groups commit slowly; run several clusters instead',
    ],
    [
      'a storage size that is not a quantity',
      { storage: { size: 'lots' } },
      'spec.storage.size "lots" is not a positive quantity (examples: 1Gi, 500Mi)',
    ],
    [
      'a resource that is not a quantity',
      { resources: { limits: { memory: '1 GB' } } },
      'spec.resources.limits.memory "1 GB" is not a quantity (examples: 500m, 1, 256Mi)',
    ],
    [
      'a request above its limit',
      { resources: { requests: { cpu: '2' }, limits: { cpu: '500m' } } },
      'spec.resources.requests.cpu (2) exceeds spec.resources.limits.cpu (500m)',
    ],
    [
      'two ports the same',
      { ports: { rpc: 9000, http: 9000 } },
      'spec.ports.rpc, spec.ports.gossip and spec.ports.http must all differ',
    ],
    [
      'renewal not before expiry',
      { tls: { validityDays: 30, renewBeforeDays: 30 } },
      'spec.tls.renewBeforeDays must be less than spec.tls.validityDays',
    ],
    [
      'TLS turned off',
      { tls: { enabled: false } },
      'spec.tls.enabled must be true: commitlog nodes authenticate each other and their clients with mutual TLS, and a cluster without TLS is not supported',
    ],
    [
      'a rule for an unknown user',
      { acl: { users: [{ name: 'root' }], rules: [{ user: 'bob', actions: ['consume'] }] } },
      'every spec.acl.rules[].user must be listed in spec.acl.users',
    ],
    [
      'the reserved operator user',
      { acl: { users: [{ name: 'commitlog-operator' }], rules: [] } },
      'the user name commitlog-operator is reserved for the operator',
    ],
    [
      'a duplicate user',
      { acl: { users: [{ name: 'a' }, { name: 'a' }], rules: [] } },
      'spec.acl.users lists "a" twice',
    ],
    [
      'source ranges on NodePort',
      { external: { type: 'NodePort', loadBalancerSourceRanges: ['10.0.0.0/8'] } },
      'spec.external.loadBalancerSourceRanges applies only to type LoadBalancer',
    ],
    [
      'a source range that is not a CIDR',
      { external: { loadBalancerSourceRanges: ['10.0.0.0/33'] } },
      'spec.external.loadBalancerSourceRanges[0] "10.0.0.0/33" is not a CIDR (example: 203.0.113.0/24)',
    ],
    [
      'leafValidity without leafRenewBefore',
      { tls: { leafValidity: '1h' } },
      'spec.tls.leafValidity and spec.tls.leafRenewBefore must be set together',
    ],
    [
      'a leafValidity under 10 minutes',
      { tls: { leafValidity: '9m59s', leafRenewBefore: '5m' } },
      'spec.tls.leafValidity must be at least 10m and at most 87600h (10 years): a duration such as 24h, 90m or 1h30m (got "9m59s")',
    ],
    [
      'a leafValidity that is no duration',
      { tls: { leafValidity: '1d', leafRenewBefore: '5m' } },
      'spec.tls.leafValidity must be at least 10m and at most 87600h (10 years): a duration such as 24h, 90m or 1h30m (got "1d")',
    ],
    [
      'a leafRenewBefore under 5 minutes',
      { tls: { leafValidity: '1h', leafRenewBefore: '4m' } },
      'spec.tls.leafRenewBefore must be at least 5m: a renewed certificate needs time to reach every pod through its Secret volume (got "4m")',
    ],
    [
      'a leafRenewBefore not below leafValidity',
      { tls: { leafValidity: '1h', leafRenewBefore: '60m' } },
      'spec.tls.leafRenewBefore must be less than spec.tls.leafValidity',
    ],
    ['a tiny segment', { log: { segmentBytes: 100 } }, 'spec.log.segmentBytes must be at least 1024'],
    [
      'retention below one segment',
      { log: { segmentBytes: 4096, retentionBytes: 1024 } },
      'spec.log.retentionBytes must be at least spec.log.segmentBytes: retention deletes whole segments',
    ],
    ['an image with spaces', { image: 'my image' }, 'spec.image "my image" is not a valid image reference'],
    [
      'a name longer than 40 characters',
      {},
      'metadata.name must be at most 40 characters: pod, Service and certificate names are derived from it',
      'a'.repeat(41),
    ],
    [
      'a name starting with a digit',
      {},
      'metadata.name "1demo" must start with a letter and contain only lowercase letters, digits and \'-\': Service names are derived from it',
      '1demo',
    ],
  ];
  for (const [what, spec, message, name] of cases) {
    it(`rejects ${what}`, () => {
      assert.deepEqual(errorsOf(spec, name), [message]);
    });
  }

  it('reports every problem at once, not only the first', () => {
    assert.equal(errorsOf({ replicas: 0, log: { segmentBytes: 1 } }).length, 2);
  });
});
