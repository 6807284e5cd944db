/**
 * Drives the membership-change failovers of conf-failover.ts in a simulator run: applies
 * what a {@link ConfFailover} returns to the cluster (partitions, a power cut, heals), and
 * makes the operator's reconciliation changes it asks for. Split from simulate.ts, whose
 * run state it borrows through {@link FailoverContext}.
 */
import type { RawNode } from '../core/raw-node.js';
import type { ConfChange, NodeId, ProposeResult } from '../core/types.js';
import type { SimCluster } from './cluster.js';
import type { ConfFailover } from './conf-failover.js';
import type { ChurnView } from './leader-churn.js';
import { SimDiskNode } from './sim-disk-node.js';
import type { SimMember } from './sim-member.js';

/** What the driver needs of the run. */
export interface FailoverContext {
  readonly c: SimCluster;
  readonly failover: ConfFailover;
  readonly keep: (line: string) => void;
  readonly stats: { crashes: number; powerCuts: number; confChanges: number };
  readonly downUntil: Map<NodeId, number>;
  readonly rand: () => number;
  /** The fault intensity. */
  readonly k: number;
  readonly disk: boolean;
  readonly membership: boolean;
  /** No other partition runs and partitions are on for this seed. */
  readonly canPartition: () => boolean;
  readonly churnView: () => ChurnView;
  /** Arms a disk node's aimed power cuts (simulate.ts). */
  readonly arm: (n: SimMember) => void;
  readonly newNodeId: () => NodeId;
}

/** The run's hooks: `proposeConf` for every configuration change, `followFailover` and `operatorChange` once per faulty step. */
export function failoverDriver(x: FailoverContext): {
  proposeConf: (leader: NodeId, raw: RawNode, cc: ConfChange, operator?: boolean) => ProposeResult;
  followFailover: () => void;
  operatorChange: () => Promise<void>;
} {
  const proposeConf = (leader: NodeId, raw: RawNode, cc: ConfChange, operator = false): ProposeResult => {
    const res = raw.proposeConfChange(cc);
    const act = res.ok
      ? x.failover.accepted(x.c.now, leader, res.term, cc, res.index, x.canPartition(), operator)
      : undefined;
    const cut = act?.type === 'cut-off-leader' ? leader : act?.type === 'isolate-learner' ? act.learner : undefined;
    if (cut !== undefined) {
      x.keep(`${x.c.now} ${leader}'s ${cc.type} ${cc.node}: partition [${cut}] | rest`);
      x.c.net.partition([[cut]]);
    }
    return res;
  };
  let failoverDisarmed: SimMember | undefined;
  const followFailover = (): void => {
    const commitOf = (id: NodeId) =>
      x.c.nodes.get(id)?.up === true ? x.c.nodes.get(id)?.raw?.status().commit : undefined;
    const view = x.churnView();
    const top = view.leaders.reduce<(typeof view.leaders)[number] | undefined>(
      (a, b) => (a === undefined || b.term > a.term ? b : a),
      undefined,
    );
    const act = x.failover.step({ now: x.c.now, commitOf, leader: top, voters: view.voters, all: view.all });
    if (act === undefined) return;
    if (act.type === 'fail-leader') {
      const n = x.c.node(act.leader);
      x.keep(`${x.c.now} ${act.leader} loses power after promoting ${act.learner}`);
      n.crash('power');
      if (n instanceof SimDiskNode) x.stats.powerCuts++;
      x.stats.crashes++;
      x.downUntil.set(n.id, x.c.now + 50 + Math.floor(x.rand() * 300));
    }
    // No aimed power cuts while a failover runs (they would restart the node it is about).
    const old = act.type === 'swap' ? undefined : failoverDisarmed;
    if (old !== undefined) x.arm(old);
    failoverDisarmed = undefined;
    if (act.type === 'swap') {
      const n = x.c.node(act.island[1] ?? '');
      if (n instanceof SimDiskNode) {
        n.aimedCutRate = n.renameCutRate = n.momentCutRate = 0;
        failoverDisarmed = n;
      }
      x.keep(`${x.c.now} failover: ${act.note}: partition [${act.island.join(' ')}] | rest`);
      x.c.net.partition([act.island]);
      return;
    }
    x.keep(`${x.c.now} failover ${act.type}${act.type === 'give-up' ? ` (${act.why})` : ''}: heal`);
    x.c.net.heal();
  };

  /** The operator's reconciliation on the failover's stream: each change it makes may fail its leader over. */
  const operatorChange = async (): Promise<void> => {
    const lead = x.c.leader();
    if (lead?.raw == null || !x.membership || !x.canPartition()) return;
    const st = lead.raw.status();
    const want = x.failover.wantsChange(x.k, st, lead.raw.termAt(st.commit) === st.term);
    if (want === undefined) return;
    let cc = want;
    if (cc === 'add') {
      const joiner = x.c.addNode(x.newNodeId(), null);
      x.arm(joiner);
      if (x.disk) await joiner.start();
      cc = { type: 'addLearner', node: joiner.id };
    }
    const res = proposeConf(lead.id, lead.raw, cc, true);
    x.keep(`${x.c.now} operator's conf change by ${lead.id}: ${cc.type} ${cc.node}: ${JSON.stringify(res)}`);
    if (res.ok) x.stats.confChanges++;
  };

  return { proposeConf, followFailover, operatorChange };
}
