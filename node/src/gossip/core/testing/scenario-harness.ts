/**
 * A hand-driven network of cores for scenario tests: every output is routed through a FIFO
 * at once (no latency), a `drop` predicate models crashes and partitions, and every UDP
 * message is recorded so tests can assert the protocol's steps (ping → ack, indirect ping,
 * suspect …). Pure; the simulator is the realistic counterpart.
 */
import { GossipCore } from '../gossip-core.js';
import { type CoreParams } from '../params.js';
import {
  type Address,
  type MemberEvent,
  type Message,
  type NodeName,
  type Output,
  type Refusal,
  type Tags,
  address,
  nodeName,
} from '../types.js';

/** Fast, deterministic parameters for scenarios (push/pull and reconnect off unless asked). */
export const scenarioParams: CoreParams = {
  probeIntervalMs: 100,
  probeTimeoutMs: 40,
  indirectChecks: 2,
  retransmitMult: 3,
  suspicionMult: 3,
  suspicionMaxTimeoutMult: 3,
  awarenessMaxMultiplier: 4,
  gossipIntervalMs: 20,
  gossipNodes: 3,
  gossipToTheDeadMs: 1000,
  pushPullIntervalMs: 0,
  reconnectIntervalMs: 0,
  reapFailedMs: 60_000,
  reapLeftMs: 60_000,
  streamTimeoutMs: 200,
  packetBudget: 1400,
  streamFallbackPing: false,
};

/** One UDP message as sent. */
export interface Sent {
  readonly at: number;
  readonly from: NodeName;
  readonly to: Address;
  readonly msg: Message;
}

/** The harness. */
export class ScenarioNet {
  now = 0;
  readonly sent: Sent[] = [];
  readonly events: { readonly at: number; readonly observer: NodeName; readonly event: MemberEvent }[] = [];
  readonly refusals: { readonly observer: NodeName; readonly refusal: Refusal }[] = [];
  readonly joinResults: { readonly observer: NodeName; readonly ok: boolean; readonly reason?: string }[] = [];
  /** Return true to lose a UDP packet or fail a stream from → to. */
  drop: (from: NodeName, to: Address, kind: 'udp' | 'stream') => boolean = () => false;
  private readonly cores = new Map<NodeName, GossipCore>();
  private readonly addrs = new Map<NodeName, Address>();
  private readonly down = new Set<NodeName>();
  private readonly fifo: { readonly core: GossipCore; readonly out: Output }[] = [];
  private seed = 1;

  constructor(private readonly params: CoreParams = scenarioParams) {}

  /** Starts (or restarts, incarnation 0) a member; `rng` fixed so runs are reproducible. */
  start(name: string, tags: Tags = {}, params: CoreParams = this.params): GossipCore {
    const n = nodeName(name);
    const addr = this.addrs.get(n) ?? address(`127.0.0.${this.addrs.size + 1}:7946`);
    this.addrs.set(n, addr);
    let s = this.seed++ * 7919;
    const rng = (): number => {
      s = (s * 16807) % 2147483647;
      return s / 2147483647;
    };
    const core = new GossipCore({ params, name: n, addr, tags, now: this.now, rng });
    this.cores.set(n, core);
    this.down.delete(n);
    this.collect(core);
    this.flush();
    return core;
  }

  /** Address of a member. */
  addr(name: string): Address {
    const a = this.addrs.get(nodeName(name));
    if (a === undefined) throw new Error(`no member ${name}`);
    return a;
  }

  /** The core of a member. */
  core(name: string): GossipCore {
    const c = this.cores.get(nodeName(name));
    if (c === undefined) throw new Error(`no member ${name}`);
    return c;
  }

  /** Crashes a member: it stops ticking and everything sent to it is lost. */
  kill(name: string): void {
    this.down.add(nodeName(name));
  }

  /** `name` joins through `seed` and the exchange completes. */
  join(name: string, seed: string): void {
    this.core(name).join(this.now, [this.addr(seed)]);
    this.collect(this.core(name));
    this.flush();
  }

  /**
   * Called after each tick of a live member, before its outputs are delivered: the member's
   * `nextDeadline()` just before the tick and how many outputs the tick produced.
   */
  onTick: ((name: NodeName, now: number, dueBefore: number, outputs: number) => void) | undefined;

  /** `name` leaves gracefully (its outputs are delivered at once). */
  leave(name: string): void {
    this.core(name).leave(this.now);
    this.collect(this.core(name));
    this.flush();
  }

  /** Ticks every live member every `step` ms for `ms`. */
  advance(ms: number, step = 5): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + step);
      for (const [n, c] of this.cores) {
        if (this.down.has(n)) continue;
        const due = c.nextDeadline();
        const queued = this.fifo.length;
        c.tick(this.now);
        this.collect(c);
        this.onTick?.(n, this.now, due, this.fifo.length - queued);
        this.flush();
      }
    }
  }

  /** Events seen by `observer` (type and subject). */
  eventsAt(observer: string): string[] {
    return this.events.filter((e) => e.observer === observer).map((e) => `${e.event.type} ${e.event.member.name}`);
  }

  /** Stream requests opened, in order. */
  readonly streams: { readonly at: number; readonly from: NodeName; readonly to: Address; readonly purpose: string }[] =
    [];

  /** UDP messages of a type sent by `from` (optionally to `to`). */
  sentBy(from: string, type: Message['type'], to?: string): Sent[] {
    return this.sent.filter(
      (s) => s.from === from && s.msg.type === type && (to === undefined || s.to === this.addr(to)),
    );
  }

  private collect(core: GossipCore): void {
    for (const out of core.drain()) this.fifo.push({ core, out });
  }

  private target(to: Address): GossipCore | undefined {
    for (const [n, a] of this.addrs) if (a === to && !this.down.has(n)) return this.cores.get(n);
    return undefined;
  }

  private flush(): void {
    for (let item = this.fifo.shift(); item !== undefined; item = this.fifo.shift()) {
      const { core, out } = item;
      const from = core.name;
      const fromAddr = this.addr(from);
      switch (out.type) {
        case 'send': {
          for (const msg of out.msgs) this.sent.push({ at: this.now, from, to: out.to, msg });
          const dst = this.target(out.to);
          if (dst === undefined || this.drop(from, out.to, 'udp')) break;
          dst.receivePacket(this.now, fromAddr, out.msgs);
          this.collect(dst);
          break;
        }
        case 'stream': {
          this.streams.push({ at: this.now, from, to: out.to, purpose: out.purpose });
          const dst = this.target(out.to);
          const reply =
            dst === undefined || this.drop(from, out.to, 'stream')
              ? undefined
              : dst.handleStream(this.now, fromAddr, out.msg);
          if (dst !== undefined) this.collect(dst);
          core.streamResult(
            this.now,
            out.id,
            reply === undefined ? { ok: false, error: 'unreachable' } : { ok: true, reply },
          );
          this.collect(core);
          break;
        }
        case 'event':
          this.events.push({ at: this.now, observer: from, event: out.event });
          break;
        case 'refused':
          this.refusals.push({ observer: from, refusal: out.refusal });
          break;
        case 'join-result':
          this.joinResults.push(
            out.reason === undefined
              ? { observer: from, ok: out.ok }
              : { observer: from, ok: out.ok, reason: out.reason },
          );
          break;
      }
    }
  }
}
