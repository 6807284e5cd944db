/**
 * Linearizability checking by Wing & Gong's search with Lowe's memoization, as in
 * porcupine and Knossos: walk the history's call/return events in time order, try to
 * linearize each pending call at the current point, backtrack on a return whose call
 * could not be linearized before it, and cache (linearized set, state) pairs already
 * explored. Exponential in the worst case; bounded by `maxSteps` (result `unknown`).
 */
import { formatOp, type Operation } from './history.js';
import { initialLogState, logStateKey, stepLogModel, type LogModelState } from './model.js';

/** The verdict. `explanation` lists the longest linearizable prefix found when illegal. */
export type CheckResult =
  | { readonly outcome: 'ok'; readonly steps: number }
  | { readonly outcome: 'illegal'; readonly steps: number; readonly explanation: string }
  | { readonly outcome: 'unknown'; readonly steps: number };

interface Event {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  prev: Event | null;
  next: Event | null;
  match: Event | null;
}

/** Checks a commit-log history. */
export function checkLinearizable(ops: readonly Operation[], maxSteps = 2_000_000): CheckResult {
  // Build the event list: calls before returns at equal times (both directions are conservative
  // for strictly increasing logical times, which is what the simulator records).
  const events: Event[] = [];
  ops.forEach((o, i) => {
    const call: Event = { op: i, isCall: true, time: o.call, prev: null, next: null, match: null };
    const ret: Event = { op: i, isCall: false, time: o.ret, prev: null, next: null, match: null };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) =>
    a.time < b.time ? -1 : a.time > b.time ? 1 : a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1,
  );
  const head: Event = { op: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  const lift = (call: Event): void => {
    const ret = call.match as Event;
    (call.prev as Event).next = call.next;
    if (call.next) call.next.prev = call.prev;
    (ret.prev as Event).next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Event): void => {
    const ret = call.match as Event;
    (ret.prev as Event).next = ret;
    if (ret.next) ret.next.prev = ret;
    (call.prev as Event).next = call;
    if (call.next) call.next.prev = call;
  };

  const linearized = new Uint8Array(ops.length);
  const cache = new Set<string>();
  const stack: { call: Event; state: LogModelState }[] = [];
  let state: LogModelState = initialLogState;
  let entry = head.next;
  let steps = 0;
  let best: number[] = [];
  let stuck = -1;
  while (head.next !== null) {
    if (++steps > maxSteps) return { outcome: 'unknown', steps };
    if (entry === null) break;
    if (entry.isCall) {
      const op = ops[entry.op] as Operation;
      const next = stepLogModel(state, op.input, op.output);
      if (next !== undefined) {
        linearized[entry.op] = 1;
        const key = `${bitsKey(linearized)}|${logStateKey(next)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.op] = 0;
      }
      entry = entry.next;
    } else {
      // A return whose call is still pending: nothing before it can be extended; backtrack.
      if (stuck < 0 || stack.length > best.length) {
        best = stack.map((s) => s.call.op);
        stuck = entry.op;
      }
      const top = stack.pop();
      if (top === undefined) {
        return { outcome: 'illegal', steps, explanation: explain(ops, best, stuck) };
      }
      state = top.state;
      linearized[top.call.op] = 0;
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { outcome: 'ok', steps };
}

function bitsKey(bits: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bits.length; i += 16) {
    let v = 0;
    for (let j = 0; j < 16 && i + j < bits.length; j++) v |= (bits[i + j] as number) << j;
    s += String.fromCharCode(v + 0x100);
  }
  return s;
}

function explain(ops: readonly Operation[], prefix: readonly number[], stuck: number): string {
  const lines = prefix.map((i) => `  ${formatOp(ops[i] as Operation)}`);
  return `no linearization; longest legal prefix:\n${lines.join('\n')}\ncannot place before its return: ${formatOp(ops[stuck] as Operation)}`;
}
