/**
 * Client histories of a commit log: `produce(value) → offset` and `read(offset) → value
 * | not-yet`. Times are logical event numbers (strictly ordered). An operation whose
 * outcome is unknown (timed out) has `ret = Infinity` and `output = null`: it may or may
 * not have taken effect, at any point after its call (Knossos/porcupine convention).
 */

/** What a client asked. */
export type OpInput =
  { readonly kind: 'produce'; readonly value: string } | { readonly kind: 'read'; readonly offset: number };

/** What it was told; `null` = unknown (indeterminate). */
export type OpOutput =
  | { readonly kind: 'produce'; readonly offset: number }
  | { readonly kind: 'read'; readonly value: string | null }
  | null;

/** One client operation. */
export interface Operation {
  readonly client: number;
  readonly input: OpInput;
  readonly call: number;
  readonly ret: number;
  readonly output: OpOutput;
}

/** Renders an operation for failure reports. */
export function formatOp(op: Operation): string {
  const inp = op.input.kind === 'produce' ? `produce(${op.input.value})` : `read(${op.input.offset})`;
  const out =
    op.output === null
      ? '?'
      : op.output.kind === 'produce'
        ? `offset ${op.output.offset}`
        : op.output.value === null
          ? 'not-yet'
          : `"${op.output.value}"`;
  return `c${op.client} [${op.call}, ${op.ret === Infinity ? '∞' : op.ret}] ${inp} -> ${out}`;
}
