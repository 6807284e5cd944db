/**
 * Simulated network for the gossip simulator (memberlist `MockNetwork`, with faults): a
 * virtual-time event queue, per-packet loss, latency jitter, duplication and partitions.
 * UDP packets may be lost or duplicated; streams (TCP) are reliable but fail with a timeout
 * across a partition or to a stopped node.
 */
import { type Address, type Rng } from '../core/types.js';

/** Link behaviour. */
export interface LinkModel {
  /** Probability a UDP packet is dropped, in [0, 1). */
  readonly loss: number;
  /** One-way latency bounds (ms), uniform. */
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
  /** Probability a delivered UDP packet is delivered twice. */
  readonly duplicate: number;
}

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A min-heap of callbacks ordered by (time, insertion). */
export class EventQueue {
  private heap: Scheduled[] = [];
  private seq = 0;

  /** Schedules `run` at virtual time `at`. */
  push(at: number, run: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, run });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Time of the earliest event, or Infinity. */
  peekTime(): number {
    return this.heap[0]?.at ?? Infinity;
  }

  /** Removes and returns the earliest event. */
  pop(): Scheduled | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(l, m)) m = l;
      if (r < h.length && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a] as Scheduled;
    const y = this.heap[b] as Scheduled;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a] as Scheduled;
    this.heap[a] = this.heap[b] as Scheduled;
    this.heap[b] = t;
  }
}

/** Network faults and delivery decisions, driven by a seeded RNG. */
export class SimNetwork {
  /** Partition groups: addresses in different groups cannot talk. Empty = fully connected. */
  private groups = new Map<Address, number>();

  constructor(
    private readonly rng: Rng,
    public link: LinkModel,
  ) {}

  /** Splits the network: each inner list is one side; unlisted addresses form their own side. */
  partition(sides: readonly (readonly Address[])[]): void {
    this.groups = new Map();
    sides.forEach((side, i) => side.forEach((a) => this.groups.set(a, i)));
  }

  /** Removes every partition. */
  heal(): void {
    this.groups = new Map();
  }

  /** True when `a` and `b` can exchange packets. */
  connected(a: Address, b: Address): boolean {
    if (this.groups.size === 0) return true;
    return (this.groups.get(a) ?? -1) === (this.groups.get(b) ?? -1);
  }

  /** One-way latency sample. */
  latency(): number {
    const { minLatencyMs: lo, maxLatencyMs: hi } = this.link;
    return lo + this.rng() * (hi - lo);
  }

  /**
   * One-way delay of a stream segment: TCP retransmits what the link loses, each loss
   * costing one minimum RTO (200 ms on Linux); undefined after 5 losses (connection gives up).
   */
  streamDelay(): number | undefined {
    let d = this.latency();
    for (let tries = 0; this.rng() < this.link.loss; tries++) {
      if (tries >= 5) return undefined;
      d += 200;
    }
    return d;
  }

  /** How many copies of a UDP packet arrive (0 = lost). */
  copies(from: Address, to: Address): number {
    if (!this.connected(from, to)) return 0;
    if (this.rng() < this.link.loss) return 0;
    return this.rng() < this.link.duplicate ? 2 : 1;
  }
}
