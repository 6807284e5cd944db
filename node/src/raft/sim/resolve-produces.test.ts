import assert from 'node:assert/strict';
import { checkLinearizable } from '../lincheck/check.js';
import type { Operation } from '../lincheck/history.js';
import { resolveProduces } from './resolve-produces.js';

// Indeterminate produces that took effect get the offset their record holds in the healed
// cluster's committed log before the history is checked (simulate.ts): a stronger check,
// and a search that no longer tries every position for each of them.

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

describe('indeterminate produces resolved by the committed log', () => {
  it('an indeterminate produce gets its record offset and keeps its unknown return; the others are unchanged', () => {
    const h = [produce(0, 'a', 1, Infinity, null), produce(1, 'b', 2, 3, 0), read(2, 0, 4, 5, 'b')];
    const out = resolveProduces(
      h,
      new Map([
        ['a', 1],
        ['b', 0],
      ]),
    );
    assert.deepEqual(out[0], { ...h[0], output: { kind: 'produce', offset: 1 } });
    assert.deepEqual(out.slice(1), h.slice(1));
    assert.deepEqual(resolveProduces(h, new Map()), h, 'a value the log does not place stays indeterminate');
  });

  it('is a stronger check: a read that saw a record at an offset the log did not put it at is refused', () => {
    // GIVEN two produces that timed out, and a read that saw "a" at offset 0
    const h = [produce(0, 'a', 1, Infinity, null), produce(1, 'b', 2, Infinity, null), read(2, 0, 3, 4, 'a')];
    // Unresolved, "a" may have gone first: accepted
    assert.equal(checkLinearizable(h).outcome, 'ok');
    // WHEN the committed log holds b at 0 and a at 1 THEN no linearization is left
    const resolved = resolveProduces(
      h,
      new Map([
        ['b', 0],
        ['a', 1],
      ]),
    );
    assert.equal(checkLinearizable(resolved).outcome, 'illegal');
  });

  it('turns a search that runs out of steps into a short one: 12 timed-out produces, reads that saw them in a shuffled order', () => {
    // GIVEN 12 produces that all timed out (each may have taken effect anywhere after its
    // call), then reads of offsets 0-11 that saw them in the order 3, 10, 5, 0, 7, 2, …
    const n = 12;
    const order = Array.from({ length: n }, (_, k) => (k * 7 + 3) % n);
    const h: Operation[] = [];
    for (let i = 0; i < n; i++) h.push(produce(i, `v${i}`, i + 1, Infinity, null));
    for (let k = 0; k < n; k++) h.push(read(100 + k, k, 1000 + 2 * k, 1001 + 2 * k, `v${order[k]}`));
    // WHEN checked as is, the search tries the produces' orders and runs out of 200,000 steps
    assert.equal(checkLinearizable(h, 200_000).outcome, 'unknown');
    // THEN with the offsets the committed log gave them it is decided at once
    const resolved = resolveProduces(h, new Map(order.map((v, k) => [`v${v}`, k])));
    const verdict = checkLinearizable(resolved, 200_000);
    assert.equal(verdict.outcome, 'ok');
    assert.ok(verdict.steps < 1000, `${verdict.steps} steps`);
  });
});
