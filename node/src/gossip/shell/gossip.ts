/**
 * The gossip member process: runs a {@link GossipCore} on real timers and sockets. This is
 * the public face of the subsystem (Serf's role in the book): start, join, watch events,
 * set tags, leave, stop.
 *
 * Event contract: events are delivered synchronously, in the order the core decided them,
 * to every `on('event')` listener and `events()` iterator. `failed` is a failure-detector
 * verdict (the member may come back with a `join`); only `leave` is the member's own intent.
 *
 * Timer contract: no periodic tick. After every call into the core (tick, packet, stream,
 * stream result, join, tags, leave) the shell asks the core for `nextDeadline()` (and adds its
 * own retry-join time) and keeps exactly one timer armed for the earliest of them, so an idle
 * member wakes for its probes and periodic exchanges only, not `1000 / tickMs` times a second.
 * `tickMs` remains the poll period of `leave()` and the granularity the presets were tuned for.
 */
import { EventEmitter } from 'node:events';
import { type GossipConfig, type GossipConfigInput, coreParams, resolveConfig, validateTags } from '../config.js';
import { GossipCore } from '../core/gossip-core.js';
import { type CoreMetrics } from '../core/state.js';
import {
  type Address,
  type MemberEvent,
  type MemberInfo,
  type MemberState,
  type Message,
  type NodeName,
  type Output,
  type Refusal,
  type Rng,
  type Tags,
  nodeName,
} from '../core/types.js';
import { Keyring, keyFromBase64 } from '../wire/keyring.js';
import { NetTransport, type TransportMetrics, formatAddress } from './net-transport.js';
import { resolveSeeds } from './resolve.js';

/** Minimal structured logger (pino-compatible). */
export interface GossipLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const silent: GossipLogger = { info: () => {}, warn: () => {}, debug: () => {} };

/** The one-shot timer the shell sleeps on (Node's `setTimeout`/`clearTimeout` by default). */
export interface GossipTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: GossipTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Injected effects (tests and simulations replace them). */
export interface GossipOptions {
  readonly logger?: GossipLogger;
  /** Milliseconds clock; default Date.now. */
  readonly clock?: () => number;
  /** Randomness; default Math.random. */
  readonly random?: Rng;
  /** One-shot timers; default Node's. A test passes a fake driven by its clock. */
  readonly timers?: GossipTimers;
}

/** Outcome of a join: how many seed addresses we exchanged state with, and why others failed. */
export interface JoinResult {
  readonly joined: number;
  readonly errors: readonly { readonly seed: string; readonly reason: string }[];
}

/** Everything countable about a member: protocol, transport, table and health. */
export interface GossipMetrics {
  readonly protocol: Readonly<CoreMetrics>;
  readonly transport: Readonly<TransportMetrics>;
  readonly members: Readonly<Record<MemberState, number>>;
  readonly healthScore: number;
}

/** A running gossip member. Create with {@link Gossip.start}; end with {@link Gossip.stop}. */
export class Gossip {
  private readonly emitter = new EventEmitter();
  private readonly joins = new Map<number, (r: { ok: boolean; reason?: string }) => void>();
  private timer: unknown;
  /** When the armed timer is due (undefined: none armed). */
  private armedAt: number | undefined;
  private stopped = false;
  private retryingJoin = false;
  private lastRetryJoin = 0;

  private constructor(
    /** The resolved configuration. */
    readonly config: GossipConfig,
    /** Our advertised address. */
    readonly address: Address,
    private readonly core: GossipCore,
    private readonly transport: NetTransport,
    private readonly log: GossipLogger,
    private readonly clock: () => number,
    private readonly timers: GossipTimers,
    /** The live keyring (undefined without encryption): install/use/remove rotate keys at runtime. */
    readonly keyring: Keyring | undefined,
  ) {}

  /**
   * Binds UDP and TCP, starts the protocol timer and, when `seeds` are configured, keeps
   * retrying to join them in the background until another member is known (Serf retry-join).
   * Our own `join` event is emitted before this returns (subscribers see only other members').
   */
  static async start(input: GossipConfigInput | GossipConfig, opts: GossipOptions = {}): Promise<Gossip> {
    const config = resolveConfig(input);
    const log = opts.logger ?? silent;
    const clock = opts.clock ?? Date.now;
    const keyring =
      config.encryptionKeys.length > 0 ? new Keyring(config.encryptionKeys.map(keyFromBase64)) : undefined;
    const ref: { g?: Gossip } = {};
    const transport = new NetTransport(keyring, config.streamTimeoutMs, {
      packet: (from, msgs) => ref.g?.onPacket(from, msgs),
      stream: (from, msg) => ref.g?.onStream(from, msg),
      dropped: (from, reason, detail) => log.debug({ from, reason, detail }, 'gossip packet dropped'),
    });
    const port = await transport.listen(config.bindAddr, config.bindPort);
    const addr = formatAddress(config.advertiseAddr ?? config.bindAddr, config.advertisePort ?? port);
    const coreOpts = {
      params: coreParams(config, keyring !== undefined),
      name: nodeName(config.name),
      addr,
      tags: config.tags,
      now: clock(),
      rng: opts.random ?? Math.random,
    };
    const core = new GossipCore(
      config.clusterId === undefined ? coreOpts : { ...coreOpts, clusterId: config.clusterId },
    );
    const g = new Gossip(config, addr, core, transport, log, clock, opts.timers ?? nodeTimers, keyring);
    ref.g = g;
    log.info(
      {
        name: config.name,
        addr,
        encrypted: keyring !== undefined,
        preset: 'preset' in input ? (input.preset ?? 'lan') : 'resolved config',
      },
      'gossip started',
    );
    if (config.seeds.length > 0) g.retryJoin();
    g.flush();
    return g;
  }

  /** Our member name. */
  get name(): NodeName {
    return this.core.name;
  }

  /** Every known member (self included; dead and left ones until reaped). */
  members(): MemberInfo[] {
    return this.core.members();
  }

  /** Our own current record (incarnation, tags, state). */
  localMember(): MemberInfo {
    const me = this.core.member(this.core.name);
    if (me === undefined) throw new Error('gossip invariant: local member missing');
    return me;
  }

  /** One member by name, or undefined if unknown or reaped. */
  member(name: string): MemberInfo | undefined {
    return this.core.member(nodeName(name));
  }

  /** Members currently alive (self included). */
  aliveMembers(): MemberInfo[] {
    return this.core.members().filter((m) => m.state === 'alive');
  }

  /** Joins through `seeds` (default: configured seeds), resolving host names now. */
  async join(seeds: readonly string[] = this.config.seeds): Promise<JoinResult> {
    const { addrs, errors } = await resolveSeeds(seeds);
    const targets = addrs.filter((a) => a !== this.address);
    if (this.stopped || targets.length === 0) return { joined: 0, errors };
    const ids = this.core.join(this.clock(), targets);
    const results = ids.map((id) => new Promise<{ ok: boolean; reason?: string }>((r) => this.joins.set(id, r)));
    this.flush();
    const outcome = await Promise.all(results);
    const failed = outcome.flatMap((o, i) => (o.ok ? [] : [{ seed: targets[i] ?? '', reason: o.reason ?? 'failed' }]));
    const joined = outcome.filter((o) => o.ok).length;
    this.log.info({ joined, errors: [...errors, ...failed] }, 'gossip join');
    return { joined, errors: [...errors, ...failed] };
  }

  /** Replaces our tags; peers see an `update` event. Throws GossipConfigError if they cannot fit a packet. */
  setTags(tags: Tags): void {
    validateTags(this.config.name, tags, this.config.udpBufferSize);
    this.core.setTags(this.clock(), tags);
    this.flush();
  }

  /**
   * Announces a graceful leave and waits until the leave broadcast has been sent its full
   * number of times or `timeoutMs` passes. The member keeps answering probes until `stop()`.
   */
  async leave(timeoutMs = 5000): Promise<void> {
    this.core.leave(this.clock());
    this.flush();
    const deadline = this.clock() + timeoutMs;
    while (!this.stopped && this.core.pendingBroadcasts > 0 && this.clock() < deadline) {
      await new Promise((r) => setTimeout(r, this.config.tickMs));
    }
  }

  /** Subscribes to membership events or refusals. */
  on(type: 'event', listener: (e: MemberEvent) => void): this;
  on(type: 'refused', listener: (r: Refusal) => void): this;
  on(type: 'event' | 'refused', listener: (x: never) => void): this {
    this.emitter.on(type, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Unsubscribes a listener. */
  off(type: 'event' | 'refused', listener: (x: never) => void): this {
    this.emitter.off(type, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Events from now on as an async iterator; ends when the member stops or the loop breaks. */
  async *events(): AsyncGenerator<MemberEvent, void, undefined> {
    const buf: MemberEvent[] = [];
    let wake: (() => void) | undefined;
    const push = (e: MemberEvent): void => {
      buf.push(e);
      wake?.();
    };
    const end = (): void => wake?.();
    this.emitter.on('event', push);
    this.emitter.on('stopped', end);
    try {
      for (;;) {
        const e = buf.shift();
        if (e !== undefined) {
          yield e;
          continue;
        }
        if (this.stopped) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.emitter.off('event', push);
      this.emitter.off('stopped', end);
    }
  }

  /** When the shell's one timer is due next (clock ms), or undefined once stopped. */
  get nextWakeAt(): number | undefined {
    return this.armedAt;
  }

  /** A snapshot of counters and gauges. */
  metrics(): GossipMetrics {
    const members: Record<MemberState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.core.members()) members[m.state]++;
    return {
      protocol: { ...this.core.metrics },
      transport: { ...this.transport.metrics, dropped: { ...this.transport.metrics.dropped } },
      members,
      healthScore: this.core.healthScore,
    };
  }

  /** Stops timers and closes sockets (no leave broadcast: call `leave()` first for that). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.disarm();
    for (const r of this.joins.values()) r({ ok: false, reason: 'stopped' });
    this.joins.clear();
    this.emitter.emit('stopped');
    await this.transport.close();
    this.log.info({ name: this.config.name }, 'gossip stopped');
  }

  private onTick(): void {
    this.armedAt = undefined;
    if (this.stopped) return;
    this.core.tick(this.clock());
    const due = this.retryJoinAt();
    if (due !== undefined && this.clock() >= due) this.retryJoin();
    this.flush();
  }

  /**
   * When the shell itself wants to retry joining its seeds (Serf retry-join): while alone,
   * not leaving and no attempt in flight, every reconnect (else push/pull) interval.
   */
  private retryJoinAt(): number | undefined {
    if (this.config.seeds.length === 0 || this.core.leaving || this.retryingJoin) return undefined;
    // Runs after every packet: count without listing (aliveMembers() copies every record).
    if (this.core.aliveCount > 1) return undefined;
    const retryEvery = this.config.reconnectIntervalMs || this.config.pushPullIntervalMs || 30_000;
    return this.lastRetryJoin + retryEvery;
  }

  private retryJoin(): void {
    if (this.retryingJoin) return;
    this.retryingJoin = true;
    this.lastRetryJoin = this.clock();
    this.join()
      .catch((e: unknown) => this.log.warn({ err: String(e) }, 'gossip join failed'))
      .finally(() => {
        this.retryingJoin = false;
        this.arm();
      });
  }

  /**
   * Keeps exactly one timer armed for the earliest of the core's deadline and our retry-join
   * time. Re-armed only when that time changes, so a packet that moves nothing costs nothing.
   */
  private arm(): void {
    if (this.stopped) return;
    const retry = this.retryJoinAt();
    const due = Math.min(this.core.nextDeadline(), retry ?? Infinity);
    if (due === this.armedAt) return;
    this.disarm();
    if (due === Infinity) return;
    this.armedAt = due;
    this.timer = this.timers.setTimeout(() => this.onTick(), Math.max(0, Math.ceil(due - this.clock())));
  }

  private disarm(): void {
    if (this.armedAt === undefined) return;
    this.timers.clearTimeout(this.timer);
    this.armedAt = undefined;
    this.timer = undefined;
  }

  private onPacket(from: Address, msgs: readonly Message[]): void {
    if (this.stopped) return;
    this.core.receivePacket(this.clock(), from, msgs);
    this.flush();
  }

  private onStream(from: Address, msg: Message): Message | undefined {
    if (this.stopped) return undefined;
    const reply = this.core.handleStream(this.clock(), from, msg);
    this.flush();
    return reply;
  }

  /** Performs the core's outputs in order, then re-arms the timer (the call may have moved it). */
  private flush(): void {
    for (const out of this.core.drain()) this.perform(out);
    this.arm();
  }

  private perform(out: Output): void {
    switch (out.type) {
      case 'send':
        this.transport.sendPacket(out.to, out.msgs);
        return;
      case 'stream':
        void this.transport.request(out.to, out.msg, out.timeoutMs).then((r) => {
          if (this.stopped) return;
          this.core.streamResult(this.clock(), out.id, r);
          this.flush();
        });
        return;
      case 'event':
        this.log.info(
          { event: out.event.type, member: out.event.member.name, addr: out.event.member.addr },
          'gossip member event',
        );
        this.emitter.emit('event', out.event);
        return;
      case 'refused':
        this.log.warn({ ...out.refusal }, 'gossip refused a member of another cluster');
        this.emitter.emit('refused', out.refusal);
        return;
      case 'join-result': {
        const r = this.joins.get(out.id);
        this.joins.delete(out.id);
        r?.(out.reason === undefined ? { ok: out.ok } : { ok: out.ok, reason: out.reason });
        return;
      }
    }
  }
}
