import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkLinearizable } from './check.js';
import type { Operation } from './history.js';

// Property: a history produced by running the sequential model — operations of several
// clients overlapping arbitrarily, each taking effect somewhere inside its own interval —
// is always accepted; corrupting one read's answer to a value the log never held is
// always rejected.

type Step = { readonly kind: 'produce' } | { readonly kind: 'read'; readonly offset: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: 'produce' }),
  fc.nat({ max: 6 }).map((offset): Step => ({ kind: 'read', offset })),
);

/** Runs steps against the model in order; op i takes effect at time 10·i and its interval is widened by `slack`. */
function history(steps: readonly Step[], slack: readonly number[]): Operation[] {
  const log: string[] = [];
  return steps.map((s, i) => {
    const at = 10 * i + 5;
    const call = at - 1 - (slack[i] ?? 0) * 10;
    const ret = at + 1 + (slack[(i + 1) % slack.length] ?? 0) * 10;
    if (s.kind === 'produce') {
      log.push(`v${i}`);
      return {
        client: i,
        input: { kind: 'produce', value: `v${i}` },
        call,
        ret,
        output: { kind: 'produce', offset: log.length - 1 },
      };
    }
    return {
      client: i,
      input: { kind: 'read', offset: s.offset },
      call,
      ret,
      output: { kind: 'read', value: log[s.offset] ?? null },
    };
  });
}

describe('linearizability checker properties', () => {
  it('accepts every history whose operations take effect inside their intervals', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat({ max: 2 }), { minLength: 1, maxLength: 25 }),
        (steps, slack) => {
          assert.equal(checkLinearizable(history(steps, slack)).outcome, 'ok');
        },
      ),
      { numRuns: 150, seed: 4 },
    );
  });

  it('rejects a history in which one read returns a value that was never produced', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), fc.nat(), (steps, pick) => {
        const h = history([...steps, { kind: 'read', offset: 0 }], [0]);
        const reads = h.map((o, i) => (o.input.kind === 'read' ? i : -1)).filter((i) => i >= 0);
        const victim = reads[pick % reads.length] as number;
        const bad = h.map((o, i) =>
          i === victim ? { ...o, output: { kind: 'read' as const, value: 'never-written' } } : o,
        );
        assert.equal(checkLinearizable(bad).outcome, 'illegal');
      }),
      { numRuns: 150, seed: 5 },
    );
  });
});
