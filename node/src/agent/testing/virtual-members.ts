/**
 * The agent's membership reconciler (membership.ts) on virtual time (issue 13 item 3): real
 * {@link RaftNode}s on one {@link ManualLoopClock}, each on a simulated disk and a virtual
 * network (raft/sim/virtual-net.ts), each with its own {@link MembershipReconciler} whose
 * resync timer runs on the same clock — and a scripted gossip view the test writes (who is
 * alive, with which boot and storage id), which every reconciler reads and hears events
 * from. No process, socket or wall-clock wait: {@link VirtualMembers.until} moves virtual
 * time until a state holds, and fails naming it after a bound of virtual time.
 */
import type { Gossip, MemberEvent, MemberInfo } from '../../gossip/index.js';
import { MemoryFileSystem } from '../../log/index.js';
import { seededRng } from '../../raft/core/env.js';
import { nodeId, type NodeId } from '../../raft/core/types.js';
import { RaftNode } from '../../raft/shell/raft-node.js';
import { ManualLoopClock } from '../../raft/shell/testing/manual-loop-clock.js';
import { VirtualNet } from '../../raft/sim/virtual-net.js';
import { MembershipReconciler, RemovedMembers } from '../membership.js';
import { agentTags, PeerDirectory } from '../peers.js';
import { MemberStorageIds } from '../storage-id.js';

const CLUSTER = 'sim';
const TICK_MS = 10;
const STEP_MS = 5;
/** The reconciler's periodic pass: far longer than a test runs in real time, so only virtual time can fire it. */
export const RESYNC_MS = 20_000;

type GossipEvent = MemberEvent['type'];
const quiet = { info: () => {}, warn: () => {}, debug: () => {} };

/** The gossip view of the test, shared by every node's reconciler. */
class ScriptedGossip {
  private readonly view = new Map<string, MemberInfo>();
  private readonly listeners = new Set<(e: MemberEvent) => void>();
  on(_: 'event', fn: (e: MemberEvent) => void): void {
    this.listeners.add(fn);
  }
  off(_: 'event', fn: (e: MemberEvent) => void): void {
    this.listeners.delete(fn);
  }
  members(): MemberInfo[] {
    return [...this.view.values()];
  }
  aliveMembers(): MemberInfo[] {
    return this.members().filter((m) => m.state === 'alive');
  }
  /** Records `member` and tells every listener. */
  emit(type: GossipEvent, member: MemberInfo): void {
    this.view.set(member.name, member);
    for (const l of [...this.listeners]) l({ type, member } as MemberEvent);
  }
}

interface Member {
  readonly id: NodeId;
  disk: MemoryFileSystem;
  node: RaftNode | null;
  reconciler: MembershipReconciler | null;
  boot: number;
  storage: number;
}

/** A cluster whose membership only the reconcilers change; see the module comment. */
export class VirtualMembers {
  readonly clock = new ManualLoopClock();
  private readonly rand = seededRng(13);
  private readonly net = new VirtualNet(this.clock, this.rand, CLUSTER, {
    dropRate: 0,
    dupRate: 0,
    maxDelayMs: 2 * TICK_MS,
  });
  private readonly gossip = new ScriptedGossip();
  private readonly members = new Map<NodeId, Member>();
  private restarts = 0;

  /** Starts `ids` as the bootstrapped voters, all alive in gossip. */
  static async bootstrap(ids: readonly string[]): Promise<VirtualMembers> {
    const c = new VirtualMembers();
    const voters = ids.map(nodeId);
    for (const id of voters) await c.start(c.member(id), voters);
    return c;
  }

  private member(id: NodeId): Member {
    let m = this.members.get(id);
    if (m === undefined) {
      m = {
        id,
        disk: new MemoryFileSystem(() => this.rand.nextFloat()),
        node: null,
        reconciler: null,
        boot: 1,
        storage: 1,
      };
      this.members.set(id, m);
    }
    return m;
  }

  private info(m: Member, state: MemberInfo['state']): MemberInfo {
    const tags = agentTags({
      rpcAddr: `${m.id}:8400`,
      raftId: m.id,
      clusterId: CLUSTER,
      role: 'voter',
      boot: `${m.id}-boot-${m.boot}`,
      storage: `${m.id}-storage-${m.storage}`,
    });
    return {
      name: m.id,
      addr: `${m.id}:8401`,
      tags,
      incarnation: m.boot,
      state,
      stateChangedAt: this.clock.now(),
    } as never;
  }

  /** Starts `m` from its disk (a joiner: no bootstrap), its reconciler, and announces it alive in gossip. */
  private async start(m: Member, bootstrap?: readonly NodeId[]): Promise<void> {
    const node = await RaftNode.start({
      id: m.id,
      dir: `/data/${m.id}`,
      clusterId: CLUSTER,
      ...(bootstrap !== undefined ? { bootstrap: { voters: bootstrap } } : {}),
      transport: this.net.endpoint(m.id),
      fs: m.disk,
      clock: this.clock,
      loopTimers: this.clock.loopTimers,
      seed: 1000 + this.restarts++,
      shellConfig: { tickMs: TICK_MS, requestTimeoutMs: 200 * TICK_MS },
    });
    m.node = node;
    m.reconciler = new MembershipReconciler(
      node,
      this.gossip as unknown as Gossip,
      new PeerDirectory(CLUSTER),
      RESYNC_MS,
      quiet,
      new RemovedMembers(),
      undefined,
      { ids: MemberStorageIds.inMemory() },
      this.clock,
    );
    m.reconciler.start();
    this.gossip.emit('join', this.info(m, 'alive'));
  }

  /** A new process `id` on an empty disk joins (gossip join; no bootstrap: the leader must add it). */
  async join(id: string): Promise<void> {
    await this.start(this.member(nodeId(id)));
  }

  /** `id`'s process dies (its disk kept); gossip declares it failed. */
  async kill(id: string): Promise<void> {
    const m = this.member(nodeId(id));
    await m.reconciler?.stop();
    await m.node?.stop();
    m.node = null;
    m.reconciler = null;
    this.gossip.emit('failed', this.info(m, 'dead'));
  }

  /** The same process `id` is alive again in gossip (a false failure refuted): same boot id, nothing restarted. */
  refute(id: string): void {
    this.gossip.emit('update', this.info(this.member(nodeId(id)), 'alive'));
  }

  /** `id` comes back on a wiped disk: a new process with a new storage id and no state. */
  async restartWiped(id: string): Promise<void> {
    const m = this.member(nodeId(id));
    if (m.node !== null) await this.kill(id);
    m.disk = new MemoryFileSystem(() => this.rand.nextFloat());
    m.boot++;
    m.storage++;
    await this.start(m);
  }

  /** The running node `id`. @throws Error when it is down. */
  node(id: string): RaftNode {
    const n = this.members.get(nodeId(id))?.node;
    if (n == null) throw new Error(`${id} is not running`);
    return n;
  }

  /** The running leader, if exactly one node leads. */
  leader(): RaftNode | undefined {
    const ls = this.running().filter((n) => n.isLeader);
    return ls.length === 1 ? ls[0] : undefined;
  }

  running(): RaftNode[] {
    return [...this.members.values()].flatMap((m) => (m.node === null ? [] : [m.node]));
  }

  /** `id`'s view of the configuration, e.g. `n1:voter n4:learner` (sorted). */
  configOf(id: string): string {
    return this.node(id)
      .status()
      .members.map((m) => `${m.id}:${m.suffrage}`)
      .sort()
      .join(' ');
  }

  /** One step of virtual time and the loops' turns. */
  async step(): Promise<void> {
    this.clock.advance(STEP_MS);
    for (let i = 0; i < 8; i++) await new Promise<void>((r) => setImmediate(r));
  }

  /** Moves virtual time until `holds()` (`watch` sees every step); throws naming `what` and every node's view after `maxMs` virtual ms. */
  async until(what: string, holds: () => boolean, maxMs = 60_000, watch: () => void = () => {}): Promise<void> {
    const end = this.clock.now() + maxMs;
    while (this.clock.now() < end) {
      watch();
      if (holds()) return;
      await this.step();
    }
    const views = this.running().map(
      (n) => `${n.id} (${n.status().role}, applied ${n.appliedIndex}): ${this.configOf(n.id)}`,
    );
    throw new Error(`not within ${maxMs} virtual ms: ${what}; ${views.join('; ')}`);
  }

  /** Lets `ms` of virtual time pass. */
  async idle(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) await this.step();
  }

  /** Stops every reconciler and node. */
  async close(): Promise<void> {
    for (const m of this.members.values()) {
      await m.reconciler?.stop();
      await m.node?.stop();
    }
  }
}
