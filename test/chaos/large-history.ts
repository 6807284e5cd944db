/**
 * A synthetic chaos-run history of any size, for the memory bound of the chaos tier's check
 * (linearize.test.ts runs this file in a child process under a small `--max-old-space-size`).
 *
 *   tsx test/chaos/large-history.ts <produces> <seed> [corrupt]   (prints a JSON line)
 *
 * Three producers, each with one call in flight at a time, overlapping one another; about one
 * call in 200 fails (indeterminate: half of those were written all the same); a consumer
 * reading every offset some time after it was acknowledged. With `corrupt`, one read near the
 * end returns not-yet for an offset whose produce had been acknowledged before the read was
 * called: a stale read, the only defect, which the check must find.
 */
import { seededRng } from '../../node/src/raft/core/env.js';
import type { ProduceOutcome, ReadOutcome } from './check.js';
import { checkAgainstLog } from '../../node/src/raft/lincheck/against-log.js';
import { isMain } from '../support/is-main.js';

/** The history and the log it leaves. */
export interface LargeHistory {
  readonly log: string[];
  readonly produces: ProduceOutcome[];
  readonly reads: ReadOutcome[];
}

/** Builds a valid history of `count` produce calls (deterministic in `seed`). */
export function largeHistory(count: number, seed: number): LargeHistory {
  const rng = seededRng(seed);
  const log: string[] = [];
  const produces: ProduceOutcome[] = [];
  const reads: ReadOutcome[] = [];
  let clock = 0;
  // Each round: the three producers call, their records are appended in a random order, then
  // they return in another random order; the consumer reads an offset of an earlier round.
  const seqs = [0, 0, 0];
  let readNext = 0;
  while (produces.length < count) {
    const calls = [0, 1, 2].map(() => ++clock);
    const order = [0, 1, 2].sort(() => rng.nextFloat() - 0.5);
    const offsets = new Map<number, number | undefined>();
    for (const p of order) {
      const fails = rng.nextFloat() < 0.005;
      const written = !fails || rng.nextFloat() < 0.5;
      if (written) log.push(`p${p}-${seqs[p]}`);
      offsets.set(p, written && !fails ? log.length - 1 : undefined);
    }
    for (const p of [0, 1, 2].sort(() => rng.nextFloat() - 0.5)) {
      const offset = offsets.get(p);
      produces.push({
        producer: p,
        value: `p${p}-${seqs[p]}`,
        call: calls[p] as number,
        ret: ++clock,
        at: 0,
        sentAt: 0,
        ...(offset === undefined ? { error: 'DEADLINE_EXCEEDED' } : { offset }),
      });
      seqs[p] = (seqs[p] as number) + 1;
    }
    while (readNext < log.length - 6) {
      const call = ++clock;
      reads.push({ offset: readNext, value: log[readNext] as string, call, ret: ++clock });
      readNext++;
    }
  }
  return { log, produces, reads };
}

/** Makes the last read but ten a stale not-yet (its offset was acknowledged before it began). */
export function corrupt(h: LargeHistory): void {
  const i = h.reads.length - 10;
  const r = h.reads[i] as ReadOutcome;
  h.reads[i] = { ...r, value: null };
}

if (isMain(import.meta)) {
  const [count, seed, bad] = process.argv.slice(2);
  const h = largeHistory(Number(count), Number(seed));
  if (bad === 'corrupt') corrupt(h);
  const t0 = Date.now();
  const res = checkAgainstLog(h.log, h.produces, h.reads);
  process.stdout.write(
    JSON.stringify({
      outcome: res.outcome,
      explanation: res.outcome === 'illegal' ? res.explanation : undefined,
      produces: h.produces.length,
      reads: h.reads.length,
      records: h.log.length,
      ms: Date.now() - t0,
      heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    }) + '\n',
  );
}
