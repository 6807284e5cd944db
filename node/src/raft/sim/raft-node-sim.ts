/**
 * A first step of issue 13 item 3: the simulator drives the production loop itself. Three
 * {@link RaftNode}s — the runner that ships, with its input queue, deferred stable writes,
 * proposal tracking and timers — run on one {@link ManualLoopClock} (virtual time), each on
 * its own {@link MemoryFileSystem} behind a {@link GatedFileSystem} (a disk that stalls on
 * demand), over a seeded virtual-time network (drops, delays that reorder, partitions).
 * Power cuts: a node's disk loses its volatile state under the running node, which then
 * dies on its next file operation; it restarts from what survived.
 *
 * Checked after every step, from the outside (public API and the node's storage): election
 * safety, state machine safety (every node's applied entries agree at each index), and that
 * no acknowledged proposal is lost or moves (its index, term and dense offset). At the end:
 * the network heals, stalls end, and every node must converge on one leader and the same
 * applied index within a bound of virtual time.
 *
 * Deterministic for a seed: no real timer or I/O is involved, so the event loop runs the same
 * callbacks in the same order however loaded the machine is; a step lets the loops run for a
 * fixed number of event-loop turns.
 */
import { MemoryFileSystem } from '../../log/index.js';
import { seededRng } from '../core/env.js';
import { logIndex, nodeId, type Message, type NodeId } from '../core/types.js';
import { RaftNode } from '../shell/raft-node.js';
import { GatedFileSystem } from '../shell/testing/gated-fs.js';
import { ManualLoopClock } from '../shell/testing/manual-loop-clock.js';
import { newTransportStats, type MessageHandler, type RaftTransport } from '../shell/transport.js';
import { InvariantViolation } from './invariant-violation.js';

const TICK_MS = 10;
const STEP_MS = 5;
const CLUSTER = 'sim';

/** What one seed did. */
export interface RaftNodeSimResult {
  readonly seed: number;
  readonly steps: number;
  readonly acked: number;
  readonly leaders: number;
  readonly stalls: number;
  readonly powerCuts: number;
  readonly ticksDropped: number;
}

type Rand = ReturnType<typeof seededRng>;

/** The network on virtual time: each message is dropped or delivered after a seeded delay. */
class VirtualNet {
  readonly handlers = new Map<NodeId, MessageHandler>();
  private readonly cut = new Set<NodeId>();
  /** Called as each message leaves its sender, before it is dropped or scheduled. */
  onSend: (m: Message) => void = () => {};
  constructor(
    private readonly clock: ManualLoopClock,
    private readonly rand: Rand,
  ) {}
  isolate(id: NodeId | null): void {
    this.cut.clear();
    if (id !== null) this.cut.add(id);
  }
  send(m: Message): void {
    this.onSend(m);
    if (this.cut.has(m.from) || this.cut.has(m.to) || this.rand.nextFloat() < 0.05) return;
    this.clock.after(this.rand.nextInt(3 * TICK_MS), () => {
      if (!this.cut.has(m.from) && !this.cut.has(m.to)) this.handlers.get(m.to)?.(m, CLUSTER);
    });
  }
  endpoint(id: NodeId): RaftTransport {
    return {
      id,
      listen: (h) => void this.handlers.set(id, h),
      send: (msgs) => msgs.forEach((m) => this.send(m)),
      setPeer: () => {},
      removePeer: () => {},
      stats: () => newTransportStats(),
      close: () => {
        this.handlers.delete(id);
        return Promise.resolve();
      },
    };
  }
}

interface Member {
  readonly id: NodeId;
  readonly disk: MemoryFileSystem;
  readonly fs: GatedFileSystem;
  node: RaftNode | null;
  checkedUpTo: number;
  stalledUntil: number;
  /** Set when the power was cut as the node answered: what the answer promised must survive. */
  promised: DurablePromise | null;
}

/** What an answer sent at a power cut promised was durable. */
type DurablePromise =
  /** `term` is null when the node's storage did not hold the entry yet as it answered (itself a broken promise). */
  | { readonly kind: 'entry'; readonly index: number; readonly term: number | null; readonly to: NodeId }
  | { readonly kind: 'vote'; readonly term: number; readonly to: NodeId };

/** Lets every loop run: a fixed number of event-loop turns (persists take a few). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Runs one seed for `steps` steps of {@link STEP_MS} virtual ms; throws {@link InvariantViolation} on a broken invariant. */
export function simulateRaftNodes(seed: number, steps = 600): Promise<RaftNodeSimResult> {
  return new RaftNodeSim(seed).run(steps);
}

/** One seed's cluster, schedule and checks (see the module comment). */
class RaftNodeSim {
  private readonly rand: Rand;
  private readonly clock = new ManualLoopClock();
  private readonly net: VirtualNet;
  private readonly ids = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
  private readonly members: Member[];
  private readonly committed = new Map<number, { term: number; data: string }>();
  private readonly acked: { index: number; term: number; dataOffset: number; value: string }[] = [];
  private readonly leaders = new Map<number, NodeId>();
  private stalls = 0;
  private powerCuts = 0;
  private ticksDropped = 0;
  private nextValue = 0;

  constructor(private readonly seed: number) {
    this.rand = seededRng(seed);
    this.net = new VirtualNet(this.clock, this.rand);
    this.members = this.ids.map((id) => {
      const disk = new MemoryFileSystem(() => this.rand.nextFloat());
      return { id, disk, fs: new GatedFileSystem(disk), node: null, checkedUpTo: 0, stalledUntil: 0, promised: null };
    });
    this.net.onSend = (m) => this.cutAtAnswer(m);
  }

  async run(steps: number): Promise<RaftNodeSimResult> {
    for (const m of this.members) await this.start(m);
    try {
      for (let step = 0; step < steps; step++) {
        await this.disturb(step);
        this.propose();
        this.clock.advance(STEP_MS);
        await turns(8);
        this.check(step);
      }
      await this.settle(steps);
      return {
        seed: this.seed,
        steps,
        acked: this.acked.length,
        leaders: this.leaders.size,
        stalls: this.stalls,
        powerCuts: this.powerCuts,
        ticksDropped: this.members.reduce((s, m) => s + (m.node?.status().node.ticksDropped ?? 0), this.ticksDropped),
      };
    } finally {
      for (const m of this.members) m.fs.release();
      for (const m of this.members) await m.node?.stop().catch(() => {});
    }
  }

  private async start(m: Member): Promise<void> {
    m.node = await RaftNode.start({
      id: m.id,
      dir: `/data/${m.id}`,
      clusterId: CLUSTER,
      bootstrap: { voters: this.ids },
      transport: this.net.endpoint(m.id),
      fs: m.fs,
      clock: this.clock,
      loopTimers: this.clock.loopTimers,
      seed: this.seed * 31 + this.ids.indexOf(m.id),
      shellConfig: { tickMs: TICK_MS, stableFlushMs: 5 * TICK_MS, requestTimeoutMs: 200 * TICK_MS },
    });
  }

  /** This step's fault, if any: a partition, a heal, a stalled disk, a power cut; stalls that end. */
  private async disturb(step: number): Promise<void> {
    const r = this.rand.nextFloat();
    const victim = this.members[this.rand.nextInt(this.members.length)];
    if (victim === undefined) throw new Error('no members');
    if (r < 0.004) this.net.isolate(victim.id);
    else if (r < 0.01) this.net.isolate(null);
    else if (r < 0.02 && victim.stalledUntil === 0) {
      // A disk that stalls for one to four election timeouts: the loop order under test.
      victim.fs.hold();
      victim.stalledUntil = step + ((1 + this.rand.nextInt(4)) * 10 * TICK_MS) / STEP_MS;
      this.stalls++;
    } else if (r < 0.023) {
      await this.powerCut(victim, step);
    }
    for (const m of this.members) if (m.promised !== null) await this.powerCut(m, step);
    for (const m of this.members) {
      if (m.stalledUntil !== 0 && step >= m.stalledUntil) {
        m.fs.release();
        m.stalledUntil = 0;
      }
    }
  }

  /** A client proposes to the leader now and then; acknowledged records are remembered. */
  private propose(): void {
    const leader = this.members.find((m) => m.node?.isLeader === true)?.node ?? null;
    if (leader === null || this.rand.nextFloat() >= 0.3) return;
    const value = `v${this.seed}-${this.nextValue++}`;
    leader.propose(new TextEncoder().encode(value)).then(
      (o) => this.acked.push({ index: o.index, term: o.term, dataOffset: o.dataOffset, value }),
      () => {},
    );
  }

  /**
   * Now and then the power fails at the instant a node answers with a vote grant or an append
   * acknowledgement: harmless when the answer was durable (loop step 4 after step 3). The
   * node is restarted, and the promise checked, at the next step.
   */
  private cutAtAnswer(msg: Message): void {
    const granted = msg.type === 'voteResp' && msg.granted;
    const acks = msg.type === 'appendResp' && msg.success && msg.index > 0;
    if (!(granted || acks)) return;
    const m = this.members.find((x) => x.id === msg.from);
    if (m?.node == null || m.promised !== null || this.rand.nextFloat() >= 0.05) return;
    if (msg.type === 'appendResp') {
      m.promised = { kind: 'entry', index: msg.index, term: m.node.storage.term(msg.index) ?? null, to: msg.to };
    } else {
      m.promised = { kind: 'vote', term: msg.term, to: msg.to };
    }
    m.disk.cutNow();
  }

  /** Power cut: the volatile state is gone, the old node dies on its next file operation; it restarts from what survived. */
  private async powerCut(victim: Member, step: number): Promise<void> {
    const old = victim.node;
    if (old === null) return;
    victim.node = null;
    victim.fs.release();
    victim.stalledUntil = 0;
    victim.disk.cutNow();
    this.ticksDropped += old.status().node.ticksDropped;
    await old.stop().catch(() => {});
    victim.disk.reboot();
    this.powerCuts++;
    await this.start(victim);
    const p = victim.promised;
    victim.promised = null;
    if (p !== null) this.checkPromise(victim, p, step);
  }

  private checkPromise(m: Member, p: DurablePromise, step: number): void {
    const n = m.node;
    if (n === null) return;
    if (p.kind === 'entry') {
      const t = n.storage.term(logIndex(p.index));
      if (t === undefined || (p.term !== null && t !== p.term))
        throw new InvariantViolation(
          'answered before durable',
          `step ${step}: ${m.id} acknowledged entry ${p.index}/${p.term ?? '?'} to ${p.to}; after the power cut its log has ${t ?? 'nothing'} there`,
        );
    } else {
      const hs = n.storage.initialState().hardState;
      if (hs.term < p.term || (hs.term === p.term && hs.vote !== p.to))
        throw new InvariantViolation(
          'answered before durable',
          `step ${step}: ${m.id} granted its term ${p.term} vote to ${p.to}; after the power cut its durable term/vote is ${hs.term}/${hs.vote ?? '-'}`,
        );
    }
  }

  /** Election safety; every node's newly applied entries agree with every other's; acknowledged records stay. */
  private check(step: number): void {
    const dec = new TextDecoder();
    for (const m of this.members) {
      const n = m.node;
      if (n === null || m.disk.powerIsOff) continue;
      const s = n.status();
      if (s.role === 'leader') {
        const other = this.leaders.get(s.term);
        if (other !== undefined && other !== m.id)
          throw new InvariantViolation(
            'election safety',
            `step ${step}: ${m.id} and ${other} both lead term ${s.term}`,
          );
        this.leaders.set(s.term, m.id);
      }
      for (let i = m.checkedUpTo + 1; i <= n.appliedIndex; i++) {
        const [e] = n.storage.entries(logIndex(i), logIndex(i + 1), Infinity);
        if (e === undefined) continue;
        const data = dec.decode(e.data);
        const seen = this.committed.get(i);
        if (seen === undefined) this.committed.set(i, { term: e.term, data });
        else if (seen.term !== e.term || seen.data !== data)
          throw new InvariantViolation(
            'state machine safety',
            `step ${step}: ${m.id} applied ${i}/${e.term} "${data}", elsewhere ${i}/${seen.term} "${seen.data}"`,
          );
      }
      m.checkedUpTo = Math.max(m.checkedUpTo, n.appliedIndex);
    }
    for (const a of this.acked) {
      const c = this.committed.get(a.index);
      if (c !== undefined && (c.term !== a.term || c.data !== a.value))
        throw new InvariantViolation(
          'acknowledged record lost',
          `step ${step}: "${a.value}" was acknowledged at ${a.index}/${a.term}, but ${a.index}/${c.term} "${c.data}" was applied`,
        );
    }
  }

  /** Heals everything; requires one leader and equal applied indexes covering every acknowledged record, at its offset. */
  private async settle(from: number): Promise<void> {
    this.net.isolate(null);
    this.net.onSend = () => {};
    for (const m of this.members) if (m.promised !== null) await this.powerCut(m, from);
    for (const m of this.members) {
      m.fs.release();
      m.stalledUntil = 0;
    }
    const maxAcked = (): number => Math.max(0, ...this.acked.map((a) => a.index));
    for (let step = from; step < from + 2000; step++) {
      this.clock.advance(STEP_MS);
      await turns(8);
      this.check(step);
      const nodes = this.members.map((m) => m.node).filter((x): x is RaftNode => x !== null);
      const applied = new Set(nodes.map((x) => x.appliedIndex));
      if (nodes.filter((x) => x.isLeader).length !== 1 || applied.size !== 1 || Math.min(...applied) < maxAcked())
        continue;
      for (const x of nodes)
        for (const a of this.acked) {
          const off = x.storage.log.toDataOffset(a.index);
          if (off !== a.dataOffset)
            throw new InvariantViolation(
              'dense offsets',
              `${x.id} maps ${a.index} "${a.value}" to offset ${off}, the proposer was told ${a.dataOffset}`,
            );
        }
      return;
    }
    const st = this.members.map(
      (m) => `${m.id}: ${m.node?.status().role ?? 'down'} applied ${m.node?.appliedIndex ?? '-'}`,
    );
    throw new Error(`seed ${this.seed}: no converged leader 10 s (virtual) after healing (${st.join('; ')})`);
  }
}
