/**
 * The randomized simulator on the production loop (issue 13 item 3; `npm run test:sim --
 * --driver raftnode`): {@link RaftNode}s — the runner that ships, with its input queue,
 * deferred stable writes, proposal tracking, conf-change retries and timers — on one
 * {@link ManualLoopClock} (virtual time), each on the real segmented log and stable store
 * over its own {@link MemoryFileSystem}, behind a {@link GatedFileSystem} (a disk that stalls
 * on demand) and a {@link KillableFileSystem} per incarnation, over a seeded virtual-time
 * network (virtual-net.ts: drops, duplicates, delays that reorder, partitions).
 *
 * Faults: partitions (the leader alone or with one follower, or a random split) that heal;
 * stalled disks; process kills (the page cache survives); power cuts now, at an arbitrary
 * later file operation (whatever the loop is doing then: a persist, a roll, a stable-state
 * replace, a deferred flush) and at the instant a node answers with a vote grant or an append
 * acknowledgement; leadership transfers. A node that went down stays down for a while, then
 * restarts from what its disk kept. Clients (loop-clients.ts) produce and read throughout.
 *
 * Checked (loop-checks.ts): after every step election safety, state machine safety and no
 * acknowledged record lost; after each answer-time cut, the answer's promise; at the end the
 * network heals and every node must converge on one leader and one applied index covering
 * every acknowledged record at its offset — then once more after a power cut of every node —
 * and the clients' history must be linearizable.
 *
 * Deterministic for a seed: no real timer or I/O is involved, so the event loop runs the same
 * callbacks in the same order however loaded the machine is; a step lets the loops run for a
 * fixed number of event-loop turns. The trace lists every fault, leader and acknowledgement.
 */
import { MemoryFileSystem, PowerCutError } from '../../log/index.js';
import { seededRng } from '../core/env.js';
import { nodeId, type Message, type NodeId } from '../core/types.js';
import { RaftNode } from '../shell/raft-node.js';
import { GatedFileSystem } from '../shell/testing/gated-fs.js';
import { ManualLoopClock } from '../shell/testing/manual-loop-clock.js';
import { AimedCutFs, type AimedMoment } from './aimed-cut-fs.js';
import { DURABLE_STATE_LOST } from './durable-promises.js';
import type { HistoryVerdict } from './final-checks.js';
import { InvariantViolation } from './invariant-violation.js';
import { KillableFileSystem, ProcessKilledError } from './killable-fs.js';
import { LoopChecker, type DurablePromise } from './loop-checks.js';
import { LoopClients } from './loop-clients.js';
import { changeMembership, type MembershipHost } from './loop-membership.js';
import {
  raftNodeReplayCommand,
  type RaftNodeSimOptions,
  type RaftNodeSimResult,
  type RaftNodeSimStats,
} from './raft-node-sim-options.js';
import { VirtualNet, type Rand, type VirtualEndpoint } from './virtual-net.js';

export { raftNodeReplayCommand, type RaftNodeSimOptions, type RaftNodeSimResult, type RaftNodeSimStats };

const TICK_MS = 10;
/** Virtual ms per step; `duration` counts ms, as the RawNode driver's time units (a tick is 10 of either). */
const STEP_MS = 5;
const CLUSTER = 'sim';
/** Small segments and buffers, so runs roll, seal and truncate across segments (as sim-disk-node.ts). */
const LOG_CONFIG = { maxStoreBytes: 512, writeBufferBytes: 256 } as const;

/** Runs one seed (see the module comment). */
export function simulateRaftNodes(o: RaftNodeSimOptions): Promise<RaftNodeSimResult> {
  return new RaftNodeSim(o).run();
}

interface Member {
  readonly id: NodeId;
  /** One of the bootstrapped voters (a joiner starts with no configuration). */
  readonly bootstrap: boolean;
  /** Removed from the configuration and stopped for good. */
  gone: boolean;
  readonly disk: MemoryFileSystem;
  /** {@link disk} with cuts aimed after structural file operations and at risky moments (aimed-cut-fs.ts). */
  readonly aimed: AimedCutFs;
  readonly gate: GatedFileSystem;
  fs: KillableFileSystem | null;
  net: VirtualEndpoint | null;
  node: RaftNode | null;
  /** A fatal error of the running incarnation that no injected fault explains (a finding). */
  fatal: Error | null;
  /** Step at which a downed node restarts (-1: up). */
  downUntil: number;
  stalledUntil: number;
  /** Set when the power was cut as the node answered: what the answer promised must survive. */
  promised: DurablePromise | null;
}

/** Lets every loop run: a fixed number of event-loop turns (persists take a few). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** One seed's cluster, schedule and checks. */
class RaftNodeSim {
  private readonly seed: number;
  private readonly rand: Rand;
  private readonly clock = new ManualLoopClock();
  private readonly net: VirtualNet;
  /** The bootstrapped voters (joiners never bootstrap). */
  private readonly ids: NodeId[];
  private readonly members: Member[];
  private readonly checks = new LoopChecker();
  private readonly clients: LoopClients;
  private readonly trace: string[] = [];
  private readonly k: number;
  private step = 0;
  /**
   * As the RawNode driver (simulate.ts): one seed in four runs without check-quorum (a deposed
   * leader believes it leads until it hears a higher term: only ReadIndex's heartbeat round
   * keeps reads safe), one in four sends appends of at most 3 entries (a follower catches up in
   * many appends; a new leader hears acknowledgements of old-term entries first, Figure 8).
   */
  private readonly raftConfig: { checkQuorum?: boolean; maxEntryBatchCount?: number };
  /** The membership changes' view of this run (loop-membership.ts). */
  private readonly host: MembershipHost;
  private healAt = -1;
  private readonly counts = { stalls: 0, kills: 0, powerCuts: 0, ticksDropped: 0 };

  constructor(private readonly o: RaftNodeSimOptions) {
    this.seed = o.seed;
    this.k = o.intensity ?? 1;
    this.raftConfig = o.seed % 4 === 3 ? { checkQuorum: false } : o.seed % 4 === 1 ? { maxEntryBatchCount: 3 } : {};
    this.rand = seededRng(o.seed);
    this.net = new VirtualNet(this.clock, this.rand, CLUSTER, {
      dropRate: Math.min(0.5, 0.05 * this.k),
      dupRate: 0.02 * this.k,
      maxDelayMs: 3 * TICK_MS,
    });
    this.ids = Array.from({ length: o.voters ?? 3 }, (_, i) => nodeId(`n${i + 1}`));
    this.members = this.ids.map((id) => this.newMember(id, true));
    this.host = {
      rand: seededRng(this.o.seed ^ 0x3e3b),
      leader: () => {
        const ls = this.running().filter((n) => n.isLeader);
        return ls.length === 1 ? ls[0] : undefined;
      },
      join: async () => {
        const m = this.newMember(nodeId(`n${this.members.length + 1}`), false);
        this.members.push(m);
        this.note(`join ${m.id}`);
        await this.start(m);
        return m.id;
      },
      removed: async (id) => {
        const m = this.members.find((x) => x.id === id);
        if (m === undefined || m.gone) return;
        m.gone = true;
        this.note(`${id} removed: stopped for good`);
        await this.crash(m, 'process', 0);
      },
      note: (l) => this.note(l),
    };
    if (o.powerCuts !== false) this.net.onSend = (m) => this.cutAtAnswer(m);
    // Six clients at the RawNode driver's rate (clients.ts: 0.05 a time unit, here per 5-unit step).
    this.clients = new LoopClients(seededRng(o.seed ^ 0xc11e), `v${o.seed}`, 6, 1 - 0.95 ** STEP_MS, (value, a) => {
      this.checks.acked.push({ ...a, value });
      this.note(`ack "${value}" at ${a.index}/${a.term} offset ${a.dataOffset}`);
    });
  }

  private note(line: string): void {
    const l = `${this.step} ${line}`;
    if (this.o.verbose === true) process.stdout.write(`${l}\n`);
    this.trace.push(l);
  }

  async run(): Promise<RaftNodeSimResult> {
    const steps = Math.ceil((this.o.duration ?? 3000) / STEP_MS);
    try {
      for (const m of this.members) await this.start(m);
      for (; this.step < steps; this.step++) {
        await this.disturb();
        this.clients.step(this.running());
        await this.advance();
      }
      await this.settle('after healing');
      // A last power cut of every node: each must come back with everything it made durable.
      this.note('power cut all');
      for (const m of this.members) await this.crash(m, 'power', 1);
      await this.settle('after the last power cut');
      const leader = this.running().find((n) => n.isLeader);
      if (leader === undefined) throw new Error('no leader after settling');
      const lin = this.checks.linearizable(this.clients, leader, this.o.crossCheck);
      return { ok: true, seed: this.seed, stats: this.stats(steps, lin), trace: this.trace };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      for (const m of this.members)
        this.note(`${m.id}: ${m.node === null ? 'down' : JSON.stringify(this.brief(m.node))}`);
      return { ok: false, seed: this.seed, error, replay: raftNodeReplayCommand(this.o), trace: this.trace };
    } finally {
      for (const m of this.members) m.gate.release();
      for (const m of this.members) await m.node?.stop().catch(() => {});
    }
  }

  private stats(steps: number, lin: HistoryVerdict): RaftNodeSimStats {
    const dropped = this.running().reduce((s, n) => s + n.status().node.ticksDropped, this.counts.ticksDropped);
    return {
      steps,
      acked: this.checks.acked.length,
      operations: this.clients.history.length,
      leaders: this.checks.leaders.size,
      stalls: this.counts.stalls,
      kills: this.counts.kills,
      powerCuts: this.counts.powerCuts,
      ticksDropped: dropped,
      linearizable: lin.linearizable,
      lincheckSteps: lin.lincheckSteps,
    };
  }

  private brief(n: RaftNode): object {
    const s = n.status();
    return { role: s.role, term: s.term, applied: n.appliedIndex, last: n.storage.lastIndex() };
  }

  private running(): RaftNode[] {
    return this.members.flatMap((m) => (m.node === null ? [] : [m.node]));
  }

  /** One step of virtual time, the loops' turns, then the per-step checks. */
  private async advance(): Promise<void> {
    this.clock.advance(STEP_MS);
    await turns(8);
    for (const m of this.members)
      if (m.fatal !== null)
        throw m.fatal instanceof InvariantViolation
          ? m.fatal // a rule checked inside the file system (aimed-cut-fs.ts) broke
          : new Error(`step ${this.step}: ${m.id} stopped on a fatal error no fault explains: ${m.fatal.message}`);
    // A cut armed at a later file operation struck meanwhile: that node is down now.
    for (const m of this.members)
      if (m.node !== null && m.disk.powerIsOff) {
        if (m.promised === null) this.note(`${m.id} lost power at an armed file operation`);
        await this.crash(m, 'power', this.downtime());
      }
    this.checks.step(this.step, this.running(), (id, term) => this.note(`leader ${id} term ${term}`));
  }

  private newMember(id: NodeId, bootstrap: boolean): Member {
    const disk = new MemoryFileSystem(() => this.rand.nextFloat());
    const aimed = new AimedCutFs(disk, () => this.rand.nextFloat());
    const gate = new GatedFileSystem(aimed);
    const fields = { fs: null, net: null, node: null, fatal: null, downUntil: -1, stalledUntil: 0, promised: null };
    return { id, bootstrap, gone: false, disk, aimed, gate, ...fields };
  }

  private async start(m: Member): Promise<void> {
    if (m.gone) return;
    const fs = new KillableFileSystem(m.gate);
    const net = this.net.endpoint(m.id);
    try {
      m.node = await RaftNode.start({
        id: m.id,
        dir: `/data/${m.id}`,
        clusterId: CLUSTER,
        ...(m.bootstrap ? { bootstrap: { voters: this.ids } } : {}),
        transport: net,
        fs,
        logConfig: LOG_CONFIG,
        clock: this.clock,
        loopTimers: this.clock.loopTimers,
        seed: this.seed * 31 + this.members.indexOf(m) + 7919 * this.counts.powerCuts + 104729 * this.counts.kills,
        raftConfig: this.raftConfig,
        shellConfig: { tickMs: TICK_MS, stableFlushMs: 5 * TICK_MS, requestTimeoutMs: 200 * TICK_MS },
      });
    } catch (err) {
      // A crash must never leave a node unable to come back with what it made durable.
      throw new InvariantViolation(
        DURABLE_STATE_LOST,
        `step ${this.step}: ${m.id} cannot reopen its storage: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    m.fs = fs;
    m.net = net;
    m.fatal = null;
    const node = m.node;
    node.onFatal((e) => {
      // Dying of an injected fault is the fault; anything else is a bug the run reports.
      if (m.node === node && !(e instanceof PowerCutError) && !(e instanceof ProcessKilledError)) m.fatal = e;
    });
    m.downUntil = -1;
    const p = m.promised;
    m.promised = null;
    if (p !== null) this.checks.promise(this.step, m.node, p);
  }

  /** Steps a downed node stays down: 50 to 300 virtual ms (5 to 30 ticks). */
  private downtime(): number {
    return 10 + this.rand.nextInt(50);
  }

  /** This step's fault, if any; restarts and stall ends that fall due. */
  private async disturb(): Promise<void> {
    const r = this.rand.nextFloat() / this.k;
    const victim = this.members[this.rand.nextInt(this.members.length)];
    if (victim === undefined) throw new Error('no members');
    const cuts = this.o.powerCuts !== false;
    if (r < 0.004 && this.healAt < 0) this.partition();
    else if (r < 0.014 && victim.node !== null && victim.stalledUntil === 0) {
      // A disk that stalls for one to four election timeouts: the loop order under test.
      victim.gate.hold();
      victim.stalledUntil = this.step + ((1 + this.rand.nextInt(4)) * 10 * TICK_MS) / STEP_MS;
      this.counts.stalls++;
      this.note(`stall ${victim.id}'s disk`);
    } else if (r < 0.017 && victim.node !== null) {
      this.note(`kill ${victim.id}`);
      await this.crash(victim, 'process', this.downtime());
    } else if (r < 0.02 && cuts && victim.node !== null) {
      this.note(`power cut ${victim.id}`);
      await this.crash(victim, 'power', this.downtime());
    } else if (r < 0.024 && cuts && victim.node !== null) {
      const op = 1 + this.rand.nextInt(12);
      this.note(`arm a power cut of ${victim.id} at its file operation ${op} from now`);
      victim.disk.armPowerCut(op);
    } else if (r < 0.026) this.transfer();
    if (cuts) this.aim();
    // About the RawNode driver's rate of membership changes (0.004 a time unit).
    if (this.host.rand.nextFloat() < 0.02 * this.k) await changeMembership(this.host);
    if (this.healAt >= 0 && this.step >= this.healAt) this.heal();
    for (const m of this.members) if (m.promised !== null) await this.crash(m, 'power', 0);
    for (const m of this.members) {
      if (m.stalledUntil !== 0 && this.step >= m.stalledUntil) {
        m.gate.release();
        m.stalledUntil = 0;
      }
      if (m.node === null && m.downUntil >= 0 && this.step >= m.downUntil) {
        this.note(`restart ${m.id}`);
        await this.start(m);
      }
    }
  }

  /**
   * Now and then a running node's disk is aimed at (aimed-cut-fs.ts): a cut a few operations
   * after its next structural file operation (a roll, a truncation; a tenth of the time a
   * stable-state replace too), or at a moment — right after a replace is durable, at the
   * first sync after a truncation or just after it. Armed until it fires or the node goes down.
   */
  private aim(): void {
    const m = this.members[this.rand.nextInt(this.members.length)];
    const r = this.rand.nextFloat() / this.k;
    if (m?.node == null || r >= 0.02) return;
    if (r < 0.01) {
      m.aimed.aim(8, { renames: this.rand.nextFloat() < 0.1 });
      this.note(`aim a cut of ${m.id} after its next structural file operation`);
      return;
    }
    const moments: readonly AimedMoment[] = ['after-replace', 'sync-after-truncate', 'after-truncate-sync'];
    const at = moments[this.rand.nextInt(moments.length)] ?? 'after-replace';
    m.aimed.aimAt(at);
    this.note(`aim a cut of ${m.id} at ${at}`);
  }

  /** Half the partitions cut the leader off (alone or with one follower), the rest split at random. */
  private partition(): void {
    const lead = this.members.find((m) => m.node?.isLeader === true)?.id;
    const side =
      lead !== undefined && this.rand.nextFloat() < 0.5
        ? [
            lead,
            ...(this.rand.nextFloat() < 0.3
              ? this.liveIds()
                  .filter((x) => x !== lead)
                  .slice(0, 1)
              : []),
          ]
        : this.liveIds().filter(() => this.rand.nextFloat() < 0.4);
    this.net.partition([side]);
    this.healAt = this.step + 20 + this.rand.nextInt(80);
    this.note(`partition [${side.join(' ')}] | rest`);
  }

  /** Members not removed for good. */
  private liveIds(): NodeId[] {
    return this.members.filter((m) => !m.gone).map((m) => m.id);
  }

  private heal(): void {
    this.net.heal();
    this.healAt = -1;
    this.note('heal');
  }

  private transfer(): void {
    const leader = this.running().find((n) => n.isLeader);
    const others = this.liveIds().filter((x) => x !== leader?.id);
    const to = others[this.rand.nextInt(others.length)];
    if (leader === undefined || to === undefined) return;
    this.note(`transfer ${leader.id} -> ${to}`);
    leader.transferLeadership(to).catch(() => {});
  }

  /**
   * Now and then the power fails at the instant a node answers with a vote grant or an append
   * acknowledgement: harmless when the answer was durable (loop step 4 after step 3). The
   * node restarts, and the promise is checked, at the next step.
   */
  private cutAtAnswer(msg: Message): void {
    const granted = msg.type === 'voteResp' && msg.granted;
    const acks = msg.type === 'appendResp' && msg.success && msg.index > 0;
    if (!(granted || acks)) return;
    const m = this.members.find((x) => x.id === msg.from);
    if (m?.node == null || m.promised !== null || this.rand.nextFloat() >= 0.05 * this.k) return;
    if (msg.type === 'appendResp')
      m.promised = { kind: 'entry', index: msg.index, term: m.node.storage.term(msg.index) ?? null, to: msg.to };
    else m.promised = { kind: 'vote', term: msg.term, to: msg.to };
    this.note(`power cut ${m.id} as it answers ${msg.type} ${msg.type === 'appendResp' ? msg.index : msg.term}`);
    m.disk.cutNow();
    m.net?.kill();
  }

  /**
   * Takes `m` down (`down` steps; 0 = restart at once): the process dies — its transport and
   * its file system with it, so the dying loop touches neither again — and with a power cut
   * the disk also loses what was not durable.
   */
  private async crash(m: Member, kind: 'process' | 'power', down: number): Promise<void> {
    const old = m.node;
    if (old === null) return;
    m.node = null;
    m.net?.kill();
    m.fs?.kill();
    m.gate.release();
    m.stalledUntil = 0;
    if (kind === 'power') {
      m.disk.cutNow();
      this.counts.powerCuts++;
    } else this.counts.kills++;
    m.disk.armPowerCut(null);
    m.aimed.aim(null);
    m.aimed.aimAt(null);
    this.counts.ticksDropped += old.status().node.ticksDropped;
    await old.stop().catch(() => {});
    if (m.disk.powerIsOff) m.disk.reboot();
    if (down === 0) await this.start(m);
    else m.downUntil = this.step + down;
  }

  /** Heals everything; requires one leader and one applied index covering every acknowledged record, at its offset. */
  private async settle(what: string): Promise<void> {
    this.net.heal();
    this.healAt = -1;
    this.net.onSend = () => {};
    this.net.faults = { dropRate: 0, dupRate: 0, maxDelayMs: TICK_MS };
    for (const m of this.members) {
      m.disk.armPowerCut(null);
      m.aimed.aim(null);
      m.aimed.aimAt(null);
      if (m.promised !== null) await this.crash(m, 'power', 0);
      m.gate.release();
      m.stalledUntil = 0;
      if (m.node === null) await this.start(m);
    }
    this.note(`heal all (${what})`);
    const until = this.step + 2000;
    for (; this.step < until; this.step++) {
      await this.advance();
      // Nodes outside the leader's configuration (a removal or an addition whose outcome its
      // caller never learned) are stopped, as the operator deletes their pods.
      const lead = this.host.leader();
      if (lead !== undefined) {
        const conf = new Set(lead.status().members.map((x) => x.id));
        for (const n of this.running()) if (!conf.has(n.id)) await this.host.removed(n.id);
      }
      const nodes = this.running();
      const applied = new Set(nodes.map((x) => x.appliedIndex));
      if (this.clients.waiting) continue;
      if (nodes.filter((x) => x.isLeader).length !== 1 || applied.size !== 1) continue;
      if (Math.min(...applied) < this.checks.maxAcked) continue;
      this.checks.denseOffsets(nodes);
      return;
    }
    const st = this.members.map((m) => `${m.id}: ${m.node === null ? 'down' : JSON.stringify(this.brief(m.node))}`);
    const waits = this.clients.outstanding;
    throw new Error(
      `no converged leader 10 s (virtual) ${what} (${st.join('; ')})${waits.length > 0 ? `; clients still waiting: ${waits.join('; ')}` : ''}`,
    );
  }
}
