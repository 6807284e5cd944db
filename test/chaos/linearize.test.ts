import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { checkLinearizable } from '../../node/src/raft/lincheck/check.js';
import { toHistory, type ProduceOutcome, type ReadOutcome } from './check.js';
import { checkAgainstLog, checkHistoryAgainstLog } from '../../node/src/raft/lincheck/against-log.js';

const LARGE = fileURLToPath(new URL('./large-history.ts', import.meta.url));

/** A small random run: calls and returns of a few clients interleaved, then a final log. */
interface Small {
  readonly produces: ProduceOutcome[];
  readonly reads: ReadOutcome[];
  readonly log: string[];
}

// Events as a shuffled script: each op's call and return are two slots of one permutation, so
// intervals overlap arbitrarily; outcomes are drawn freely (most histories are then illegal,
// some legal), and the final log is a random arrangement of some of the produced values.
const smallArb: fc.Arbitrary<Small> = fc
  .record({
    nProduce: fc.integer({ min: 0, max: 5 }),
    reads: fc.array(
      fc.record({ offset: fc.nat({ max: 4 }), pick: fc.option(fc.nat({ max: 5 }), { nil: undefined }) }),
      { maxLength: 4 },
    ),
    acks: fc.array(fc.option(fc.nat({ max: 4 }), { nil: undefined }), { minLength: 5, maxLength: 5 }),
    order: fc.array(fc.nat(), { minLength: 18, maxLength: 18 }),
    logPick: fc.array(fc.nat({ max: 5 }), { maxLength: 5 }),
  })
  .map(({ nProduce, reads, acks, order, logPick }): Small => {
    const nOps = nProduce + reads.length;
    const slots = Array.from({ length: 2 * nOps }, (_, i) => i).sort(
      (a, b) => (order[a % order.length] as number) - (order[b % order.length] as number) || a - b,
    );
    const time = (i: number): [number, number] => {
      const a = slots.indexOf(2 * i) + 1;
      const b = slots.indexOf(2 * i + 1) + 1;
      return a < b ? [a, b] : [b, a];
    };
    const produces = Array.from({ length: nProduce }, (_, i): ProduceOutcome => {
      const [call, ret] = time(i);
      const offset = acks[i];
      return { producer: i, value: `v${i}`, call, ret, at: 0, sentAt: 0, ...(offset === undefined ? {} : { offset }) };
    });
    const readOps = reads.map(({ offset, pick }, j): ReadOutcome => {
      const [call, ret] = time(nProduce + j);
      return { offset, value: pick === undefined || pick >= nProduce ? null : `v${pick}`, call, ret };
    });
    const log = [...new Set(logPick.filter((k) => k < nProduce).map((k) => `v${k}`))];
    return { produces, reads: readOps, log };
  });

describe('linearizability against the final log (node/src/raft/lincheck/against-log.ts)', () => {
  it('agrees with the generic lincheck search on the history followed by reading the final log', () => {
    let legal = 0;
    fc.assert(
      fc.property(smallArb, ({ produces, reads, log }) => {
        const generic = checkLinearizable(toHistory(produces, reads, log), 1_000_000);
        assert.notEqual(generic.outcome, 'unknown');
        const mine = checkAgainstLog(log, produces, reads);
        if (mine.outcome === 'ok') legal++;
        assert.equal(mine.outcome, generic.outcome, JSON.stringify({ produces, reads, log }));
      }),
      { numRuns: 3000, seed: 12 },
    );
    // Both outcomes were exercised, not only the easy one.
    assert.ok(legal > 100 && legal < 2900, `${legal} of 3000 legal`);
  });

  it('gives the same verdict on the run as a lincheck history (checkHistoryAgainstLog: how the simulator calls it)', () => {
    fc.assert(
      fc.property(smallArb, ({ produces, reads, log }) => {
        const h = toHistory(produces, reads);
        assert.deepEqual(checkHistoryAgainstLog(log, h), checkAgainstLog(log, produces, reads));
      }),
      { numRuns: 1000, seed: 13 },
    );
  });

  it('rejects a read of not-yet that began after the produce of that offset was acknowledged', () => {
    const produces: ProduceOutcome[] = [{ producer: 0, value: 'a', call: 1, ret: 2, at: 0, sentAt: 0, offset: 0 }];
    const res = checkAgainstLog(['a'], produces, [{ offset: 0, value: null, call: 3, ret: 4 }]);
    assert.equal(res.outcome, 'illegal');
    assert.match((res as { explanation: string }).explanation, /offset 0: produce\(a\).*after event 3.*read\(0\)/);
  });

  it('rejects produces in the log in an order their real-time order forbids, though each offset matches', () => {
    // b returned before a was called, but the log (and a's answer) put a first.
    const produces: ProduceOutcome[] = [
      { producer: 0, value: 'b', call: 1, ret: 2, at: 0, sentAt: 0 },
      { producer: 1, value: 'a', call: 3, ret: 4, at: 0, sentAt: 0, offset: 0 },
    ];
    assert.equal(checkAgainstLog(['a', 'b'], produces, []).outcome, 'ok'); // b indeterminate: may come later
    const acked = [{ ...(produces[0] as ProduceOutcome), offset: 1 }, produces[1] as ProduceOutcome];
    assert.equal(checkAgainstLog(['a', 'b'], acked, []).outcome, 'illegal');
  });

  it('rejects a record written twice and an acknowledged record the log lacks', () => {
    const a: ProduceOutcome = { producer: 0, value: 'a', call: 1, ret: 2, at: 0, sentAt: 0, offset: 0 };
    assert.match(JSON.stringify(checkAgainstLog(['a', 'a'], [a], [])), /took effect twice/);
    assert.match(JSON.stringify(checkAgainstLog([], [a], [])), /does not hold it/);
  });

  // The bound: 400,000 produce calls and about as many reads (a run ~30 times the size of the
  // 2026-12-03 seed-14 one) are checked inside a 160 MB old space, where the generic search
  // needed 1.1 GB for 8,000 operations. The history itself is most of the heap.
  const run = async (args: string[]): Promise<{ outcome: string; explanation?: string; produces: number }> => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-old-space-size=160', '--import', 'tsx', LARGE, ...args],
      { maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout) as { outcome: string; explanation?: string; produces: number };
  };

  it('checks a 400,000-call history within a 160 MB heap, and finds the one stale read in a corrupted copy', async function () {
    this.timeout(300_000);
    const ok = await run(['400000', '7']);
    assert.ok(ok.produces >= 400_000, String(ok.produces));
    assert.equal(ok.outcome, 'ok', ok.explanation);
    const bad = await run(['400000', '7', 'corrupt']);
    assert.equal(bad.outcome, 'illegal');
    assert.match(bad.explanation ?? '', /read\(\d+\) \[\d+, \d+\] -> not-yet/);
  });
});
