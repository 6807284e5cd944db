import type { Operation } from '../lincheck/history.js';

/**
 * The history with each indeterminate produce that took effect given the offset its record
 * holds in the healed cluster's committed log (`offsets`), its return still unknown (it may
 * take effect at any time after its call). The checker then places it only where the log
 * put it, instead of trying every position: fewer candidates, never a weaker check (a
 * correct run's real order is still a linearization; a position the log contradicts was
 * never one). A search that ran out of steps on about 1 seed in 100 of 3000 units
 * (docs/testing.md) — each unresolved produce multiplies the placements it tries.
 */
export function resolveProduces(ops: readonly Operation[], offsets: ReadonlyMap<string, number>): Operation[] {
  return ops.map((op) => {
    if (op.output !== null || op.input.kind !== 'produce') return op;
    const offset = offsets.get(op.input.value);
    return offset === undefined ? op : { ...op, output: { kind: 'produce', offset } };
  });
}
