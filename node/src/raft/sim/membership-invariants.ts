/**
 * Membership invariants (Raft thesis §4.1–4.2), checked by the simulator beside the
 * Figure 3 ones (invariants.ts). The checker sees every configuration entry a node writes
 * to its log, decodes it itself, and compares with what the node says is in force:
 * - the configuration in force is the latest configuration entry in the node's log,
 *   committed or not, else the one of its snapshot, else its bootstrap configuration
 *   (§4.1; on a snapshot install, the snapshot's configuration); checked after every step
 *   once the log is all written, and at every Ready against the log the core holds then
 *   (what is written plus the Ready's entries), so that a wrong configuration is seen at the
 *   delivery that caused it even when a later delivery (a commit) repairs it before the
 *   write completes;
 * - a leader's log never holds two configuration entries above the highest committed
 *   index (one single-server change at a time, §4.1);
 * - a leader appends a configuration entry only once it has committed an entry of its
 *   own term (the fix of the single-server change bug, Ongaro's raft-dev post of 2015);
 * - a leader whose removal committed does not lead any more (§4.2.2): it is a voter of its
 *   committed configuration or of the one in force.
 */
import { decodeConfEntry } from '../core/conf-codec.js';
import type { RaftStatus } from '../core/raw-node.js';
import type { ConfState, Entry, LogIndex, NodeId, Ready } from '../core/types.js';
import { InvariantViolation } from './invariant-violation.js';
import type { SimMember } from './sim-member.js';

interface ConfEntrySeen {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

const key = (c: ConfState): string => `${[...c.voters].sort().join(',')}|${[...c.learners].sort().join(',')}`;
const show = (c: ConfState): string => `voters (${c.voters.join(' ')}) learners (${c.learners.join(' ')})`;

/** Tracks each node's configuration entries and checks the membership rules. */
export class MembershipChecker {
  private readonly logs = new Map<NodeId, ConfEntrySeen[]>();
  /** First index of each leader's term (`id@term`): the entry it appended on election. */
  private readonly termStart = new Map<string, number>();

  /** Entries about to be written to `node`'s log (they replace its suffix from the first index). */
  writing(node: SimMember, ents: readonly Entry[], leaderCommit: (id: NodeId) => RaftStatus | undefined): void {
    const first = ents[0];
    if (first === undefined) return;
    const log = (this.logs.get(node.id) ?? []).filter((c) => c.index < first.index);
    const st = leaderCommit(node.id);
    for (const e of ents) {
      if (e.type !== 'config') continue;
      log.push({ index: e.index, term: e.term, conf: decodeConfEntry(e.data).conf });
      if (st?.role === 'leader' && e.term === st.term) {
        const start = this.termStart.get(`${node.id}@${st.term}`);
        if (start !== undefined && st.commit < start)
          throw new InvariantViolation(
            'membership rule',
            `${node.id} appended configuration entry ${e.index}/${e.term} before committing an entry of term ${st.term} (commit ${st.commit} < ${start})`,
          );
      }
    }
    this.logs.set(node.id, log);
  }

  /** A node (re)started: its configuration entries are re-read from what its storage holds (a cut persist may have left more or fewer). */
  restarted(node: SimMember): void {
    const s = node.storage;
    const lo = s.firstIndex();
    const hi = s.lastIndex();
    const log: ConfEntrySeen[] = [];
    if (hi >= lo)
      for (const e of s.entries(lo, (hi + 1) as LogIndex, Number.MAX_SAFE_INTEGER))
        if (e.type === 'config') log.push({ index: e.index, term: e.term, conf: decodeConfEntry(e.data).conf });
    this.logs.set(node.id, log);
  }

  /** Checks the running nodes after a simulator step; `committedMax` is the highest index known committed. */
  step(nodes: Iterable<SimMember>, committedMax: number): void {
    for (const n of nodes) {
      const raw = n.raw;
      if (raw === null) continue;
      const st = raw.status();
      if (st.role === 'leader') {
        const k = `${n.id}@${st.term}`;
        if (!this.termStart.has(k)) {
          // The first entry of its term (clients may have proposed after its election entry).
          let i = st.lastIndex;
          while (i > 1 && raw.termAt((i - 1) as LogIndex) === st.term) i--;
          this.termStart.set(k, i);
        }
        // A leader may lead while its removal is uncommitted (§4.2.2) or while its promotion is
        // (the configuration in force is the latest one, §4.1), not once a removal committed.
        if (!st.confState.voters.includes(n.id) && !st.activeConf.voters.includes(n.id))
          throw new InvariantViolation(
            'removed leader still leads',
            `${n.id} leads term ${st.term} but its committed configuration is ${show(st.confState)}`,
          );
      }
      const log = (this.logs.get(n.id) ?? []).filter(
        (c) => c.index <= st.lastIndex && raw.termAt(c.index as LogIndex) === c.term,
      );
      if (st.role === 'leader') {
        const above = log.filter((c) => c.index > committedMax);
        if (above.length > 1)
          throw new InvariantViolation(
            'membership rule',
            `${n.id} leading term ${st.term} holds ${above.length} configuration entries above the committed index ${committedMax}: ${above.map((c) => `${c.index}/${c.term}`).join(' ')}`,
          );
      }
      // Only a node whose log is all written (no Ready pending or waiting) is compared:
      // entries appended but not yet written are not visible here.
      if (n.pending !== null || raw.hasReady()) continue;
      const snap = n.storage.snapshot();
      inForce(n.id, st.activeConf, log, snap.index, snap.confState);
    }
  }

  /**
   * A node took a Ready: its core's log is what it has written (every earlier Ready was
   * persisted) with `rd.entries` replacing the suffix from their first index, above
   * `rd.snapshot` when it installs one. The configuration in force must be the latest
   * configuration entry of that log already now, before the write.
   */
  ready(node: SimMember, rd: Ready): void {
    const raw = node.raw;
    if (raw === null) return;
    const st = raw.status();
    const first = rd.entries[0]?.index ?? Infinity;
    const log = (this.logs.get(node.id) ?? []).filter(
      (c) => c.index < first && raw.termAt(c.index as LogIndex) === c.term,
    );
    for (const e of rd.entries)
      if (e.type === 'config') log.push({ index: e.index, term: e.term, conf: decodeConfEntry(e.data).conf });
    const snap = rd.snapshot ?? node.storage.snapshot();
    inForce(node.id, st.activeConf, log, snap.index, snap.confState);
  }
}

/** Throws unless `active` is the latest configuration of `log` above the snapshot at `snapIndex`, else the snapshot's (at index 0 the bootstrap configuration). */
function inForce(
  id: NodeId,
  active: ConfState,
  log: readonly ConfEntrySeen[],
  snapIndex: number,
  snapConf: ConfState,
): void {
  const latest = log.filter((c) => c.index > snapIndex).at(-1);
  // At index 0 the storage's snapshot carries the bootstrap configuration (none for a joining node).
  const want = latest?.conf ?? snapConf;
  if (key(want) !== key(active))
    throw new InvariantViolation(
      'configuration in force',
      `${id} has ${show(active)} in force, but the latest configuration in its log${latest !== undefined ? ` (${latest.index}/${latest.term})` : snapIndex > 0 ? ' (its snapshot)' : ' (none: its bootstrap configuration)'} is ${show(want)}`,
    );
}
