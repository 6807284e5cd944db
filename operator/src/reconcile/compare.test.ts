import assert from 'node:assert/strict';
import { contains, differences } from './compare.js';

describe('compare-before-apply', () => {
  it('ignores what the API server adds (defaults, status, metadata)', () => {
    const desired = { metadata: { name: 'a', labels: { x: '1' } }, spec: { ports: [{ name: 'rpc', port: 8400 }] } };
    const actual = {
      metadata: { name: 'a', labels: { x: '1', extra: 'y' }, resourceVersion: '7', uid: 'u' },
      spec: { ports: [{ name: 'rpc', port: 8400, protocol: 'TCP', targetPort: 8400 }], clusterIP: '10.0.0.5' },
      status: { loadBalancer: {} },
    };
    assert.ok(contains(actual, desired));
  });

  it('sees a changed value, a removed list element and a missing field', () => {
    const desired = { spec: { replicas: 3, args: ['a', 'b'], selector: { app: 'x' } } };
    assert.deepEqual(differences({ spec: { replicas: 2, args: ['a', 'b'], selector: { app: 'x' } } }, desired), [
      'spec.replicas',
    ]);
    assert.deepEqual(differences({ spec: { replicas: 3, args: ['a', 'b', 'c'], selector: { app: 'x' } } }, desired), [
      'spec.args',
    ]);
    assert.deepEqual(differences({ spec: { replicas: 3, args: ['a', 'b'] } }, desired), ['spec.selector']);
  });

  it('compares resource quantities by amount, as the API server normalizes them', () => {
    assert.ok(
      contains(
        { resources: { requests: { cpu: '500m', memory: '1Gi' } } },
        { resources: { requests: { cpu: '0.5', memory: '1024Mi' } } },
      ),
    );
    assert.ok(!contains({ resources: { limits: { cpu: '1' } } }, { resources: { limits: { cpu: '2' } } }));
  });

  it('treats an empty map or list as equal to an absent one', () => {
    assert.ok(contains({ spec: {} }, { spec: { tolerations: [], nodeSelector: {} } }));
  });
});
