/**
 * Linearizability of a chaos run's history against its final log, in linear time and memory.
 *
 * The history (produces, failed ones indeterminate; the consumer's reads) is extended by the
 * final log as its last observation: after every operation has returned, every node was read
 * from offset 0 until OUT_OF_RANGE, which is `read(o) -> log[o]` for each offset and
 * `read(log.length) -> not-yet`. In any linearization of that extended history the produces
 * that take effect before those final reads are exactly the ones whose values the log holds,
 * in log order (an acknowledged produce returned before them, so it is among them; an
 * indeterminate one not in the log takes effect after them or never). So the search of
 * `node/src/raft/lincheck/` (Wing & Gong with Lowe's memoization, over every order) reduces
 * to one question: can produce `o` of the log take effect at a point `p[o]` inside its own
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
 * (`linearize.test.ts` compares them on random histories), and the check is never weaker than
 * the generic one on the history alone: a history whose linearizations all disagree with the
 * log the nodes hold is reported, as it should be. The generic search keys its memo on the
 * whole log per explored state (quadratic memory: 8,000 operations took 1.1 GB, and the
 * 2026-12-03 seed-14 run exhausted a 4 GB heap); this needs a few arrays of the history's size.
 */
import type { ProduceOutcome, ReadOutcome } from './check.js';

/** The verdict: `explanation` names the first offset whose produce cannot be placed. */
export type LogCheck = { readonly outcome: 'ok' } | { readonly outcome: 'illegal'; readonly explanation: string };

const describeProduce = (p: ProduceOutcome): string =>
  `produce(${p.value}) [${p.call}, ${p.offset === undefined ? '∞' : p.ret}] -> ${p.offset === undefined ? '?' : `offset ${p.offset}`}`;
const describeRead = (r: ReadOutcome): string =>
  `read(${r.offset}) [${r.call}, ${r.ret}] -> ${r.value === null ? 'not-yet' : `"${r.value}"`}`;

/**
 * Decides whether `produces` and `reads`, followed by reading `log` in full, are linearizable
 * against the sequential log (produce appends and returns its offset; read returns the value
 * at an offset or not-yet). Values must be unique per produce call.
 * @throws Error when two produce calls carry the same value (the history is malformed).
 */
export function checkAgainstLog(
  log: readonly string[],
  produces: readonly ProduceOutcome[],
  reads: readonly ReadOutcome[],
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
    const r = reads[i] as ReadOutcome;
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
    const p = produces[i] as ProduceOutcome;
    if (used[i] === 1) return illegal(`${describeProduce(p)} took effect twice (again at offset ${o})`);
    used[i] = 1;
    if (p.offset !== undefined && p.offset !== o) return illegal(`${describeProduce(p)} is at offset ${o}`);
    if (p.call > lower) [lower, lowerWhy] = [p.call, `the call of ${describeProduce(p)}`];
    const ny = notYetBy[o] as number;
    if (ny >= 0 && (notYetCall[o] as number) > lower)
      [lower, lowerWhy] = [notYetCall[o] as number, `the call of ${describeRead(reads[ny] as ReadOutcome)}`];
    const upper = Math.min(p.offset === undefined ? Infinity : p.ret, seenRet[o] as number);
    if (!(lower < upper)) {
      const by = (seenRet[o] as number) < (p.offset === undefined ? Infinity : p.ret) ? seenBy[o] : -1;
      const end = by === undefined || by < 0 ? `its return` : `the return of ${describeRead(reads[by] as ReadOutcome)}`;
      return illegal(
        `offset ${o}: ${describeProduce(p)} must take effect after event ${lower} (${lowerWhy}, ` +
          `through the log order) and before ${end} at ${upper}`,
      );
    }
  }
  for (let i = 0; i < produces.length; i++) {
    const p = produces[i] as ProduceOutcome;
    if (used[i] === 0 && p.offset !== undefined)
      return illegal(`${describeProduce(p)} was acknowledged but the final log (${n} records) does not hold it`);
  }
  return { outcome: 'ok' };
}
