/**
 * A simulated cluster: nodes, the network between them, a virtual clock and the
 * invariant checker. Scenario tests drive it by hand (`stabilize`); the randomized
 * simulator (simulate.ts) drives it with a seeded RNG.
 */
import type { RaftConfig } from '../core/config.js';
import { seededRng, type LogFields, type RaftLogger } from '../core/env.js';
import type { ConfState, Entry, Message, NodeId, ReadState } from '../core/types.js';
import { formatMessage, formatReady } from './format.js';
import { InvariantChecker } from './invariants.js';
import { perfectNetwork, SimNetwork, type NetworkFaults } from './network.js';
import { SimNode } from './sim-node.js';
import type { SimRecord } from './state-machine.js';

/** Options of a simulated cluster. */
export interface SimClusterOptions {
  readonly seed: number;
  readonly faults?: NetworkFaults;
  readonly raft?: Partial<Omit<RaftConfig, 'id'>>;
  /** Receives every trace line (Readies, deliveries, core logs at info and above). */
  readonly trace?: (line: string) => void;
  /** Include core debug logs in the trace. */
  readonly debug?: boolean;
}

/** Listener for client-visible events (used by the simulated clients). */
export interface ClusterObserver {
  applied?(node: SimNode, records: readonly SimRecord[], entries: readonly Entry[]): void;
  readState?(node: SimNode, rs: ReadState): void;
}

/** Nodes + network + clock + invariants. */
export class SimCluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly net: SimNetwork;
  readonly inv = new InvariantChecker();
  readonly rand: () => number;
  now = 0;
  observer: ClusterObserver = {};
  private readonly trace: (line: string) => void;
  /** When true, messages and Readies are written to the trace (scenario tests). */
  verbose = false;

  constructor(private readonly opts: SimClusterOptions) {
    this.rand = seededRng(opts.seed).nextFloat;
    this.net = new SimNetwork(opts.faults ?? perfectNetwork, this.rand);
    this.trace = opts.trace ?? (() => {});
  }

  /** Adds a node (bootstrap = initial configuration, or null for a node that will join). */
  addNode(id: NodeId, bootstrap: ConfState | null): SimNode {
    const logger = this.logger(id);
    const node = new SimNode(id, bootstrap, this.opts.raft ?? {}, this.opts.seed + this.nodes.size * 1000003, logger, {
      send: (m) => this.net.send(this.now, m),
      persisted: (n, ents) => this.inv.persisted(n, ents),
      applied: (n, ents, recs) => {
        this.inv.applied(n, ents, recs);
        this.observer.applied?.(n, recs, ents);
      },
      readState: (n, rs) => this.observer.readState?.(n, rs),
      ready: (n, rd) => {
        if (this.verbose) for (const l of formatReady(n.id, rd)) this.trace(l);
      },
    });
    this.nodes.set(id, node);
    return node;
  }

  /** The node with `id`. @throws Error when unknown. */
  node(id: string): SimNode {
    const n = this.nodes.get(id as NodeId);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Running nodes, in id order. */
  running(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The current leader with the highest term among running nodes, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.running()) {
      const st = n.raw?.status();
      if (st?.role === 'leader' && (best === undefined || (best.raw?.status().term ?? 0) < st.term)) best = n;
    }
    return best;
  }

  /** Delivers one message to its recipient (dropped if the recipient is down). */
  deliver(m: Message): void {
    const n = this.nodes.get(m.to);
    if (n?.raw == null) return;
    if (this.verbose) this.trace(formatMessage(m));
    n.raw.step(m);
  }

  /**
   * Runs until nothing is left to do: every Ready is persisted at once and every message
   * delivered (perfect network). Used by scenario tests; bounded to catch livelock.
   */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let progress = false;
      for (const n of this.running()) {
        while (n.takeReady()) {
          n.persist();
          progress = true;
        }
      }
      const msgs = this.net.due(Number.MAX_SAFE_INTEGER);
      for (const m of msgs) this.deliver(m);
      this.inv.step(this.nodes.values());
      if (!progress && msgs.length === 0) return;
    }
    throw new Error(`stabilize: no quiescence after ${maxRounds} rounds`);
  }

  private logger(id: NodeId): RaftLogger {
    const line = (level: string) => (f: LogFields, msg: string) => {
      const { id: _id, ...rest } = f;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      this.trace(`${id} ${level} ${msg}${fields ? ` ${fields}` : ''}`);
    };
    return { debug: this.opts.debug === true ? line('DEBUG') : () => {}, info: line('INFO'), warn: line('WARN') };
  }
}
