/**
 * The simulator's end-of-run checks on a healed cluster (simulate.ts): no value twice in any
 * log (exactly-once runs), a last power cycle of every disk node, and the client history
 * against the linearizability checker.
 */
import { checkLinearizable } from '../lincheck/check.js';
import type { SimClients } from './clients.js';
import { NOT_LINEARIZABLE } from './invariant-violation.js';
import { resolveProduces } from './resolve-produces.js';
import { SimDiskNode } from './sim-disk-node.js';
import type { SimMember } from './sim-member.js';
import { DUPLICATE_RECORD, type SimStats } from './sim-options.js';

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

/**
 * Checks the clients' history (produces resolved against what took effect: `inLog` values at
 * their committed `offsets`); throws NOT_LINEARIZABLE with the checker's explanation.
 */
export function checkHistory(
  clients: SimClients,
  inLog: ReadonlySet<string>,
  offsets: Parameters<typeof resolveProduces>[1],
): { linearizable: SimStats['linearizable']; lincheckSteps: number } {
  const verdict = checkLinearizable(
    resolveProduces(
      clients.checkedHistory((v) => inLog.has(v)),
      offsets,
    ),
  );
  if (verdict.outcome === 'illegal') throw new Error(`${NOT_LINEARIZABLE}: ${verdict.explanation}`);
  return { linearizable: verdict.outcome, lincheckSteps: verdict.steps };
}
