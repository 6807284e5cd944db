/**
 * The SWIM/Lifeguard protocol as a deterministic state machine (memberlist's protocol logic
 * without its goroutines, timers and sockets — the etcd `RawNode` idea).
 *
 * Contract:
 * 1. Call `tick(now)` often (every few ms of the shell's timer or the simulator's clock);
 *    `now` is the injected clock in ms and never goes backwards.
 * 2. Feed every decoded UDP packet to `receivePacket`, every inbound stream request to
 *    `handleStream` (its return value is the reply to write), and the outcome of every
 *    stream the core asked for to `streamResult`.
 * 3. After each call, `drain()` the outputs and perform them in order: UDP sends, stream
 *    requests, events (deliver to subscribers in this order), refusals, join results.
 * 4. A shell that does not tick on a fixed period asks `nextDeadline()` after each call and
 *    sleeps until then: a `tick` before that time changes nothing (no output, no state the
 *    next calls can observe), so sleeping through it is equivalent to ticking.
 * Randomness (probe order, gossip targets) comes only from the injected RNG, so a seed
 * replays a run exactly.
 */
import { healthy } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { gossipRound, hasGossipTarget, randomMembers } from './dissemination.js';
import { type CoreParams, pushPullIntervalMs } from './params.js';
import { Prober } from './probe.js';
import {
  type CoreMetrics,
  type CoreState,
  type MemberRec,
  aliveNode,
  clusterMismatch,
  deadNode,
  info,
  liveCount,
  localState,
  mergeRemoteState,
  refuse,
  self,
  selfAlive,
  suspectNode,
  zeroMetrics,
} from './state.js';
import {
  type Address,
  type MemberInfo,
  type Message,
  type NodeName,
  type Output,
  type Rng,
  type StreamPurpose,
  type StreamResult,
  type Tags,
  RefuseReasons,
  incarnation,
} from './types.js';

/** What a core needs to start. */
export interface CoreOptions {
  readonly params: CoreParams;
  readonly name: NodeName;
  /** Address peers use to reach us (UDP and TCP share it). */
  readonly addr: Address;
  readonly tags: Tags;
  /** Cluster id we belong to; members with another one are refused. Defaults to tags.clusterId. */
  readonly clusterId?: string;
  readonly now: number;
  readonly rng: Rng;
}

interface PendingStream {
  readonly purpose: StreamPurpose;
  readonly to: Address;
  readonly seq?: number;
}

/** One member's protocol engine. See the module comment for the driving contract. */
export class GossipCore {
  private readonly s: CoreState;
  private readonly prober: Prober;
  private readonly streams = new Map<number, PendingStream>();
  private nextStreamId = 1;
  private nextGossipAt: number;
  private nextPushPullAt: number;
  private nextReconnectAt: number;

  constructor(o: CoreOptions) {
    const p = o.params;
    this.s = {
      params: p,
      self: o.name,
      clusterId: o.clusterId ?? o.tags['clusterId'],
      rng: o.rng,
      now: o.now,
      members: new Map(),
      suspicions: new Map(),
      awareness: healthy(p.awarenessMaxMultiplier),
      broadcasts: new BroadcastQueue(),
      outputs: [],
      leaving: false,
      metrics: zeroMetrics(),
      refusalsReported: new Set(),
    };
    const me: MemberRec = {
      name: o.name,
      addr: o.addr,
      tags: o.tags,
      incarnation: incarnation(0),
      state: 'alive',
      stateChangedAt: o.now,
    };
    this.s.members.set(o.name, me);
    // Announce ourselves to whoever we learn about (memberlist setAlive → aliveNode bootstrap).
    this.s.broadcasts.queue(o.name, selfAlive(this.s));
    this.s.outputs.push({ type: 'event', event: { type: 'join', member: info(me) } });
    // Stagger the periodic work so members started together do not act in lockstep.
    this.prober = new Prober(
      this.s,
      (to, ping, seq, timeoutMs) => void this.openStream(to, 'ping', ping, seq, timeoutMs),
    );
    this.nextGossipAt = o.now + Math.floor(o.rng() * p.gossipIntervalMs);
    this.nextPushPullAt = o.now + p.pushPullIntervalMs + Math.floor(o.rng() * p.pushPullIntervalMs);
    this.nextReconnectAt = o.now + p.reconnectIntervalMs + Math.floor(o.rng() * p.reconnectIntervalMs);
  }

  /** Our name. */
  get name(): NodeName {
    return this.s.self;
  }

  /** Snapshot of every known member (self included, dead and left until reaped). */
  members(): MemberInfo[] {
    return [...this.s.members.values()].map(info);
  }

  /** One member's snapshot. */
  member(name: NodeName): MemberInfo | undefined {
    const m = this.s.members.get(name);
    return m === undefined ? undefined : info(m);
  }

  /** How many members are alive (self included), without copying the table. */
  get aliveCount(): number {
    let n = 0;
    for (const m of this.s.members.values()) if (m.state === 'alive') n++;
    return n;
  }

  /** Protocol counters (live object; copy before keeping). */
  get metrics(): Readonly<CoreMetrics> {
    return this.s.metrics;
  }

  /** Current Lifeguard health score (0 = healthy). */
  get healthScore(): number {
    return this.s.awareness.score;
  }

  /** Broadcasts still waiting to be piggybacked. */
  get pendingBroadcasts(): number {
    return this.s.broadcasts.length;
  }

  /** True once `leave()` was called. */
  get leaving(): boolean {
    return this.s.leaving;
  }

  /** Takes the outputs accumulated since the last drain, in order. */
  drain(): Output[] {
    const out = this.s.outputs;
    this.s.outputs = [];
    return out;
  }

  /** Advances timers: suspicion deadlines, probe steps, gossip, push/pull, reconnect, reap. */
  tick(now: number): void {
    const s = this.s;
    s.now = Math.max(s.now, now);
    this.expireSuspicions();
    this.prober.step();
    if (s.now >= this.nextGossipAt) {
      gossipRound(s);
      this.nextGossipAt = s.now + s.params.gossipIntervalMs;
    }
    if (s.params.pushPullIntervalMs > 0 && s.now >= this.nextPushPullAt) {
      this.nextPushPullAt = s.now + pushPullIntervalMs(s.params, liveCount(s));
      if (!s.leaving) this.periodicPushPull('push-pull', (m) => m.state === 'alive');
    }
    if (s.params.reconnectIntervalMs > 0 && s.now >= this.nextReconnectAt) {
      this.nextReconnectAt = s.now + s.params.reconnectIntervalMs;
      if (!s.leaving) this.periodicPushPull('reconnect', (m) => m.state === 'dead');
    }
    this.reap();
  }

  /**
   * The earliest time at which `tick` would act (send, emit, expire or reap), given the state
   * now; `Infinity` when nothing is scheduled. It may be in the past (tick at once). A pure
   * query: it reads the timers `tick` checks — suspicion deadlines, the probe and relay steps,
   * push/pull and reconnect periods, reap times — and the gossip round only when it would send
   * (memberlist `gossip()` returns early when there is nothing to send, and so does ours: an
   * idle round is no packet, so it need not be a wakeup either). Any other call may move it
   * earlier, so re-ask after each.
   */
  nextDeadline(): number {
    const s = this.s;
    let d = this.prober.nextDeadline();
    for (const sus of s.suspicions.values()) d = Math.min(d, sus.deadline);
    if (s.broadcasts.length > 0 && hasGossipTarget(s)) d = Math.min(d, this.nextGossipAt);
    if (s.params.pushPullIntervalMs > 0) d = Math.min(d, this.nextPushPullAt);
    if (s.params.reconnectIntervalMs > 0) d = Math.min(d, this.nextReconnectAt);
    for (const m of s.members.values()) {
      if (m.name === s.self) continue;
      if (m.state === 'dead') d = Math.min(d, m.stateChangedAt + s.params.reapFailedMs);
      else if (m.state === 'left') d = Math.min(d, m.stateChangedAt + s.params.reapLeftMs);
    }
    return d;
  }

  /** Handles the messages of one received UDP packet from `from`. */
  receivePacket(now: number, from: Address, msgs: readonly Message[]): void {
    this.s.now = Math.max(this.s.now, now);
    for (const m of msgs) this.handleMessage(from, m);
  }

  /** Handles an inbound stream request; returns the reply to write, if any. */
  handleStream(now: number, from: Address, msg: Message): Message | undefined {
    const s = this.s;
    s.now = Math.max(s.now, now);
    if (msg.type === 'ping') {
      if (msg.target !== s.self) {
        s.metrics.misdirectedPings++;
        return undefined;
      }
      return { type: 'ack', seq: msg.seq };
    }
    if (msg.type !== 'push-pull') return undefined;
    const sender = msg.members.find((m) => m.name === msg.from);
    if (sender !== undefined && msg.from !== s.self && clusterMismatch(s, sender.tags)) {
      refuse(s, msg.from, sender.addr, sender.tags);
      return { type: 'refuse', reason: RefuseReasons.clusterMismatch, clusterId: s.clusterId ?? '' };
    }
    s.metrics.pushPulls++;
    const reply: Message = { type: 'push-pull', join: false, from: s.self, members: localState(s) };
    mergeRemoteState(s, msg.members);
    return reply;
  }

  /** Reports the outcome of a stream the core requested (output `stream` with this id). */
  streamResult(now: number, id: number, result: StreamResult): void {
    const s = this.s;
    s.now = Math.max(s.now, now);
    const pending = this.streams.get(id);
    if (pending === undefined) return;
    this.streams.delete(id);
    if (pending.purpose === 'ping') {
      if (result.ok && result.reply.type === 'ack') this.prober.onAck(result.reply.seq);
      return;
    }
    let ok = false;
    let reason: string | undefined;
    if (!result.ok) reason = result.error;
    else if (result.reply.type === 'refuse') {
      reason = `refused: ${result.reply.reason} (their cluster id "${result.reply.clusterId}")`;
      s.metrics.refused++;
    } else if (result.reply.type === 'push-pull') {
      const reply = result.reply;
      const sender = reply.members.find((m) => m.name === reply.from);
      if (sender !== undefined && clusterMismatch(s, sender.tags)) {
        refuse(s, reply.from, sender.addr, sender.tags);
        reason = `refused: ${RefuseReasons.clusterMismatch} (their cluster id "${sender.tags['clusterId'] ?? ''}")`;
      } else {
        s.metrics.pushPulls++;
        mergeRemoteState(s, reply.members);
        ok = true;
      }
    } else reason = `unexpected reply ${result.reply.type}`;
    if (pending.purpose === 'join') {
      s.outputs.push(
        reason === undefined
          ? { type: 'join-result', id, to: pending.to, ok }
          : { type: 'join-result', id, to: pending.to, ok, reason },
      );
    }
  }

  /**
   * Starts joining through `seeds` (already resolved addresses): one push/pull with each.
   * Returns the stream ids; each produces a `join-result` output.
   */
  join(now: number, seeds: readonly Address[]): number[] {
    this.s.now = Math.max(this.s.now, now);
    return seeds.map((to) => this.openStream(to, 'join', this.pushPullMessage(true)));
  }

  /**
   * Gracefully leaves: marks us left and broadcasts it (peers record *left*, not failed).
   * Keep ticking until `pendingBroadcasts` reaches 0 (or a timeout) before stopping.
   */
  leave(now: number): void {
    const s = this.s;
    s.now = Math.max(s.now, now);
    if (s.leaving) return;
    s.leaving = true;
    const me = self(s);
    deadNode(s, { type: 'dead', incarnation: me.incarnation, node: me.name, from: me.name });
    this.prober.stop();
  }

  /** Replaces our tags: raises our incarnation and broadcasts them (peers see `update`). */
  setTags(now: number, tags: Tags): void {
    const s = this.s;
    s.now = Math.max(s.now, now);
    const me = self(s);
    me.tags = { ...tags };
    me.incarnation = incarnation(me.incarnation + 1);
    s.broadcasts.queue(me.name, selfAlive(s));
    s.outputs.push({ type: 'event', event: { type: 'update', member: info(me) } });
  }

  // ---- internals ----

  private handleMessage(from: Address, m: Message): void {
    const s = this.s;
    switch (m.type) {
      case 'ping':
        return this.prober.onPing(from, m);
      case 'indirect-ping':
        return this.prober.onIndirectPing(from, m);
      case 'ack':
        return this.prober.onAck(m.seq);
      case 'nack':
        return this.prober.onNack(m.seq);
      case 'alive':
        return aliveNode(s, m);
      case 'suspect':
        return suspectNode(s, m);
      case 'dead':
        return deadNode(s, m);
      case 'push-pull':
      case 'refuse':
        // Stream-only messages arriving over UDP are ignored.
        return;
    }
  }

  private openStream(to: Address, purpose: StreamPurpose, msg: Message, seq?: number, timeoutMs?: number): number {
    const id = this.nextStreamId++;
    this.streams.set(id, seq === undefined ? { purpose, to } : { purpose, to, seq });
    this.s.outputs.push({
      type: 'stream',
      id,
      to,
      msg,
      purpose,
      timeoutMs: timeoutMs ?? this.s.params.streamTimeoutMs,
    });
    return id;
  }

  private pushPullMessage(join: boolean): Message {
    return { type: 'push-pull', join, from: this.s.self, members: localState(this.s) };
  }

  private expireSuspicions(): void {
    const s = this.s;
    for (const [name, sus] of [...s.suspicions]) {
      if (sus.deadline > s.now) continue;
      s.suspicions.delete(name);
      const m = s.members.get(name);
      if (m === undefined || m.state !== 'suspect' || m.incarnation !== sus.incarnation) continue;
      s.metrics.deathsDeclared++;
      deadNode(s, { type: 'dead', incarnation: m.incarnation, node: name, from: s.self });
    }
  }

  private periodicPushPull(purpose: 'push-pull' | 'reconnect', pred: (m: MemberRec) => boolean): void {
    const [peer] = randomMembers(this.s, 1, pred);
    if (peer !== undefined) this.openStream(peer.addr, purpose, this.pushPullMessage(false));
  }

  /** Forgets dead and left members after their reap timeouts (Serf reaper). */
  private reap(): void {
    const s = this.s;
    for (const m of [...s.members.values()]) {
      if (m.name === s.self) continue;
      const after = m.state === 'dead' ? s.params.reapFailedMs : m.state === 'left' ? s.params.reapLeftMs : undefined;
      if (after === undefined || s.now - m.stateChangedAt < after) continue;
      s.members.delete(m.name);
      s.metrics.reaped++;
      s.outputs.push({ type: 'event', event: { type: 'reap', member: info(m) } });
    }
  }
}
