/**
 * The simulator's end-of-run checks on a healed cluster (simulate.ts): no value twice in any
 * log (exactly-once runs), a last power cycle of every disk node, and the client history
 * against the linearizability checks (also the production-loop driver's, loop-checks.ts).
 */
import { checkHistoryAgainstLog } from '../lincheck/against-log.js';
import { checkLinearizable } from '../lincheck/check.js';
import type { Operation } from '../lincheck/history.js';
import { NOT_LINEARIZABLE } from './invariant-violation.js';
import { SimDiskNode } from './sim-disk-node.js';
import type { SimMember } from './sim-member.js';
import { DUPLICATE_RECORD } from './sim-options.js';

/** Exactly-once: every value is produced by one operation, so no log may hold it twice (throws DUPLICATE_RECORD). */
export function assertNoValueTwice(nodes: Iterable<SimMember>): void {
  for (const n of nodes) {
    const seen = new Set<string>();
    for (const r of n.sm.records)
      if (seen.has(r.value)) throw new Error(`${DUPLICATE_RECORD}: ${n.id} holds "${r.value}" twice`);
      else seen.add(r.value);
  }
}

/**
 * Last power cut: every running disk node must reopen with all it made durable (a torn tail
 * or a resurrected segment that recovery left behind shows here even if no later crash hit it).
 */
export async function powerCycleDiskNodes(nodes: Iterable<SimMember>): Promise<void> {
  for (const n of nodes) {
    if (!(n instanceof SimDiskNode)) continue;
    n.crash('power');
    await n.start();
  }
}

/** The verdict of the end-of-run linearizability check (both drivers). */
export interface HistoryVerdict {
  readonly linearizable: 'ok' | 'unknown';
  /** Steps of the generic search (0 when the one-pass check decided alone). */
  readonly lincheckSteps: number;
}

/** The error prefix when the one-pass check and the generic search disagree (`crossCheck`). */
export const CHECKS_DISAGREE = 'linearizability checks disagree';

/**
 * Checks a history at the end of a run; throws NOT_LINEARIZABLE with the explanation.
 *
 * With the healed cluster's committed log known in full (`finalLog`), the one-pass check
 * against it decides (lincheck/against-log.ts: linear memory; the simulator fits its
 * assumptions: every produce call that may have taken effect is in the history, as
 * indeterminate when unanswered, and each call has a value of its own, kept by its retries).
 * Without it, or with `crossCheck`, the generic search runs on `searched()` (the history with
 * produces resolved against the log, resolve-produces.ts); with `crossCheck` a verdict of the
 * search other than the one-pass one throws CHECKS_DISAGREE (an unknown one does not).
 */
export function checkHistory(
  history: readonly Operation[],
  finalLog: readonly string[] | undefined,
  searched: () => Operation[],
  crossCheck = false,
): HistoryVerdict {
  const onePass = finalLog === undefined ? undefined : checkHistoryAgainstLog(finalLog, history);
  const search = onePass === undefined || crossCheck ? checkLinearizable(searched()) : undefined;
  if (
    onePass !== undefined &&
    search !== undefined &&
    search.outcome !== 'unknown' &&
    search.outcome !== onePass.outcome
  )
    throw new Error(
      `${CHECKS_DISAGREE}: one pass against the final log ${onePass.outcome}, generic search ${search.outcome}` +
        (onePass.outcome === 'illegal'
          ? ` (${onePass.explanation})`
          : search.outcome === 'illegal'
            ? ` (${search.explanation})`
            : ''),
    );
  const verdict = onePass ?? search;
  if (verdict === undefined) throw new Error('checkHistory: no check ran');
  if (verdict.outcome === 'illegal') throw new Error(`${NOT_LINEARIZABLE}: ${verdict.explanation}`);
  return { linearizable: verdict.outcome, lincheckSteps: search?.steps ?? 0 };
}
