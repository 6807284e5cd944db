import assert from 'node:assert/strict';
import { checkLinearizable } from './check.js';
import type { Operation } from './history.js';

const produce = (client: number, value: string, call: number, ret: number, offset: number | null): Operation => ({
  client,
  input: { kind: 'produce', value },
  call,
  ret,
  output: offset === null ? null : { kind: 'produce', offset },
});
const read = (client: number, offset: number, call: number, ret: number, value: string | null): Operation => ({
  client,
  input: { kind: 'read', offset },
  call,
  ret,
  output: { kind: 'read', value },
});

describe('linearizability checker (commit log model)', () => {
  it('accepts a sequential history', () => {
    const h = [produce(0, 'a', 1, 2, 0), produce(0, 'b', 3, 4, 1), read(1, 1, 5, 6, 'b'), read(1, 2, 7, 8, null)];
    assert.equal(checkLinearizable(h).outcome, 'ok');
  });

  it('accepts concurrent produces acknowledged in either order', () => {
    const h = [produce(0, 'a', 1, 10, 1), produce(1, 'b', 2, 9, 0), read(2, 0, 3, 8, 'b')];
    assert.equal(checkLinearizable(h).outcome, 'ok');
  });

  it('rejects a stale read: not-yet for an offset acknowledged before the read began', () => {
    const h = [produce(0, 'a', 1, 2, 0), read(1, 0, 3, 4, null)];
    const r = checkLinearizable(h);
    assert.equal(r.outcome, 'illegal');
    assert.match(r.outcome === 'illegal' ? r.explanation : '', /read\(0\) -> not-yet/);
  });

  it('rejects two produces acknowledged at the same offset', () => {
    const h = [produce(0, 'a', 1, 2, 0), produce(1, 'b', 3, 4, 0)];
    assert.equal(checkLinearizable(h).outcome, 'illegal');
  });

  it('treats a timed-out produce as possibly applied: a later read may see it or not', () => {
    const seen = [produce(0, 'a', 1, Infinity, null), read(1, 0, 5, 6, 'a')];
    const unseen = [produce(0, 'a', 1, Infinity, null), read(1, 0, 5, 6, null)];
    assert.equal(checkLinearizable(seen).outcome, 'ok');
    assert.equal(checkLinearizable(unseen).outcome, 'ok');
  });

  it('rejects a read that goes back in time (seen, then not-yet)', () => {
    const h = [produce(0, 'a', 1, Infinity, null), read(1, 0, 5, 6, 'a'), read(2, 0, 7, 8, null)];
    assert.equal(checkLinearizable(h).outcome, 'illegal');
  });

  it('handles a larger concurrent history within its step budget', () => {
    const h: Operation[] = [];
    for (let i = 0; i < 40; i++) h.push(produce(i % 4, `v${i}`, i * 2, i * 2 + 5, i));
    assert.equal(checkLinearizable(h).outcome, 'ok');
  });
});
