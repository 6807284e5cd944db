import assert from 'node:assert/strict';
import { valueOf, verify, type Outcome } from './workload.js';

const logs = (...members: string[][]): Map<string, string[]> => new Map(members.map((m, i) => [`m${i}`, m]));
const acked = (seq: number, offset: number): Outcome => ({ seq, offset });
const failed = (seq: number): Outcome => ({ seq, error: 'DEADLINE_EXCEEDED' });

describe('the e2e workload checker (every acknowledged record read back exactly once, in order, on every member)', () => {
  const good = ['hello', valueOf(0), valueOf(1), valueOf(3)];

  it('accepts identical logs holding every acknowledged value once, in order, beside foreign records', () => {
    const r = verify(logs(good, [...good], [...good]), [acked(0, 1), acked(1, 2), failed(2), acked(3, 3)]);
    assert.deepEqual(r.problems, []);
    assert.match(r.summary, /4 records on each of 3 members; 3 acknowledged/);
  });

  it('reports an acknowledged value that no member holds', () => {
    const r = verify(logs(good), [acked(0, 1), acked(1, 2), acked(2, 3), acked(3, 3)]);
    assert.ok(
      r.problems.some((p) => /acknowledged w-2 \(offset 3\) is missing/.test(p)),
      r.problems.join('\n'),
    );
  });

  it('reports a value written twice, even one whose call failed', () => {
    const r = verify(logs([valueOf(0), valueOf(1), valueOf(1)]), [acked(0, 0), failed(1)]);
    assert.ok(
      r.problems.some((p) => /w-1 appears 2 times, at offsets 1, 2/.test(p)),
      r.problems.join('\n'),
    );
  });

  it('reports an acknowledged value at another offset than the one acknowledged', () => {
    const r = verify(logs([valueOf(1), valueOf(0)]), [acked(0, 0), acked(1, 1)]);
    assert.ok(
      r.problems.some((p) => /w-0 at offset 0 is at offset 1/.test(p)),
      r.problems.join('\n'),
    );
    assert.ok(
      r.problems.some((p) => /w-1 \(offset 0\) comes before an earlier value/.test(p)),
      r.problems.join('\n'),
    );
  });

  it('reports a member whose log differs from the others', () => {
    const r = verify(logs(good, good.slice(0, 3), [...good.slice(0, 3), 'other']), [acked(0, 1)]);
    assert.equal(r.problems.length, 2, r.problems.join('\n'));
    assert.match(r.problems[0] ?? '', /m1 differs from m0: 3 vs 4 records/);
    assert.match(r.problems[1] ?? '', /m2 differs from m0: 4 vs 4 records, first difference at offset 3: other vs w-3/);
  });
});
