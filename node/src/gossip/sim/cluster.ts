/**
 * Deterministic gossip cluster simulator: real {@link GossipCore}s on a {@link SimNetwork}
 * with virtual time. Every packet is encoded and decoded with the real codec (so byte counts
 * are exact), and every run is a pure function of its seed.
 */
import { decodeMessage, decodePacket, encodeMessage, encodePacket } from '../core/codec.js';
import { GossipCore } from '../core/gossip-core.js';
import { type CoreParams } from '../core/params.js';
import {
  type Address,
  type MemberEvent,
  type MemberState,
  type NodeName,
  type Output,
  type Refusal,
  type Tags,
  address,
  nodeName,
} from '../core/types.js';
import { EventQueue, type LinkModel, SimNetwork } from './network.js';
import { hash32, seededRng } from './rng.js';

/** Simulator settings. */
export interface SimOptions {
  readonly seed: number;
  readonly params: CoreParams;
  readonly link: LinkModel;
  /** Virtual tick period for every node. */
  readonly tickMs: number;
  /** Give up on a graceful leave's broadcast after this long (shell `leave(timeout)`). */
  readonly leaveTimeoutMs?: number;
}

/** An event as one member (the observer) saw it. */
export interface RecordedEvent {
  readonly at: number;
  readonly observer: NodeName;
  readonly event: MemberEvent;
}

/** Lifecycle of a simulated member process. */
export type NodeStatus = 'running' | 'leaving' | 'left' | 'killed';

interface SimNode {
  readonly name: NodeName;
  addr: Address;
  core: GossipCore | undefined;
  status: NodeStatus;
  leaveStartedAt: number;
  /** Times of status changes, for the checkers. */
  killedAt: number;
  bytesSent: number;
  /** Seed names to retry joining while alone (the shell's retry-join). */
  seeds: readonly string[];
  lastJoinAt: number;
}

/** The simulated cluster. */
export class SimCluster {
  now = 0;
  readonly events: RecordedEvent[] = [];
  readonly refusals: { readonly at: number; readonly observer: NodeName; readonly refusal: Refusal }[] = [];
  readonly joinResults: { readonly observer: NodeName; readonly ok: boolean; readonly reason?: string }[] = [];
  totalBytes = 0;
  totalPackets = 0;
  private readonly nodes = new Map<NodeName, SimNode>();
  private readonly queue = new EventQueue();
  readonly net: SimNetwork;
  private nextTick = 0;
  private nextAddr = 1;

  constructor(readonly opts: SimOptions) {
    this.net = new SimNetwork(seededRng(opts.seed), opts.link);
  }

  /** Starts a member, joining through the named seeds (their current addresses). */
  start(name: string, seeds: readonly string[] = [], tags: Tags = {}, addr?: string): NodeName {
    const n = nodeName(name);
    const existing = this.nodes.get(n);
    const a = address(addr ?? existing?.addr ?? `10.0.${(this.nextAddr >> 8) & 255}.${this.nextAddr++ & 255}:8401`);
    const core = new GossipCore({
      params: this.opts.params,
      name: n,
      addr: a,
      tags,
      now: this.now,
      // Per-node stream derived from the seed and the name (and restart count via time).
      rng: seededRng(this.opts.seed ^ hash32(name) ^ this.now),
    });
    const node: SimNode = {
      name: n,
      addr: a,
      core,
      status: 'running',
      leaveStartedAt: 0,
      killedAt: 0,
      bytesSent: existing?.bytesSent ?? 0,
      seeds,
      lastJoinAt: this.now,
    };
    this.nodes.set(n, node);
    this.join(node, core);
    this.flush(node, core);
    return n;
  }

  private join(node: SimNode, core: GossipCore): void {
    node.lastJoinAt = this.now;
    const seedAddrs = node.seeds
      .map((s) => this.nodes.get(nodeName(s))?.addr)
      .filter((x): x is Address => x !== undefined && x !== node.addr);
    if (seedAddrs.length > 0) core.join(this.now, seedAddrs);
  }

  /** Crashes a member (kill -9): it stops answering at once. */
  kill(name: string): void {
    const node = this.get(name);
    node.core = undefined;
    node.status = 'killed';
    node.killedAt = this.now;
  }

  /** Starts a graceful leave; the member stops once its leave broadcast is out. */
  leave(name: string): void {
    const node = this.get(name);
    if (node.core === undefined) return;
    node.core.leave(this.now);
    node.status = 'leaving';
    node.leaveStartedAt = this.now;
    this.flush(node, node.core);
  }

  /** Partitions by member names; unlisted members form their own side. */
  partition(...sides: readonly (readonly string[])[]): void {
    this.net.partition(sides.map((side) => side.map((s) => this.get(s).addr)));
  }

  /** Heals all partitions. */
  heal(): void {
    this.net.heal();
  }

  /** Member status. */
  status(name: string): NodeStatus {
    return this.get(name).status;
  }

  /** Names of members by status. */
  names(...statuses: readonly NodeStatus[]): NodeName[] {
    return [...this.nodes.values()].filter((n) => statuses.includes(n.status)).map((n) => n.name);
  }

  /** The running core of a member (for assertions). */
  core(name: string): GossipCore {
    const c = this.get(name).core;
    if (c === undefined) throw new Error(`sim: ${name} is not running`);
    return c;
  }

  /** What `observer` believes about `subject` (undefined = unknown or reaped). */
  stateOf(observer: string, subject: string): MemberState | undefined {
    return this.get(observer).core?.member(nodeName(subject))?.state;
  }

  /** Bytes sent by one member so far. */
  bytesSent(name: string): number {
    return this.get(name).bytesSent;
  }

  /**
   * True when all running members hold the same view: every running member is in it (alive,
   * or suspect — still a member until declared dead), every killed member is dead (or
   * forgotten) and every left member is left (or forgotten).
   */
  converged(): boolean {
    const all = [...this.nodes.values()];
    for (const obs of all) {
      if (obs.status !== 'running' || obs.core === undefined) continue;
      for (const sub of all) {
        const st = obs.core.member(sub.name)?.state;
        if (sub.status === 'running' && st !== 'alive' && st !== 'suspect') return false;
        if (sub.status === 'killed' && st !== undefined && st !== 'dead') return false;
        if (sub.status === 'left' && st !== undefined && st !== 'left') return false;
      }
    }
    return true;
  }

  /** Runs virtual time forward by `ms`. */
  runFor(ms: number): void {
    const end = this.now + ms;
    while (this.nextTick <= end) this.step();
    this.now = end;
  }

  /** Runs until `pred` holds (checked every tick) or `maxMs` pass; returns the elapsed ms or undefined. */
  runUntil(pred: () => boolean, maxMs: number): number | undefined {
    const start = this.now;
    while (this.now - start <= maxMs) {
      if (pred()) return this.now - start;
      this.step();
    }
    return undefined;
  }

  private get(name: string): SimNode {
    const n = this.nodes.get(nodeName(name));
    if (n === undefined) throw new Error(`sim: no member ${name}`);
    return n;
  }

  private nodeAt(addr: Address): SimNode | undefined {
    for (const n of this.nodes.values()) if (n.addr === addr && n.core !== undefined) return n;
    return undefined;
  }

  private step(): void {
    const t = this.nextTick;
    while (this.queue.peekTime() <= t) {
      const ev = this.queue.pop();
      if (ev === undefined) break;
      this.now = Math.max(this.now, ev.at);
      ev.run();
    }
    this.now = t;
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core === undefined) continue;
      core.tick(t);
      // As the shell does: while we know no one else, retry joining the seeds.
      const retryEvery = this.opts.params.reconnectIntervalMs || this.opts.params.pushPullIntervalMs;
      if (
        node.status === 'running' &&
        node.seeds.length > 0 &&
        t - node.lastJoinAt >= retryEvery &&
        core.members().every((m) => m.name === node.name || m.state !== 'alive')
      ) {
        this.join(node, core);
      }
      this.flush(node, core);
      if (node.status === 'leaving') {
        const timeout = this.opts.leaveTimeoutMs ?? 10 * this.opts.params.probeIntervalMs;
        if (core.pendingBroadcasts === 0 || t - node.leaveStartedAt >= timeout) {
          node.core = undefined;
          node.status = 'left';
        }
      }
    }
    this.nextTick = t + this.opts.tickMs;
  }

  private flush(node: SimNode, core: GossipCore): void {
    for (const out of core.drain()) this.perform(node, core, out);
  }

  private perform(node: SimNode, core: GossipCore, out: Output): void {
    switch (out.type) {
      case 'send': {
        const bytes = encodePacket(out.msgs);
        this.count(node, bytes.length + 1);
        const copies = this.net.copies(node.addr, out.to);
        for (let i = 0; i < copies; i++) {
          this.queue.push(this.now + this.net.latency(), () => {
            const dst = this.nodeAt(out.to);
            if (dst?.core === undefined) return;
            const dec = decodePacket(bytes);
            if (!dec.ok) throw new Error(`sim: own packet failed to decode: ${dec.code} ${dec.detail}`);
            dst.core.receivePacket(this.now, node.addr, dec.value);
            this.flush(dst, dst.core);
          });
        }
        return;
      }
      case 'stream': {
        const req = encodeMessage(out.msg);
        this.count(node, req.length + 5);
        const sentAt = this.now;
        const fail = (): void =>
          this.queue.push(sentAt + out.timeoutMs, () => {
            if (node.core !== core) return;
            core.streamResult(this.now, out.id, { ok: false, error: 'timeout' });
            this.flush(node, core);
          });
        const there = this.net.streamDelay();
        const back = this.net.streamDelay();
        if (!this.net.connected(node.addr, out.to) || there === undefined || back === undefined) return fail();
        this.queue.push(this.now + there, () => {
          const dst = this.nodeAt(out.to);
          if (dst?.core === undefined || !this.net.connected(node.addr, out.to) || this.now > sentAt + out.timeoutMs)
            return fail();
          const dec = decodeMessage(req);
          if (!dec.ok) throw new Error(`sim: own frame failed to decode: ${dec.code}`);
          const reply = dst.core.handleStream(this.now, node.addr, dec.value);
          this.flush(dst, dst.core);
          if (reply === undefined) return fail();
          const rb = encodeMessage(reply);
          this.count(dst, rb.length + 5);
          if (this.now + back > sentAt + out.timeoutMs) return fail();
          this.queue.push(this.now + back, () => {
            if (node.core !== core) return;
            const r = decodeMessage(rb);
            core.streamResult(this.now, out.id, r.ok ? { ok: true, reply: r.value } : { ok: false, error: r.code });
            this.flush(node, core);
          });
        });
        return;
      }
      case 'event':
        this.events.push({ at: this.now, observer: node.name, event: out.event });
        return;
      case 'refused':
        this.refusals.push({ at: this.now, observer: node.name, refusal: out.refusal });
        return;
      case 'join-result':
        this.joinResults.push(
          out.reason === undefined
            ? { observer: node.name, ok: out.ok }
            : { observer: node.name, ok: out.ok, reason: out.reason },
        );
        return;
    }
  }

  private count(node: SimNode, bytes: number): void {
    node.bytesSent += bytes;
    this.totalBytes += bytes;
    this.totalPackets++;
  }
}
