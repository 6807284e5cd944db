/**
 * The failure detector (SWIM §3.1 and §4.3, Lifeguard §4.1; memberlist `probeNode`): one
 * probe per period, round-robin over a shuffled member list; direct ping, then after the
 * probe timeout `indirectChecks` indirect pings (with nacks) and an optional stream ping;
 * no ack by the end of the period → suspect. Also relays indirect pings for others.
 */
import { applyDelta, scaleTimeout } from './awareness.js';
import { randomMembers, sendWithPiggyback } from './dissemination.js';
import { type CoreState, type MemberRec, suspectNode } from './state.js';
import { type Address, type Message, type NodeName } from './types.js';

/** Most indirect probes relayed at once. */
const MAX_RELAYS = 1024;

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

/** Opens a stream ping for probe `seq`; provided by the core (it owns stream ids). */
export type OpenStreamPing = (to: Address, ping: Message, seq: number, timeoutMs: number) => void;

/** Probe and relay state of one core. */
export class Prober {
  private probeOrder: NodeName[] = [];
  private probeIndex = 0;
  private probe: ActiveProbe | undefined;
  private readonly relays = new Map<number, Relay>();
  private seq = 0;
  private nextProbeAt: number;

  constructor(
    private readonly s: CoreState,
    private readonly openStreamPing: OpenStreamPing,
  ) {
    // Stagger so members started together do not probe in lockstep.
    this.nextProbeAt = s.now + Math.floor(s.rng() * s.params.probeIntervalMs);
  }

  /** Advances the running probe, or starts the next one when its period is due. */
  step(): void {
    this.expireRelays();
    const s = this.s;
    const p = this.probe;
    if (p !== undefined) {
      if (!p.indirectSent && s.now >= p.timeoutAt) this.sendIndirect(p);
      if (s.now >= p.deadline) this.failed(p);
      return;
    }
    if (s.leaving || s.now < this.nextProbeAt) return;
    const target = this.nextTarget();
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
    sendWithPiggyback(s, target.addr, msgs);
  }

  /**
   * The earliest time at which {@link step} would act: the running probe's timeout (indirect
   * probes) or end, else the next probe period (none while leaving), and every relay's nack or
   * expiry. A step before it changes nothing.
   */
  nextDeadline(): number {
    let d = Infinity;
    const p = this.probe;
    if (p !== undefined) d = p.indirectSent ? p.deadline : Math.min(p.timeoutAt, p.deadline);
    else if (!this.s.leaving) d = this.nextProbeAt;
    for (const r of this.relays.values()) d = Math.min(d, r.nackAt ?? r.expireAt, r.expireAt);
    return d;
  }

  /** Abandons the running probe (we are leaving). */
  stop(): void {
    this.probe = undefined;
  }

  /** A ping for us: ack it (pings for another name — a reused address — are ignored). */
  onPing(from: Address, m: Extract<Message, { type: 'ping' }>): void {
    if (m.target !== this.s.self) {
      this.s.metrics.misdirectedPings++;
      return;
    }
    sendWithPiggyback(this.s, from, [{ type: 'ack', seq: m.seq }]);
  }

  /** Relays a probe for `from` (SWIM ping-req), answering nack if the target stays silent. */
  onIndirectPing(from: Address, m: Extract<Message, { type: 'indirect-ping' }>): void {
    const s = this.s;
    // Bounded: a flood of relay requests cannot grow memory past MAX_RELAYS.
    if (this.relays.size >= MAX_RELAYS) return;
    const seq = this.nextSeq();
    this.relays.set(seq, {
      origSeq: m.seq,
      replyTo: from,
      nackAt: m.nack ? s.now + s.params.probeTimeoutMs : undefined,
      expireAt: s.now + s.params.probeIntervalMs,
    });
    sendWithPiggyback(s, m.targetAddr, [{ type: 'ping', seq, target: m.target, from: s.self }]);
  }

  /** An ack: ends our probe, or is forwarded to whoever asked us to relay. */
  onAck(seq: number): void {
    if (this.probe?.seq === seq) {
      this.succeeded();
      return;
    }
    const relay = this.relays.get(seq);
    if (relay !== undefined) {
      this.relays.delete(seq);
      sendWithPiggyback(this.s, relay.replyTo, [{ type: 'ack', seq: relay.origSeq }]);
    }
  }

  /** A relay could not reach the target: evidence that *we* are healthy (Lifeguard). */
  onNack(seq: number): void {
    if (this.probe?.seq === seq) this.probe.nacks++;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private expireRelays(): void {
    const now = this.s.now;
    for (const [seq, r] of [...this.relays]) {
      if (r.nackAt !== undefined && r.nackAt <= now) {
        this.relays.delete(seq);
        sendWithPiggyback(this.s, r.replyTo, [{ type: 'nack', seq: r.origSeq }]);
      } else if (r.expireAt <= now) this.relays.delete(seq);
    }
  }

  /** Next member to probe: round-robin over a shuffled list (bounded detection, SWIM §4.3). */
  private nextTarget(): MemberRec | undefined {
    const s = this.s;
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.probeIndex < this.probeOrder.length) {
        const name = this.probeOrder[this.probeIndex++] as NodeName;
        const m = s.members.get(name);
        if (m !== undefined && (m.state === 'alive' || m.state === 'suspect')) return m;
      }
      this.probeOrder = randomMembers(s, Number.MAX_SAFE_INTEGER, () => true).map((m) => m.name);
      this.probeIndex = 0;
    }
    return undefined;
  }

  private sendIndirect(p: ActiveProbe): void {
    const s = this.s;
    p.indirectSent = true;
    const target = s.members.get(p.target);
    if (target === undefined) return;
    const peers = randomMembers(s, s.params.indirectChecks, (m) => m.state === 'alive' && m.name !== p.target);
    for (const peer of peers) {
      p.expectedNacks++;
      s.metrics.indirectProbes++;
      sendWithPiggyback(s, peer.addr, [
        { type: 'indirect-ping', seq: p.seq, target: p.target, targetAddr: target.addr, nack: true, from: s.self },
      ]);
    }
    if (s.params.streamFallbackPing) {
      s.metrics.streamPings++;
      this.openStreamPing(
        target.addr,
        { type: 'ping', seq: p.seq, target: p.target, from: s.self },
        p.seq,
        Math.max(1, p.deadline - s.now),
      );
    }
  }

  private succeeded(): void {
    this.probe = undefined;
    this.s.awareness = applyDelta(this.s.awareness, -1);
  }

  private failed(p: ActiveProbe): void {
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
}
