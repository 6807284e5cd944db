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
 * Randomness (probe order, gossip targets) comes only from the injected RNG, so a seed
 * replays a run exactly.
 */
import { healthy, applyDelta, scaleTimeout } from './awareness.js';
import { BroadcastQueue } from './broadcast-queue.js';
import { Limits, PACKET_HEADER_BYTES, messageSize } from './codec.js';
import { type CoreParams, pushPullIntervalMs, retransmitLimit } from './params.js';
import {
  type CoreMetrics,
  type CoreState,
  type MemberRec,
  aliveNode,
  clusterMismatch,
  deadNode,
  info,
  knownCount,
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

/** Most indirect probes relayed at once. */
const MAX_RELAYS = 1024;

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

interface ActiveProbe {
  readonly seq: number;
  readonly target: NodeName;
  readonly deadline: number;
  readonly timeoutAt: number;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly origSeq: number;
  readonly replyTo: Address;
  readonly nackAt: number | undefined;
  readonly expireAt: number;
}

interface PendingStream {
  readonly purpose: StreamPurpose;
  readonly to: Address;
  readonly seq?: number;
}

/** One member's protocol engine. See the module comment for the driving contract. */
export class GossipCore {
  private readonly s: CoreState;
  private probeOrder: NodeName[] = [];
  private probeIndex = 0;
  private probe: ActiveProbe | undefined;
  private readonly relays = new Map<number, Relay>();
  private readonly streams = new Map<number, PendingStream>();
  private seq = 0;
  private nextStreamId = 1;
  private nextProbeAt: number;
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
    this.nextProbeAt = o.now + Math.floor(o.rng() * p.probeIntervalMs);
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
    this.expireRelays();
    this.stepProbe();
    if (s.now >= this.nextGossipAt) {
      this.gossip();
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
      if (result.ok && result.reply.type === 'ack' && this.probe?.seq === result.reply.seq) this.probeSucceeded();
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
    this.probe = undefined;
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
        if (m.target !== s.self) {
          s.metrics.misdirectedPings++;
          return;
        }
        this.send(from, [{ type: 'ack', seq: m.seq }]);
        return;
      case 'indirect-ping': {
        // Bounded: a flood of relay requests cannot grow memory past one probe period's worth.
        if (this.relays.size >= MAX_RELAYS) return;
        const seq = this.nextSeq();
        this.relays.set(seq, {
          origSeq: m.seq,
          replyTo: from,
          nackAt: m.nack ? s.now + s.params.probeTimeoutMs : undefined,
          expireAt: s.now + s.params.probeIntervalMs,
        });
        this.send(m.targetAddr, [{ type: 'ping', seq, target: m.target, from: s.self }]);
        return;
      }
      case 'ack': {
        if (this.probe?.seq === m.seq) {
          this.probeSucceeded();
          return;
        }
        const relay = this.relays.get(m.seq);
        if (relay !== undefined) {
          this.relays.delete(m.seq);
          this.send(relay.replyTo, [{ type: 'ack', seq: relay.origSeq }]);
        }
        return;
      }
      case 'nack':
        if (this.probe?.seq === m.seq) this.probe.nacks++;
        return;
      case 'alive':
        aliveNode(s, m);
        return;
      case 'suspect':
        suspectNode(s, m);
        return;
      case 'dead':
        deadNode(s, m);
        return;
      case 'push-pull':
      case 'refuse':
        // Stream-only messages arriving over UDP are ignored.
        return;
    }
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  /** Sends `msgs` to `to`, filling the rest of the packet with broadcasts (piggyback). */
  private send(to: Address, msgs: readonly Message[]): void {
    const s = this.s;
    const used = PACKET_HEADER_BYTES + msgs.reduce((n, m) => n + messageSize(m), 0);
    const extra = s.broadcasts.take(
      s.params.packetBudget - used,
      retransmitLimit(s.params, knownCount(s)),
      Limits.messagesPerPacket - msgs.length,
    );
    s.outputs.push({ type: 'send', to, msgs: [...msgs, ...extra] });
  }

  private openStream(to: Address, purpose: StreamPurpose, msg: Message, seq?: number, timeoutMs?: number): number {
    const id = this.nextStreamId++;
    this.streams.set(id, seq === undefined ? { purpose, to } : { purpose, to, seq });
    this.s.outputs.push({ type: 'stream', id, to, msg, purpose, timeoutMs: timeoutMs ?? this.s.params.streamTimeoutMs });
    return id;
  }

  private pushPullMessage(join: boolean): Message {
    return { type: 'push-pull', join, from: this.s.self, members: localState(this.s) };
  }

  private randomMembers(k: number, pred: (m: MemberRec) => boolean): MemberRec[] {
    const pool = [...this.s.members.values()].filter((m) => m.name !== this.s.self && pred(m));
    // Partial Fisher–Yates with the injected RNG.
    for (let i = 0; i < Math.min(k, pool.length); i++) {
      const j = i + Math.floor(this.s.rng() * (pool.length - i));
      const t = pool[i] as MemberRec;
      pool[i] = pool[j] as MemberRec;
      pool[j] = t;
    }
    return pool.slice(0, k);
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

  private expireRelays(): void {
    const now = this.s.now;
    for (const [seq, r] of [...this.relays]) {
      if (r.nackAt !== undefined && r.nackAt <= now) {
        this.relays.delete(seq);
        this.send(r.replyTo, [{ type: 'nack', seq: r.origSeq }]);
      } else if (r.expireAt <= now) this.relays.delete(seq);
    }
  }

  /** Next member to probe: round-robin over a shuffled list (bounded detection, SWIM §4.3). */
  private nextProbeTarget(): MemberRec | undefined {
    const s = this.s;
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.probeIndex < this.probeOrder.length) {
        const name = this.probeOrder[this.probeIndex++] as NodeName;
        const m = s.members.get(name);
        if (m !== undefined && (m.state === 'alive' || m.state === 'suspect')) return m;
      }
      const names = this.randomMembers(Number.MAX_SAFE_INTEGER, () => true).map((m) => m.name);
      this.probeOrder = names;
      this.probeIndex = 0;
    }
    return undefined;
  }

  private stepProbe(): void {
    const s = this.s;
    const p = this.probe;
    if (p !== undefined) {
      if (!p.indirectSent && s.now >= p.timeoutAt) this.sendIndirect(p);
      if (s.now >= p.deadline) this.probeFailed(p);
      return;
    }
    if (s.leaving || s.now < this.nextProbeAt) return;
    const target = this.nextProbeTarget();
    const interval = scaleTimeout(s.awareness, s.params.probeIntervalMs);
    this.nextProbeAt = s.now + interval;
    if (target === undefined) return;
    const seq = this.nextSeq();
    this.probe = {
      seq,
      target: target.name,
      deadline: s.now + interval,
      timeoutAt: s.now + scaleTimeout(s.awareness, s.params.probeTimeoutMs),
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    s.metrics.probes++;
    const msgs: Message[] = [{ type: 'ping', seq, target: target.name, from: s.self }];
    // A suspect learns it is suspected from the probe itself and can refute at once.
    if (target.state === 'suspect') {
      msgs.push({ type: 'suspect', incarnation: target.incarnation, node: target.name, from: s.self });
    }
    this.send(target.addr, msgs);
  }

  private sendIndirect(p: ActiveProbe): void {
    const s = this.s;
    p.indirectSent = true;
    const target = s.members.get(p.target);
    if (target === undefined) return;
    const peers = this.randomMembers(s.params.indirectChecks, (m) => m.state === 'alive' && m.name !== p.target);
    for (const peer of peers) {
      p.expectedNacks++;
      s.metrics.indirectProbes++;
      this.send(peer.addr, [
        { type: 'indirect-ping', seq: p.seq, target: p.target, targetAddr: target.addr, nack: true, from: s.self },
      ]);
    }
    if (s.params.streamFallbackPing) {
      s.metrics.streamPings++;
      const ping: Message = { type: 'ping', seq: p.seq, target: p.target, from: s.self };
      this.openStream(target.addr, 'ping', ping, p.seq, Math.max(1, p.deadline - s.now));
    }
  }

  private probeSucceeded(): void {
    this.probe = undefined;
    this.s.awareness = applyDelta(this.s.awareness, -1);
  }

  private probeFailed(p: ActiveProbe): void {
    const s = this.s;
    this.probe = undefined;
    s.metrics.probeFailures++;
    // Lifeguard §4.1: missing nacks mean *we* may be the unhealthy one.
    const delta = p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1;
    s.awareness = applyDelta(s.awareness, delta);
    const target = s.members.get(p.target);
    if (target === undefined || (target.state !== 'alive' && target.state !== 'suspect')) return;
    suspectNode(s, { type: 'suspect', incarnation: target.incarnation, node: target.name, from: s.self });
  }

  /** Piggyback-only gossip to a few random members (memberlist `gossip`). */
  private gossip(): void {
    const s = this.s;
    if (s.broadcasts.length === 0) return;
    const targets = this.randomMembers(s.params.gossipNodes, (m) => {
      if (m.state === 'alive' || m.state === 'suspect') return true;
      return m.state === 'dead' && s.now - m.stateChangedAt < s.params.gossipToTheDeadMs;
    });
    const limit = retransmitLimit(s.params, knownCount(s));
    for (const t of targets) {
      const msgs = s.broadcasts.take(s.params.packetBudget - PACKET_HEADER_BYTES, limit, Limits.messagesPerPacket);
      if (msgs.length === 0) return;
      s.outputs.push({ type: 'send', to: t.addr, msgs });
    }
  }

  private periodicPushPull(purpose: 'push-pull' | 'reconnect', pred: (m: MemberRec) => boolean): void {
    const [peer] = this.randomMembers(1, pred);
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
