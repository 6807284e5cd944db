/**
 * The chaos tier's verdict over one run (pure): the producers' outcomes, the consumer's reads
 * and every node's final log. Violations: nodes' logs differ; an acknowledged record missing
 * or not at its acknowledged offset; any value twice; a read that disagrees with the final
 * log; and a history that, followed by the final log, is not linearizable against the
 * sequential log (node/src/raft/lincheck/against-log.ts: the lincheck question decided in one
 * pass, linear memory).
 */
import type { Operation } from '../../node/src/raft/lincheck/history.js';
import { checkAgainstLog } from '../../node/src/raft/lincheck/against-log.js';

/** One produce call: `offset` when acknowledged, `error` otherwise (outcome unknown). */
export interface ProduceOutcome {
  readonly producer: number;
  readonly value: string;
  /** Logical event numbers (strictly increasing over the whole run). */
  readonly call: number;
  readonly ret: number;
  /** Wall-clock completion time (ms), for failover times. */
  readonly at: number;
  readonly sentAt: number;
  readonly offset?: number;
  readonly error?: string;
}

/** One consume call that returned: the value, or null for "not yet" (OUT_OF_RANGE). */
export interface ReadOutcome {
  readonly offset: number;
  readonly value: string | null;
  readonly call: number;
  readonly ret: number;
}

/** What the checks found. */
export interface Verdict {
  readonly problems: string[];
  readonly acked: number;
  readonly failedCalls: number;
  readonly failedButWritten: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly records: number;
  readonly reads: number;
  readonly linearizable: 'ok' | 'illegal';
}

/** Checks one run; time and memory linear in the history and the logs. */
export function verdict(
  logs: ReadonlyMap<string, readonly string[]>,
  produces: readonly ProduceOutcome[],
  reads: readonly ReadOutcome[],
): Verdict {
  const problems: string[] = [];
  const entries = [...logs.entries()];
  const [firstName, reference] = entries[0] ?? ['', []];
  for (const [name, log] of entries.slice(1)) {
    const diff = log.findIndex((v, i) => v !== reference[i]);
    if (log.length !== reference.length || diff !== -1)
      problems.push(
        `${name} differs from ${firstName}: ${log.length} vs ${reference.length} records` +
          (diff === -1 ? '' : `, first difference at offset ${diff}`),
      );
  }
  const positions = new Map<string, number[]>();
  reference.forEach((v, i) => positions.set(v, [...(positions.get(v) ?? []), i]));
  let duplicates = 0;
  for (const [v, at] of positions)
    if (at.length > 1) {
      duplicates += at.length - 1;
      if (duplicates <= 10) problems.push(`${v} appears ${at.length} times, at offsets ${at.join(', ')}`);
    }
  let lost = 0;
  let acked = 0;
  let failedButWritten = 0;
  for (const o of produces) {
    const at = positions.get(o.value) ?? [];
    if (o.offset !== undefined) {
      acked++;
      if (at.length === 0) {
        lost++;
        if (lost <= 10) problems.push(`acknowledged ${o.value} (offset ${o.offset}) is missing`);
      } else if (at[0] !== o.offset) problems.push(`acknowledged ${o.value} at offset ${o.offset} is at ${at[0]}`);
    } else if (at.length > 0) failedButWritten++;
  }
  for (const r of reads)
    if (r.value !== null && reference[r.offset] !== r.value)
      problems.push(`read(${r.offset}) returned ${r.value}, the final log has ${String(reference[r.offset])}`);
  const lin = checkAgainstLog(reference, produces, reads);
  if (lin.outcome === 'illegal') problems.push(`history not linearizable: ${lin.explanation.slice(0, 2000)}`);
  return {
    problems,
    acked,
    failedCalls: produces.length - acked,
    failedButWritten,
    lost,
    duplicates,
    records: reference.length,
    reads: reads.length,
    linearizable: lin.outcome,
  };
}

/**
 * The run as a lincheck history (node/src/raft/lincheck/): failed produces are indeterminate
 * (ret = Infinity). With `finalLog`, the final reads follow: `read(o) -> finalLog[o]` for each
 * offset and `read(finalLog.length) -> not-yet`, after every other event (client 1001).
 */
export function toHistory(
  produces: readonly ProduceOutcome[],
  reads: readonly ReadOutcome[],
  finalLog?: readonly string[],
): Operation[] {
  let t = [...produces, ...reads].reduce((m, o) => (o.ret !== Infinity && o.ret > m ? o.ret : m), 0);
  const final = (offset: number, value: string | null): Operation => ({
    client: 1001,
    input: { kind: 'read', offset },
    call: ++t,
    ret: ++t,
    output: { kind: 'read', value },
  });
  const tail = finalLog === undefined ? [] : [...finalLog.map((v, o) => final(o, v)), final(finalLog.length, null)];
  return [
    ...produces.map((p) => ({
      client: p.producer,
      input: { kind: 'produce' as const, value: p.value },
      call: p.call,
      ret: p.offset === undefined ? Infinity : p.ret,
      output: p.offset === undefined ? null : { kind: 'produce' as const, offset: p.offset },
    })),
    ...reads.map((r) => ({
      client: 1000,
      input: { kind: 'read' as const, offset: r.offset },
      call: r.call,
      ret: r.ret,
      output: { kind: 'read' as const, value: r.value },
    })),
    ...tail,
  ];
}

/** Nearest-rank percentile of `xs` (p in 0..100); undefined when empty. */
export function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
