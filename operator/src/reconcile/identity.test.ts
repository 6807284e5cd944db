import assert from 'node:assert/strict';
import { identityForNewCluster, identityMismatch, volumesToStamp } from './identity.js';

describe('the identity of retained volumes', () => {
  it('no recorded claim means a new cluster', () => {
    assert.deepEqual(identityForNewCluster([{ name: 'data-demo-0' }]), { kind: 'new' });
  });

  it('claims of one cluster are adopted, bootstrapped if any claim says so', () => {
    assert.deepEqual(
      identityForNewCluster([
        { name: 'data-demo-1', clusterId: 'a' },
        { name: 'data-demo-0', clusterId: 'a', bootstrapped: true },
        { name: 'data-demo-2' },
      ]),
      { kind: 'adopt', clusterId: 'a', bootstrapped: true, volumes: ['data-demo-0', 'data-demo-1'] },
    );
  });

  it('claims of two clusters are a conflict naming both', () => {
    const d = identityForNewCluster([
      { name: 'data-demo-0', clusterId: 'a' },
      { name: 'data-demo-1', clusterId: 'b' },
    ]);
    assert.equal(d.kind, 'conflict');
    assert.match(d.kind === 'conflict' ? d.message : '', /data-demo-0: a; data-demo-1: b/);
  });

  it('a claim of another cluster than the recorded one is a mismatch; unrecorded claims are not', () => {
    assert.equal(identityMismatch([{ name: 'x' }, { name: 'y', clusterId: 'a' }], 'a'), undefined);
    assert.match(identityMismatch([{ name: 'y', clusterId: 'b' }], 'a') ?? '', /y: b/);
  });

  it('stamps claims without an id, and with the bootstrapped flag once formed; never another cluster’s claim', () => {
    const vs = [
      { name: 'new' },
      { name: 'recorded', clusterId: 'a' },
      { name: 'formed', clusterId: 'a', bootstrapped: true },
      { name: 'foreign', clusterId: 'b' },
    ];
    assert.deepEqual(volumesToStamp(vs, 'a', false), ['new']);
    assert.deepEqual(volumesToStamp(vs, 'a', true), ['new', 'recorded']);
  });
});
