/**
 * Linearizability of a history against its final log, in linear time and memory: the chaos
 * tier's check (test/chaos/check.ts) and the simulator's (sim/final-checks.ts,
 * sim/loop-checks.ts), where the final log is the healed cluster's committed log.
 *
 * The history (produces, failed ones indeterminate; the reads) is extended by the final log
 * as its last observation: after every operation has returned, the log was read from offset
 * 0 to its end, which is `read(o) -> log[o]` for each offset and `read(log.length) ->
 * not-yet`. Its assumptions: the final log is known in full (from offset 0), every produce
 * call that may have taken effect is in the history, and each produce call has a value of
 * its own (a retry of the same call keeps its value). In any linearization of that extended
 * history the produces that take effect before those final reads are exactly the ones whose
 * values the log holds, in log order (an acknowledged produce returned before them, so it is
 * among them; an indeterminate one not in the log takes effect after them or never). So the
 * search of check.ts (Wing & Gong with Lowe's memoization, over every order) reduces to one
 * question: can produce `o` of the log take effect at a point `p[o]` inside its own
 * interval with `p[0] < p[1] < …`, every read placed inside its interval on the right side of
 * the point it depends on? Each constraint is a bound on one `p[o]`:
 *
 * - `p[o] > call` of produce o, and `p[o] > p[o-1]` (the log order);
 * - `p[o] > call` of a read of offset o that returned not-yet (it took effect before p[o]);
 * - `p[o] < ret` of produce o when acknowledged (and its offset must be o);
 * - `p[o] < ret` of a read of offset o that returned log[o] (it took effect after p[o]).
 *
 * The earliest choice, `p[o]` just after the largest lower bound so far, satisfies every upper
 * bound whenever any choice does, so one pass decides it. Times are the run's logical event
 * numbers, all distinct. The result equals the generic checker's on the extended history
 * (test/chaos/linearize.test.ts compares them on random histories, and on the simulator's
 * seeds with `crossCheck`), and the check is never weaker than the generic one on the
 * history alone: a history whose linearizations all disagree with the
 * log the nodes hold is reported, as it should be. The generic search keys its memo on the
 * whole log per explored state (quadratic memory: 8,000 operations took 1.1 GB, and the
 * 2026-12-03 seed-14 run exhausted a 4 GB heap); this needs a few arrays of the history's size.
 */
import type { Operation } from './history.js';

/** One produce call: `offset` when acknowledged, absent when its outcome is unknown (indeterminate). */
export interface LogProduce {
  readonly value: string;
  /** Logical event numbers (distinct over the whole history); `ret` is ignored when indeterminate. */
  readonly call: number;
  readonly ret: number;
  readonly offset?: number;
}

/** One read that returned: the value at `offset`, or null for not-yet. */
export interface LogRead {
  readonly offset: number;
  readonly value: string | null;
  readonly call: number;
  readonly ret: number;
}

/** The verdict: `explanation` names the first offset whose produce cannot be placed. */
export type LogCheck = { readonly outcome: 'ok' } | { readonly outcome: 'illegal'; readonly explanation: string };

const describeProduce = (p: LogProduce): string =>
  `produce(${p.value}) [${p.call}, ${p.offset === undefined ? '∞' : p.ret}] -> ${p.offset === undefined ? '?' : `offset ${p.offset}`}`;
const describeRead = (r: LogRead): string =>
  `read(${r.offset}) [${r.call}, ${r.ret}] -> ${r.value === null ? 'not-yet' : `"${r.value}"`}`;

/**
 * Decides whether `produces` and `reads`, followed by reading `log` in full, are linearizable
 * against the sequential log (produce appends and returns its offset; read returns the value
 * at an offset or not-yet). Values must be unique per produce call.
 * @throws Error when two produce calls carry the same value (the history is malformed).
 */
export function checkAgainstLog(
  log: readonly string[],
  produces: readonly LogProduce[],
  reads: readonly LogRead[],
): LogCheck {
  const illegal = (explanation: string): LogCheck => ({ outcome: 'illegal', explanation });
  const byValue = new Map<string, number>();
  produces.forEach((p, i) => {
    if (byValue.has(p.value)) throw new Error(`two produce calls carry the value ${p.value}`);
    byValue.set(p.value, i);
  });
  const n = log.length;
  // Per offset: the latest call of a not-yet read (a lower bound) and the earliest return of a
  // read that saw the value (an upper bound), with the read that set it for the explanation.
  const notYetCall = new Float64Array(n).fill(-Infinity);
  const notYetBy = new Int32Array(n).fill(-1);
  const seenRet = new Float64Array(n).fill(Infinity);
  const seenBy = new Int32Array(n).fill(-1);
  for (let i = 0; i < reads.length; i++) {
    const r = reads[i] as LogRead;
    if (r.value === null) {
      if (r.offset < n && r.call > (notYetCall[r.offset] as number)) {
        notYetCall[r.offset] = r.call;
        notYetBy[r.offset] = i;
      }
    } else if (r.offset >= n || log[r.offset] !== r.value) {
      return illegal(`${describeRead(r)}: the final log has ${String(log[r.offset] ?? 'nothing')} there`);
    } else if (r.ret < (seenRet[r.offset] as number)) {
      seenRet[r.offset] = r.ret;
      seenBy[r.offset] = i;
    }
  }
  const used = new Uint8Array(produces.length);
  let lower = -Infinity;
  let lowerWhy = 'the start';
  for (let o = 0; o < n; o++) {
    const i = byValue.get(log[o] as string);
    if (i === undefined) return illegal(`offset ${o} holds ${String(log[o])}, which no produce call sent`);
    const p = produces[i] as LogProduce;
    if (used[i] === 1) return illegal(`${describeProduce(p)} took effect twice (again at offset ${o})`);
    used[i] = 1;
    if (p.offset !== undefined && p.offset !== o) return illegal(`${describeProduce(p)} is at offset ${o}`);
    if (p.call > lower) [lower, lowerWhy] = [p.call, `the call of ${describeProduce(p)}`];
    const ny = notYetBy[o] as number;
    if (ny >= 0 && (notYetCall[o] as number) > lower)
      [lower, lowerWhy] = [notYetCall[o] as number, `the call of ${describeRead(reads[ny] as LogRead)}`];
    const upper = Math.min(p.offset === undefined ? Infinity : p.ret, seenRet[o] as number);
    if (!(lower < upper)) {
      const by = (seenRet[o] as number) < (p.offset === undefined ? Infinity : p.ret) ? seenBy[o] : -1;
      const end = by === undefined || by < 0 ? `its return` : `the return of ${describeRead(reads[by] as LogRead)}`;
      return illegal(
        `offset ${o}: ${describeProduce(p)} must take effect after event ${lower} (${lowerWhy}, ` +
          `through the log order) and before ${end} at ${upper}`,
      );
    }
  }
  for (let i = 0; i < produces.length; i++) {
    const p = produces[i] as LogProduce;
    if (used[i] === 0 && p.offset !== undefined)
      return illegal(`${describeProduce(p)} was acknowledged but the final log (${n} records) does not hold it`);
  }
  return { outcome: 'ok' };
}

/**
 * {@link checkAgainstLog} on a lincheck history (history.ts): a produce without output is
 * indeterminate; a read without output (never answered) had no effect and is left out.
 * @throws Error when two produce calls carry the same value.
 */
export function checkHistoryAgainstLog(log: readonly string[], ops: readonly Operation[]): LogCheck {
  const produces: LogProduce[] = [];
  const reads: LogRead[] = [];
  for (const op of ops) {
    if (op.input.kind === 'produce') {
      const offset = op.output?.kind === 'produce' ? op.output.offset : undefined;
      produces.push({ value: op.input.value, call: op.call, ret: op.ret, ...(offset === undefined ? {} : { offset }) });
    } else if (op.output?.kind === 'read')
      reads.push({ offset: op.input.offset, value: op.output.value, call: op.call, ret: op.ret });
  }
  return checkAgainstLog(log, produces, reads);
}
