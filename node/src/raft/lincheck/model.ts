/**
 * The sequential specification of the commit log: state = the list of values in offset
 * order. produce(v) appends and returns the new offset; read(o) returns the value at o or
 * "not-yet" past the end. Unknown outputs match whatever the operation would return.
 */
import type { OpInput, OpOutput } from './history.js';

/** The log as a sequence of values (immutable; steps return new states). */
export type LogModelState = readonly string[];

/** The initial (empty) log. */
export const initialLogState: LogModelState = [];

/** Applies `input` to `state`: returns the next state if `output` is what the spec allows, else undefined. */
export function stepLogModel(state: LogModelState, input: OpInput, output: OpOutput): LogModelState | undefined {
  if (input.kind === 'produce') {
    if (output !== null && (output.kind !== 'produce' || output.offset !== state.length)) return undefined;
    return [...state, input.value];
  }
  if (output === null) return state;
  if (output.kind !== 'read') return undefined;
  const actual = state[input.offset] ?? null;
  return actual === output.value ? state : undefined;
}

/** A hashable key for memoization. Values are unique per history, so joining is unambiguous. */
export function logStateKey(state: LogModelState): string {
  return state.join('\u0000');
}
