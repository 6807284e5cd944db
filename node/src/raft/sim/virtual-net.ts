/**
 * The network of the production-loop simulator (raft-node-sim.ts), on virtual time: every
 * message is dropped, or delivered once or twice after a seeded delay (which reorders), and
 * only between nodes on the same side of the current partition — checked as it is sent and
 * again as it arrives. An endpoint belongs to one incarnation of a node: once
 * {@link VirtualEndpoint.kill}ed (the process died, the power failed) it sends nothing more
 * and receives nothing, whatever the dying node's loop still does.
 */
import type { seededRng } from '../core/env.js';
import type { Message, NodeId } from '../core/types.js';
import type { ShellClock } from '../shell/loop-clock.js';
import { newTransportStats, type MessageHandler, type RaftTransport } from '../shell/transport.js';

/** The seeded random stream the simulator draws from. */
export type Rand = ReturnType<typeof seededRng>;

/** Fault rates of a {@link VirtualNet}. */
export interface VirtualNetFaults {
  readonly dropRate: number;
  readonly dupRate: number;
  /** Delays are uniform in [0, maxDelayMs) virtual ms. */
  readonly maxDelayMs: number;
}

/** One incarnation's transport; {@link kill} cuts it off for good. */
export interface VirtualEndpoint extends RaftTransport {
  kill(): void;
}

/** Messages between the nodes of one simulated cluster; see the module comment. */
export class VirtualNet {
  private readonly handlers = new Map<NodeId, MessageHandler>();
  private side = new Map<NodeId, number>();
  /** Called as each message leaves a live sender, before it is dropped or scheduled. */
  onSend: (m: Message) => void = () => {};

  constructor(
    private readonly clock: ShellClock,
    private readonly rand: Rand,
    private readonly clusterId: string,
    public faults: VirtualNetFaults,
  ) {}

  /** Splits the cluster: each group is one side, every node not named is on a side of its own with the rest. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.side = new Map();
    groups.forEach((g, i) => g.forEach((id) => this.side.set(id, i + 1)));
  }

  /** Heals every partition. */
  heal(): void {
    this.side = new Map();
  }

  /** True when `a` and `b` are on the same side of the current partition. */
  connected(a: NodeId, b: NodeId): boolean {
    return (this.side.get(a) ?? 0) === (this.side.get(b) ?? 0);
  }

  private send(m: Message): void {
    this.onSend(m);
    if (!this.connected(m.from, m.to) || this.rand.nextFloat() < this.faults.dropRate) return;
    const copies = this.rand.nextFloat() < this.faults.dupRate ? 2 : 1;
    for (let i = 0; i < copies; i++)
      this.clock.after(this.rand.nextInt(this.faults.maxDelayMs), () => {
        if (this.connected(m.from, m.to)) this.handlers.get(m.to)?.(m, this.clusterId);
      });
  }

  /** A fresh endpoint for a (re)started node `id`. */
  endpoint(id: NodeId): VirtualEndpoint {
    let alive = true;
    let mine: MessageHandler | null = null;
    const detach = (): void => {
      alive = false;
      if (mine !== null && this.handlers.get(id) === mine) this.handlers.delete(id);
    };
    return {
      id,
      listen: (h) => {
        if (!alive) return;
        mine = (m, c) => {
          if (alive) h(m, c);
        };
        this.handlers.set(id, mine);
      },
      send: (msgs) => {
        if (alive) for (const m of msgs) this.send(m);
      },
      setPeer: () => {},
      removePeer: () => {},
      stats: () => newTransportStats(),
      kill: detach,
      close: () => {
        detach();
        return Promise.resolve();
      },
    };
  }
}
