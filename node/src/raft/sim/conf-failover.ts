/**
 * Leader failures in the middle of a membership change, the moments when a node's
 * configuration is most likely to be wrong (Raft thesis §4.1: a server uses the latest
 * configuration in its log, committed or not, and must go back to the previous one when a
 * conflict truncates that entry). Two shapes, each drawn right after a leader's
 * configuration change was accepted:
 * - **cut off with the entry**: the leader is cut off from everyone before its entry leaves,
 *   so the entry stays uncommitted on it alone while the others elect; the partition heals
 *   as soon as one of them campaigns in a higher term (it wins with the others' votes, the old
 *   leader being the one that refuses), and the new leader's election entry truncates the
 *   old leader's suffix, configuration entry included, before the new leader's commit index
 *   covers those indexes: until then the old leader's configuration must be the previous one;
 * - **dies after a promotion without the learner**: the learner being promoted is cut off
 *   (it heard the leader until then) and the promotion commits on the other voters; an
 *   election timeout or two later the leader loses power and the learner's link comes back.
 *   The voters left count the learner as a voter and need its vote, while its own log still
 *   makes it a learner that cannot campaign: it must stop ignoring candidates once its leader
 *   lease has run out (lease-rule.ts), or nobody is elected.
 *
 * Pure: the simulator reports each accepted change and what it sees each step, and applies
 * what this returns. Deterministic for a given RNG.
 */
import type { RaftStatus } from '../core/raw-node.js';
import type { ConfChange, NodeId } from '../core/types.js';

/** What the simulator sees each step. */
export interface FailoverView {
  readonly now: number;
  /** The commit index of node `id` (undefined when it is down). */
  commitOf(id: NodeId): number | undefined;
  /** The running leader of the highest term, if any. */
  readonly leader: { readonly id: NodeId; readonly term: number } | undefined;
  /** The voters of the configuration in force at that leader. */
  readonly voters: readonly NodeId[];
  /** Every node. */
  readonly all: readonly NodeId[];
}

/** What to do now. */
export type FailoverAction =
  | { readonly type: 'cut-off-leader'; readonly leader: NodeId }
  | { readonly type: 'swap'; readonly island: readonly NodeId[]; readonly note: string }
  | { readonly type: 'rejoin'; readonly leader: NodeId }
  | { readonly type: 'isolate-learner'; readonly learner: NodeId }
  | { readonly type: 'fail-leader'; readonly leader: NodeId; readonly learner: NodeId };

/** Half the accepted changes of the simulator's random membership stream start one of the two shapes; every accepted operator change does. */
const RATE = 0.5;
/** The operator's own changes (about one per 50 units while no partition runs, and each learner's promotion as soon as it caught up, {@link ConfFailover.wantsChange}). */
const OPERATOR_RATE = 0.02;
/** Gives up on a promotion that has not committed after this many units. */
const GIVE_UP = 400;

interface CutOff {
  readonly kind: 'cut-off' | 'swapped';
  readonly leader: NodeId;
  readonly term: number;
  readonly index: number;
  readonly giveUpAt: number;
}

interface Pending {
  readonly kind: 'promotion';
  readonly leader: NodeId;
  readonly learner: NodeId;
  readonly index: number;
  /** The leader fails no earlier than this (the learner's lease runs out meanwhile, or ends up cycling). */
  readonly failAt: number;
  readonly giveUpAt: number;
}

/** Draws the failovers and follows a pending one. */
export class ConfFailover {
  private pending: Pending | CutOff | null = null;

  /** `rand` is this fault's own stream; `minIsolation` is how long (units) the learner stays cut off before the leader fails. */
  constructor(
    private readonly rand: () => number,
    private readonly minIsolation: number,
  ) {}

  /** True while a failover is under way (no other partition should start). */
  get active(): boolean {
    return this.pending !== null;
  }

  /**
   * An operator's reconciliation, on this stream (at `k` times the base rate): the change a
   * leader in `st` should make next (promote a caught-up learner, add one, or scale down
   * from above three voters), `'add'` for a learner the caller must create first, or nothing.
   * `ready`: the leader has committed an entry of its term (the core refuses changes before).
   */
  wantsChange(k: number, st: RaftStatus, ready: boolean): ConfChange | 'add' | undefined {
    if (this.pending !== null || !ready) return undefined;
    // A learner is promoted as soon as it holds everything committed (what the core requires;
    // under steady traffic that is a moment, so it is watched at every step).
    const learner = st.activeConf.learners[0];
    const match = st.progress?.find((p) => p.id === learner)?.match ?? -1;
    if (learner !== undefined) return match >= st.commit ? { type: 'promote', node: learner } : undefined;
    if (this.rand() >= OPERATOR_RATE * k) return undefined;
    if (st.activeConf.voters.length < 5 && (st.activeConf.voters.length < 4 || this.rand() < 0.5)) return 'add';
    const others = st.activeConf.voters.filter((v) => v !== st.id);
    const victim = others[Math.floor(this.rand() * others.length)];
    return st.activeConf.voters.length > 3 && victim !== undefined ? { type: 'remove', node: victim } : undefined;
  }

  /**
   * `leader` had configuration change `cc` accepted at `index` at time `now`; `canPartition`:
   * no other partition runs; `operator`: it was {@link wantsChange}'s (a promotion then always
   * fails over without the learner, any other change cuts the leader off with its entry).
   */
  accepted(
    now: number,
    leader: NodeId,
    term: number,
    cc: ConfChange,
    index: number,
    canPartition: boolean,
    operator = false,
  ): FailoverAction | undefined {
    const rate = operator ? 1 : RATE;
    if (this.pending !== null || !canPartition || this.rand() >= rate) return undefined;
    if (cc.type === 'promote' && (operator || this.rand() < 0.5)) {
      this.pending = {
        kind: 'promotion',
        leader,
        learner: cc.node,
        index,
        failAt: now + this.minIsolation + Math.floor(this.rand() * this.minIsolation),
        giveUpAt: now + GIVE_UP + 2 * this.minIsolation,
      };
      return { type: 'isolate-learner', learner: cc.node };
    }
    this.pending = { kind: 'cut-off', leader, term, index, giveUpAt: now + GIVE_UP + 2 * this.minIsolation };
    return { type: 'cut-off-leader', leader };
  }

  /**
   * Follows a pending failover: a cut-off leader rejoins once another node campaigns in a later term; after a promotion the leader fails once the promotion committed on it and the
   * learner was cut off long enough.
   */
  step(view: FailoverView): FailoverAction | { readonly type: 'give-up'; readonly why: string } | undefined {
    const p = this.pending;
    if (p === null) return undefined;
    if (p.kind === 'cut-off') {
      // The others elected a leader of a later term: the island becomes that leader, the old
      // one and as few others as make a majority, so the new leader's election entry commits
      // only through the old leader, which must first cut its suffix.
      const lead = view.leader;
      if (lead !== undefined && lead.term > p.term && lead.id !== p.leader) {
        const others = view.voters.filter((v) => v !== lead.id && v !== p.leader);
        const need = Math.max(0, Math.floor(view.voters.length / 2) + 1 - 2);
        const island = [
          lead.id,
          p.leader,
          ...others.slice(0, need),
          ...view.all.filter((x) => !view.voters.includes(x)),
        ];
        this.pending = { ...p, kind: 'swapped', giveUpAt: view.now + GIVE_UP };
        return { type: 'swap', island, note: `${lead.id} leads term ${lead.term}, ${p.leader} rejoins it` };
      }
      if (view.now < p.giveUpAt) return undefined;
      this.pending = null;
      return { type: 'give-up', why: `no leader elected after term ${p.term}` };
    }
    if (p.kind !== 'promotion') {
      const c = view.commitOf(p.leader);
      if (c !== undefined && c < p.index && view.now < p.giveUpAt) return undefined;
      this.pending = null;
      return { type: 'rejoin', leader: p.leader };
    }
    const commit = view.commitOf(p.leader);
    if (commit === undefined || view.now >= p.giveUpAt) {
      this.pending = null;
      return { type: 'give-up', why: commit === undefined ? `${p.leader} is down` : `${p.index} not committed` };
    }
    if (commit < p.index || view.now < p.failAt) return undefined;
    this.pending = null;
    return { type: 'fail-leader', leader: p.leader, learner: p.learner };
  }

  /** Drops a pending failover (the faults are over). */
  stop(): void {
    this.pending = null;
  }
}
