import assert from 'node:assert/strict';
import { APPLIED_HASH, applyReason, canonicalJson, desiredHash, stamped } from './applied.js';

const desired = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's', namespace: 'n', annotations: { a: '1' } },
  spec: { ports: [{ port: 1 }] },
};

describe('applied-hash comparison', () => {
  it('hashes equal objects equally whatever their key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
    assert.equal(
      desiredHash({ kind: 'Service', apiVersion: 'v1' }),
      desiredHash({ apiVersion: 'v1', kind: 'Service' }),
    );
  });

  it('a live child stamped from the same desired object needs no apply, even with server defaults added', () => {
    const live = { ...stamped(desired), spec: { ...desired.spec, clusterIP: '10.0.0.1' } };
    assert.equal(applyReason(live, desired), undefined);
  });

  it('a field removed from the desired object forces an apply although the live child still contains it', () => {
    const live = stamped(desired);
    const without = { ...desired, metadata: { name: 's', namespace: 'n' } };
    assert.equal(applyReason(live, without), 'spec-changed');
    assert.equal(
      (stamped(without).metadata as { annotations: Record<string, string> }).annotations[APPLIED_HASH],
      desiredHash(without),
    );
  });

  it('a live child edited by someone else is re-applied (drift), a missing one created', () => {
    const live = { ...stamped(desired), spec: { ports: [{ port: 2 }] } };
    assert.equal(applyReason(live, desired), 'drifted');
    assert.equal(applyReason(undefined, desired), 'created');
  });
});
