import assert from 'node:assert/strict';
import type { Operation } from '../lincheck/history.js';
import { CHECKS_DISAGREE, checkHistory } from './final-checks.js';
import { NOT_LINEARIZABLE } from './invariant-violation.js';

const produce = (value: string, call: number, ret: number, offset?: number): Operation => ({
  client: 0,
  input: { kind: 'produce', value },
  call,
  ret: offset === undefined ? Infinity : ret,
  output: offset === undefined ? null : { kind: 'produce', offset },
});
const read = (offset: number, value: string | null, call: number, ret: number): Operation => ({
  client: 1,
  input: { kind: 'read', offset },
  call,
  ret,
  output: { kind: 'read', value },
});

describe('the end-of-run linearizability check (final-checks.ts checkHistory)', () => {
  // a acknowledged at 0, b indeterminate and in the log at 1, a read that saw b.
  const history = [produce('a', 0, 1, 0), produce('b', 2, 0), read(1, 'b', 3, 4)];

  it('decides in one pass against the final log when it is known: the generic search does not run', () => {
    let searched = 0;
    const v = checkHistory(history, ['a', 'b'], () => (searched++, [...history]));
    assert.deepEqual(v, { linearizable: 'ok', lincheckSteps: 0 });
    assert.equal(searched, 0);
  });

  it('falls back to the generic search when the final log is not known in full', () => {
    const v = checkHistory(history, undefined, () => [...history]);
    assert.equal(v.linearizable, 'ok');
    assert.ok(v.lincheckSteps > 0, 'the search ran');
  });

  it('throws NOT_LINEARIZABLE when the history contradicts the final log (b at offset 0, read at 1)', () => {
    assert.throws(
      () => checkHistory(history, ['b', 'a'], () => [...history]),
      new RegExp(`^Error: ${NOT_LINEARIZABLE}`),
    );
  });

  it('with crossCheck runs both and throws when they disagree: an acknowledged record the final log lacks is illegal only against the log', () => {
    const acked = [produce('a', 0, 1, 0)];
    // The search on the history alone accepts it; the one-pass check against an empty log does not.
    assert.equal(checkHistory(acked, undefined, () => [...acked]).linearizable, 'ok');
    assert.throws(() => checkHistory(acked, [], () => [...acked], true), new RegExp(`^Error: ${CHECKS_DISAGREE}`));
    // Agreeing verdicts pass, with the search's steps reported.
    assert.ok(checkHistory(history, ['a', 'b'], () => [...history], true).lincheckSteps > 0);
  });
});
