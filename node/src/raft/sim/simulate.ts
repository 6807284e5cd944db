/**
 * The randomized simulator: one seed = one deterministic run of a cluster under a
 * lossy, reordering, partitioning network, drifting clocks and occasional slow fsyncs
 * (a Ready's writes become durable 0–2 units later, 3% of the time 20–50), with crashes
 * that lose what was not yet durable (often mid-persist, between the log write and the
 * stable-state write), restarts, membership changes,
 * leadership transfers, snapshots, a deposed leader's held-back appends replayed just after a
 * follower acknowledged the new leader (stale-replay.ts), a majority island that keeps moving
 * and cuts off each new leader right after it wins (leader-churn.ts), leader failures in the
 * middle of a membership change (conf-failover.ts) and client traffic, checking the
 * invariants after every time step, then healing everything, checking that a leader commits
 * again in bounded time (liveness.ts), that no acknowledged record was lost and that the
 * client history is linearizable.
 */
import { raftConfig } from '../core/config.js';
import { nodeId, type NodeId } from '../core/types.js';
import { seededRng } from '../core/env.js';
import { SimClients } from './clients.js';
import { committedLog, committedOffsets, committedValues } from './committed-values.js';
import { SimCluster } from './cluster.js';
import { SimDiskNode } from './sim-disk-node.js';
import type { SimMember } from './sim-member.js';
import { SimNode } from './sim-node.js';
import { StaleAppendReplay, StaleVoteReplay } from './stale-replay.js';
import { LeaderChurn, type ChurnAction } from './leader-churn.js';
import { assertNoValueTwice, checkHistory, powerCycleDiskNodes } from './final-checks.js';
import { formatStatus } from './format.js';
import { LivenessCheck, livenessBound } from './liveness.js';
import { ConfFailover } from './conf-failover.js';
import { failoverDriver } from './failover-driver.js';
import { resolveProduces } from './resolve-produces.js';
import { replayCommand, type SimOptions, type SimResult } from './sim-options.js';

const TICK = 10;

/** Runs one seed. Never throws for protocol failures: they come back as `ok: false` with the seed and replay command. */
export async function simulate(opts: SimOptions): Promise<SimResult> {
  const trace: string[] = [];
  const keep = (l: string): void => {
    if (opts.verbose === true) process.stdout.write(`${l}\n`);
    trace.push(l);
    if (trace.length > 400) trace.splice(0, 100);
  };
  const k = opts.intensity ?? 1;
  const disk = opts.powerCuts === true;
  const raft = opts.seed % 4 === 3 ? { checkQuorum: false } : opts.seed % 4 === 1 ? { maxEntryBatchCount: 3 } : {};
  // Liveness once everything healed (liveness.ts), bounded by election timeouts of the slowest clock (TICK + 2).
  const { electionTicks } = raftConfig(nodeId('n1'), raft, 'test');
  const liveness = new LivenessCheck(livenessBound({ electionTicks }, TICK + 2));
  const c = new SimCluster({
    seed: opts.seed,
    faults: {
      dropRate: Math.min(0.5, 0.05 * k),
      dupRate: 0.02 * k,
      minDelay: 1,
      maxDelay: 12 * k,
      slowRate: 0.02 * k,
      slowDelay: 150,
    },
    trace: keep,
    disk,
    // Odd seeds tear writes at any byte, even ones in whole 32-byte sectors, as a disk writes
    // sectors (scaled down with the 512-byte segments).
    sectorBytes: opts.seed % 2 === 0 ? 32 : 1,
    // One seed in four runs without check-quorum: a deposed leader then keeps believing it
    // leads until it hears a higher term, so only ReadIndex's heartbeat round keeps reads safe.
    // One in four sends appends of at most 3 entries (large records, a byte-limited batch): a
    // follower then catches up in many appends, and a new leader hears acknowledgements of an
    // earlier term's entries before any of its no-op (the Figure 8 window, §5.4.2).
    raft,
  });
  const rand = c.rand;
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
  const voters = opts.voters ?? 3;
  /** Disk backend: cuts aimed after structural file operations, now and then after a stable-state replace. */
  const arm = (n: SimMember): void => {
    if (!(n instanceof SimDiskNode) || opts.crashes === false) return;
    n.aimedCutRate = 0.5 * k;
    n.renameCutRate = 0.1;
    n.momentCutRate = Math.min(1, 0.3 * k);
  };
  const ids: NodeId[] = [];
  for (let i = 1; i <= voters; i++) ids.push(nodeId(`n${i}`));
  const started = (async () => {
    for (const id of ids) {
      const n = c.addNode(id, { voters: ids, learners: [] });
      arm(n);
      if (disk) await n.start(); // a MemoryStorage node starts in its constructor
    }
  })();
  const phase = new Map<NodeId, number>();
  const period = new Map<NodeId, number>();
  const clients = new SimClients(c, opts.clients ?? 6, {
    timeout: 40 * TICK,
    staleReads: opts.staleReads === true,
    earlyAcks: opts.earlyAcks === true,
    opRate: 0.05,
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    // The real client re-resolves every 5 s, 2.5–5 election timeouts of the default tick.
    refresh: 40 * TICK,
  });
  const downUntil = new Map<NodeId, number>();
  const persistAt = new Map<NodeId, number>();
  /**
   * Disk backend: nodes that just sent a vote grant or an append acknowledgement, to be
   * power-cut before anything else happens. Harmless when the promise was durable when sent;
   * it is how the simulator catches a node that answers before its fsync.
   */
  const cutSoon = new Set<NodeId>();
  const replay = new StaleAppendReplay(seededRng(opts.seed ^ 0x57a1e).nextFloat);
  // Not on the seeds without check-quorum: a replayed append makes its recipient answer the
  // deposed leader with the new term, which would close the window in which a deposed leader
  // still serves reads, the fault those seeds exist for.
  let replaying = opts.seed % 4 !== 3;
  // Its own stream, so that the other faults draw what they drew before it existed (until
  // the partitions it makes change the run).
  const churn = new LeaderChurn(seededRng(opts.seed ^ 0xc4a2e).nextFloat);
  /**
   * Leader failures in the middle of a membership change (conf-failover.ts), on their own
   * stream: the leader cut off with its new entry (a churn episode), or a promotion that
   * commits without the learner, then the leader's power fails.
   */
  const failover = new ConfFailover(seededRng(opts.seed ^ 0xfa11).nextFloat, 2 * electionTicks * TICK);
  // An earlier term's vote grant, held back, reaches a candidate of a later term (stale-replay.ts; own stream).
  const voteReplay = new StaleVoteReplay(seededRng(opts.seed ^ 0x5707e).nextFloat);
  c.sendTap = (m) => {
    const staleVote = voteReplay.sent(m);
    if (staleVote !== undefined) {
      keep(`${c.now} replay ${staleVote.from}'s term ${staleVote.term} vote grant to ${staleVote.to}`);
      c.net.inject(c.now, staleVote, 1);
    }
    if (replaying && opts.partitions !== false) {
      // A deposed leader's append, held back by the network, lands right after the follower
      // acknowledged the new leader's entries at the same indexes (stale-replay.ts).
      const commit = m.type === 'appendResp' && m.success ? (c.nodes.get(m.from)?.raw?.status().commit ?? 0) : 0;
      const stale = replay.sent(m, commit);
      if (stale !== undefined && rand() < Math.min(1, 0.8 * k)) {
        keep(
          `${c.now} replay ${stale.from}'s term ${stale.term} append (${stale.prevIndex}/${stale.prevTerm} +${stale.entries.length}) to ${stale.to}`,
        );
        c.net.inject(c.now, stale, 1);
      }
    }
    // No crash while a failover runs: it needs the others up (conf-failover.ts).
    if (!disk || opts.crashes === false || failover.active) return;
    const p = m.type === 'voteResp' && m.granted ? 0.2 * k : m.type === 'appendResp' && m.success ? 0.004 * k : 0;
    if (p > 0 && rand() < p) cutSoon.add(m.from);
  };
  /**
   * Disk backend: nodes whose next persist loses power at a random file operation (or right
   * after it, before it sends anything): a node that just cut its log (the disk a truncation
   * left behind meets the next writes), and now and then a node that just came back from a
   * power cut (a second cut on a freshly recovered disk: what recovery repaired must be durable).
   */
  const cutNext = new Map<NodeId, string>();
  let healAt = -1;
  let clientsOn = true;
  let nextId = voters + 1;
  const stats = { crashes: 0, confChanges: 0, snapshots: 0, powerCuts: 0 };
  const duration = opts.duration ?? 3000;

  const stepTime = async (faulty: boolean): Promise<void> => {
    c.now++;
    for (const n of c.nodes.values()) {
      // Each node's clock runs at its own rate (period TICK-2 .. TICK+2): clock drift.
      if (!phase.has(n.id)) phase.set(n.id, c.now + Math.floor(rand() * TICK));
      if (!period.has(n.id)) period.set(n.id, TICK - 2 + Math.floor(rand() * 5));
      const due = phase.get(n.id) ?? 0;
      if (c.now >= due) {
        phase.set(n.id, due + (period.get(n.id) ?? TICK));
        if (n.up) c.tick(n);
      }
    }
    for (const m of c.net.due(c.now)) c.deliver(m);
    for (const n of c.running()) {
      for (let round = 0; round < 4; round++) {
        if (n.pending !== null && (persistAt.get(n.id) ?? 0) <= c.now) {
          const why = faulty && !failover.active && n instanceof SimDiskNode ? cutNext.get(n.id) : undefined;
          if (why !== undefined && n instanceof SimDiskNode) {
            cutNext.delete(n.id);
            const op = 1 + Math.floor(rand() * 12);
            keep(`${c.now} power cut ${n.id} at file operation ${op} of its persist ${why}`);
            await n.persist(op);
          } else await n.persist();
          if (!n.up) {
            // A power cut struck inside this persist (aimed by sim-disk-node.ts, or just above).
            if (why === undefined)
              keep(
                `${c.now} power cut ${n.id} ${n instanceof SimDiskNode && n.lastAimedCut !== null ? `at a moment of a persist (${n.lastAimedCut})` : 'just after a structural file operation of a persist'}`,
              );
            stats.crashes++;
            stats.powerCuts++;
            downUntil.set(n.id, c.now + 50 + Math.floor(rand() * 300));
            break;
          }
          if (faulty && !failover.active && n instanceof SimDiskNode && n.truncatedInLastPersist && rand() < 0.5 * k) {
            if (rand() < 0.5) cutSoon.add(n.id);
            else cutNext.set(n.id, 'after a log truncation');
          }
        }
        if (n.pending === null && n.takeReady())
          persistAt.set(n.id, c.now + (rand() < 0.03 ? 20 + Math.floor(rand() * 30) : Math.floor(rand() * 3)));
        else break;
      }
    }
    if (clientsOn) clients.step();
    if (faulty) {
      for (const id of cutSoon) {
        const n = c.node(id);
        if (!n.up) continue;
        keep(`${c.now} power cut ${id} right after it answered or cut its log`);
        n.crash('power');
        stats.crashes++;
        stats.powerCuts++;
        downUntil.set(id, c.now + 50 + Math.floor(rand() * 300));
      }
      await injectFaults();
    }
    cutSoon.clear();
    for (const [id, t] of downUntil) {
      if (t <= c.now) {
        downUntil.delete(id);
        keep(`${c.now} restart ${id}`);
        const n = c.node(id);
        const afterCut = n instanceof SimDiskNode && n.fs.powerIsOff;
        await n.start();
        if (faulty && afterCut && rand() < 0.3 * k) cutNext.set(id, 'right after recovering from a power cut');
      }
    }
    c.inv.step(c.nodes.values());
    if (!faulty) liveness.step(c.now, c.nodes.values());
  };

  const churnRand = seededRng(opts.seed ^ 0x5ea7).nextFloat;
  const selfRemovalRand = seededRng(opts.seed ^ 0x5e1f).nextFloat;
  const churnView = () => {
    const lead = c.leader();
    const conf = (lead ?? c.running()[0])?.raw?.status().activeConf;
    return {
      now: c.now,
      voters: conf?.voters ?? [],
      all: [...c.nodes.keys()],
      down: new Set([...c.nodes.values()].filter((n) => !n.up).map((n) => n.id)),
      leaders: c.running().flatMap((n) => {
        const st = n.raw?.status();
        return st?.role === 'leader' ? [{ id: n.id, term: st.term }] : [];
      }),
    };
  };
  const applyChurn = (act: ChurnAction): void => {
    snapshotBeforeReturn();
    if (act.type === 'heal') {
      keep(`${c.now} ${act.note}: heal`);
      c.net.heal();
      return;
    }
    keep(`${c.now} ${act.note}: partition ${act.groups.map((g) => `[${g.join(' ')}]`).join(' ')}`);
    c.net.partition(act.groups);
  };
  /**
   * Half the time a partition changes, the leader of the side that moved on snapshots first
   * (as a log at its retention limit would): a node coming back with a stale suffix longer
   * than what was committed meanwhile then installs a snapshot below its last index, and must
   * drop that suffix (a snapshot install replaces the whole log, Raft §7).
   */
  const snapshotBeforeReturn = (): void => {
    if (opts.snapshots === false || rand() >= 0.5) return;
    const lead = c.leader();
    if (lead?.compact(0) === true) {
      stats.snapshots++;
      keep(`${c.now} ${lead.id} snapshot at ${lead.storage.snapshot().index} before a partition changes`);
    }
  };

  const canPartition = (): boolean =>
    opts.partitions !== false && opts.seed % 4 !== 3 && !churn.active && !failover.active && healAt < 0;
  const { proposeConf, followFailover, operatorChange } = failoverDriver({
    c,
    failover,
    keep,
    stats,
    downUntil,
    rand,
    k,
    disk,
    membership: opts.membership !== false,
    canPartition,
    churnView,
    arm,
    newNodeId: () => nodeId(`n${nextId++}`),
  });

  const injectFaults = async (): Promise<void> => {
    followFailover();
    await operatorChange();
    const up = c.running();
    if (opts.crashes !== false && !failover.active && rand() < 0.0015 * k && up.length > 0) {
      // Half the crashes hit a node in the middle of persisting a Ready (the window where
      // durability bugs live); half of those fall between the log write and the
      // stable-state write, which the shell makes separately (sim-node.ts).
      const writing = up.filter((n) => n.pending !== null);
      const victim = (rand() < 0.5 ? pick(writing) : undefined) ?? pick(up);
      if (victim !== undefined) {
        const inPersist = victim.pending !== null && rand() < 0.5;
        if (victim instanceof SimDiskNode) {
          // Half the crashes cut the power; one inside a persist strikes at a random file operation.
          const power = inPersist || rand() < 0.5;
          const op = 1 + Math.floor(rand() * 12);
          keep(
            `${c.now} ${power ? 'power cut' : 'process crash'} ${victim.id}${inPersist ? ` at file operation ${op} of a persist` : ''}`,
          );
          if (power) stats.powerCuts++;
          if (inPersist) await victim.persist(op);
          else victim.crash(power ? 'power' : 'process');
        } else {
          keep(`${c.now} crash ${victim.id}${inPersist ? ' between its log write and its stable-state write' : ''}`);
          if (inPersist && victim instanceof SimNode) victim.persist(true);
          else victim.crash();
        }
        stats.crashes++;
        downUntil.set(victim.id, c.now + 50 + Math.floor(rand() * 300));
      }
    }
    // Not on the seeds without check-quorum, like the stale replay: those seeds exist for the
    // window in which a deposed leader still serves reads, which ordinary partitions open and
    // the churn's short rounds mostly close (clients find no island leader to write to).
    if (opts.partitions !== false && opts.seed % 4 !== 3 && !failover.active && (churn.active || healAt < 0)) {
      // Leader churn (leader-churn.ts): about one episode per 500 units, never during another partition.
      const view = churnView();
      const act = churn.active ? churn.step(view) : churnRand() < 0.002 * k ? churn.start(view) : undefined;
      if (act !== undefined) applyChurn(act);
    }
    if (opts.partitions !== false && !churn.active && !failover.active && healAt < 0 && rand() < 0.002 * k) {
      const all = [...c.nodes.keys()];
      // Half the partitions isolate the leader (alone, or with one follower): the shape where
      // a deposed leader still believes it leads (ReadIndex, stale appends).
      const lead = c.leader()?.id;
      const side =
        lead !== undefined && rand() < 0.5
          ? [lead, ...(rand() < 0.3 ? all.filter((x) => x !== lead).slice(0, 1) : [])]
          : all.filter(() => rand() < 0.4);
      keep(`${c.now} partition [${side.join(' ')}] | rest`);
      c.net.partition([side]);
      // Without check-quorum a deposed leader serves until it hears a higher term: its side is
      // kept apart longer (up to 1000 units), so clients find the new leader and write there
      // while reads still reach the old one.
      healAt = c.now + 100 + Math.floor(rand() * (opts.seed % 4 === 3 ? 900 : 400));
    }
    if (healAt >= 0 && c.now >= healAt) {
      snapshotBeforeReturn();
      keep(`${c.now} heal`);
      c.net.heal();
      healAt = -1;
    }
    const leader = c.leader();
    if (leader?.raw != null && opts.membership !== false && rand() < 0.004 * k) {
      const st = leader.raw.status();
      const learner = st.confState.learners[0];
      const lp = st.progress?.find((p) => p.id === learner);
      let res;
      if (learner !== undefined && lp !== undefined && lp.lag < 5)
        res = proposeConf(leader.id, leader.raw, { type: 'promote', node: learner });
      else if (learner === undefined && st.confState.voters.length < 5 && rand() < 0.6) {
        const id = nodeId(`n${nextId++}`);
        const joiner = c.addNode(id, null);
        arm(joiner);
        if (disk) await joiner.start();
        res = proposeConf(leader.id, leader.raw, { type: 'addLearner', node: id });
      } else if (st.confState.voters.length > 3) {
        // A scale-down removes whichever member the operator picks, the leader included (it
        // must hand over and stop leading once its removal commits): a third of the time it.
        const v = rand() < 0.3 ? leader.id : pick(st.confState.voters);
        if (v !== undefined) res = proposeConf(leader.id, leader.raw, { type: 'remove', node: v });
      }
      if (res !== undefined) {
        keep(`${c.now} conf change by ${leader.id}: ${JSON.stringify(res)}`);
        if (res.ok) stats.confChanges++;
        if (res.ok && rand() < 0.5) {
          // A second change at once (the agent adds a learner and promotes it back to back):
          // the core must refuse it while the first is uncommitted.
          const st2 = leader.raw.status();
          const victim = pick(st2.activeConf.voters.filter((v) => v !== leader.id));
          let again;
          if (st2.activeConf.voters.length > 3 && victim !== undefined)
            again = proposeConf(leader.id, leader.raw, { type: 'remove', node: victim });
          else {
            const id = nodeId(`n${nextId++}`);
            const joiner = c.addNode(id, null);
            arm(joiner);
            if (disk) await joiner.start();
            again = proposeConf(leader.id, leader.raw, { type: 'addLearner', node: id });
          }
          keep(`${c.now} conf change by ${leader.id} right after: ${JSON.stringify(again)}`);
          if (again.ok) stats.confChanges++;
        }
      }
    }
    // A scale-down aimed at the leader itself, on its own stream (the other faults' draws
    // stay where they were until it fires): the random removals above pick the leader only
    // in a few seeds that reach four voters, and a leader whose removal commits must step
    // down then (the removed-leader-stays mutant survived 40 seeds without this).
    if (leader?.raw != null && opts.membership !== false && selfRemovalRand() < 0.004 * k) {
      const st = leader.raw.status();
      if (st.activeConf.voters.length > 3 && st.activeConf.voters.includes(leader.id)) {
        const res = proposeConf(leader.id, leader.raw, { type: 'remove', node: leader.id });
        keep(`${c.now} conf change by ${leader.id}: remove itself: ${JSON.stringify(res)}`);
        if (res.ok) stats.confChanges++;
      }
    }
    if (leader?.raw != null && rand() < 0.001 * k) {
      const target = pick(leader.raw.status().confState.voters.filter((v) => v !== leader.id));
      if (target !== undefined)
        keep(`${c.now} transfer ${leader.id} -> ${target}: ${JSON.stringify(leader.raw.transferLeadership(target))}`);
    }
    if (opts.snapshots !== false && rand() < 0.01 * k) {
      const n = pick(c.running());
      if (n?.compact(5) === true) {
        stats.snapshots++;
        keep(`${c.now} ${n.id} snapshot at ${n.storage.snapshot().index}`);
      }
    }
  };

  try {
    await started;
    while (c.now < duration) await stepTime(true);
    // Heal: no more faults, everyone back up, then let the cluster settle and catch up.
    keep(`${c.now} heal all, restart all`);
    c.net.heal();
    c.net.faults = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 3 };
    for (const n of c.nodes.values())
      if (n instanceof SimDiskNode) {
        n.aimedCutRate = 0;
        n.momentCutRate = 0;
      }
    replaying = false;
    churn.stop();
    failover.stop();
    for (const id of downUntil.keys()) await c.node(id).start();
    downUntil.clear();
    liveness.healed(c.now, c.nodes.values());
    const settleUntil = c.now + 150 * TICK;
    while (c.now < settleUntil) await stepTime(false);
    // Quiet period: clients stop so every member can catch up before the final check.
    clients.finish();
    clientsOn = false;
    const quietUntil = c.now + 50 * TICK;
    while (c.now < quietUntil) await stepTime(false);
    // A bound longer than settling and quiet (a slower configuration) is waited out here.
    while (!liveness.satisfied) await stepTime(false);
    const leader = c.leader();
    const members = new Set(leader?.raw?.status().confState.voters ?? []);
    c.inv.final([...c.nodes.values()].filter((n) => members.has(n.id)));
    if (leader === undefined) throw new Error('no leader after healing the cluster');
    if (opts.retries !== undefined) assertNoValueTwice(c.nodes.values());
    // What took effect, from the healed cluster before the power cycle below: a node that comes
    // back rebuilds its state machine only up to the applied index it last wrote, which may lag
    // its commit (committed-values.ts).
    const inLog = committedValues(leader);
    const offsets = committedOffsets(leader);
    const finalLog = committedLog(leader);
    const duplicatesHidden = leader.sm.duplicatesHidden;
    await powerCycleDiskNodes(c.running());
    const { linearizable, lincheckSteps } =
      opts.lincheck !== false
        ? checkHistory(
            clients.history,
            finalLog,
            () =>
              resolveProduces(
                clients.checkedHistory((v) => inLog.has(v)),
                offsets,
              ),
            opts.crossCheck,
          )
        : { linearizable: 'not-checked' as const, lincheckSteps: 0 };
    return {
      ok: true,
      seed: opts.seed,
      history: clients.history,
      stats: {
        leaders: c.inv.terms,
        acked: c.inv.acked.length,
        operations: clients.history.length,
        linearizable,
        lincheckSteps,
        duplicatesHidden,
        livenessUnits: liveness.progressAfter ?? -1,
        ...stats,
      },
    };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    for (const n of c.nodes.values()) keep(formatStatus(n.id, n.raw?.status()));
    return { ok: false, seed: opts.seed, error, replay: replayCommand(opts.seed, opts), trace };
  }
}
