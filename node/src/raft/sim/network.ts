/**
 * The simulated network: every message is delayed, and may be dropped, duplicated
 * (delivered twice) or reordered (independent random delays; a few are held back long
 * enough to arrive after a leader change); partitions cut links in both directions. Deterministic for a given RNG.
 */
import type { Message, NodeId } from '../core/types.js';

/** Fault rates and delay range (in simulator time units). */
export interface NetworkFaults {
  readonly dropRate: number;
  readonly dupRate: number;
  readonly minDelay: number;
  readonly maxDelay: number;
  /** Fraction of messages held back much longer (`slowDelay` more units): stale messages that arrive after a leader change. */
  readonly slowRate?: number;
  readonly slowDelay?: number;
}

/** A perfect, instantaneous network (scenario tests). */
export const perfectNetwork: NetworkFaults = { dropRate: 0, dupRate: 0, minDelay: 0, maxDelay: 0 };

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly msg: Message;
  /** Delivered even across a partition (a copy that was already past the cut). */
  readonly held?: boolean;
}

/** Messages in flight between simulated nodes. */
export class SimNetwork {
  private queue: InFlight[] = [];
  private seq = 0;
  /** Partition group of each node; nodes in different groups cannot talk. Absent = group 0. */
  private readonly groups = new Map<NodeId, number>();
  /** Directed links cut by tests (`from->to`). */
  private readonly cut = new Set<string>();
  faults: NetworkFaults;

  constructor(
    faults: NetworkFaults,
    private readonly rand: () => number,
  ) {
    this.faults = faults;
  }

  /** Number of messages in flight. */
  get size(): number {
    return this.queue.length;
  }

  /** Puts each listed group in its own partition; unlisted nodes stay in group 0. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.groups.clear();
    groups.forEach((g, i) => g.forEach((id) => this.groups.set(id, i + 1)));
  }
  /** Cuts (or restores) the directed link from → to. */
  setLink(from: NodeId, to: NodeId, up: boolean): void {
    if (up) this.cut.delete(`${from}->${to}`);
    else this.cut.add(`${from}->${to}`);
  }
  /** Removes every partition and cut link. */
  heal(): void {
    this.groups.clear();
    this.cut.clear();
  }
  /** True when from can currently reach to. */
  connected(from: NodeId, to: NodeId): boolean {
    return (this.groups.get(from) ?? 0) === (this.groups.get(to) ?? 0) && !this.cut.has(`${from}->${to}`);
  }

  /** Sends a message at time `now`, applying the fault model. */
  send(now: number, msg: Message): void {
    if (!this.connected(msg.from, msg.to)) return;
    const f = this.faults;
    if (f.dropRate > 0 && this.rand() < f.dropRate) return;
    this.enqueue(now, msg);
    if (f.dupRate > 0 && this.rand() < f.dupRate) this.enqueue(now, msg);
  }

  /**
   * Delivers `msg` (again) `delay` units from now, past the drop and duplicate faults: a copy
   * the network held back (stale-replay.ts). A partition does not block it: the asynchronous
   * model Raft is safe in lets any message that was sent arrive at any later time, and the
   * copies worth replaying are exactly those a partition kept from their recipient.
   */
  inject(now: number, msg: Message, delay: number): void {
    this.queue.push({ at: now + delay, seq: this.seq++, msg, held: true });
  }

  private enqueue(now: number, msg: Message): void {
    const f = this.faults;
    let delay =
      f.maxDelay > f.minDelay ? f.minDelay + Math.floor(this.rand() * (f.maxDelay - f.minDelay + 1)) : f.minDelay;
    if ((f.slowRate ?? 0) > 0 && this.rand() < (f.slowRate ?? 0)) delay += Math.floor(this.rand() * (f.slowDelay ?? 0));
    this.queue.push({ at: now + delay, seq: this.seq++, msg });
  }

  /** Removes and returns the messages due at `now`, in delivery order, dropping those a partition now blocks (except held copies). */
  due(now: number): Message[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const x of this.queue) (x.at <= now ? ready : rest).push(x);
    this.queue = rest;
    ready.sort((a, b) => a.at - b.at || a.seq - b.seq);
    return ready.filter((x) => x.held === true || this.connected(x.msg.from, x.msg.to)).map((x) => x.msg);
  }

  /** Drops every in-flight message matching `pred` (scenario tests). */
  drop(pred: (m: Message) => boolean): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((x) => !pred(x.msg));
    return before - this.queue.length;
  }
}
