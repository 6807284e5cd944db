/**
 * A simulated cluster: nodes, the network between them, a virtual clock and the
 * invariant checker. Scenario tests drive it by hand (`stabilize`); the randomized
 * simulator (simulate.ts) drives it with a seeded RNG.
 */
import { raftConfig, type RaftConfig } from '../core/config.js';
import { seededRng, type LogFields, type RaftLogger } from '../core/env.js';
import {
  logIndex,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type ReadIndexResult,
  type ReadState,
  type Ready,
} from '../core/types.js';
import { formatMessage, formatReady } from './format.js';
import { InvariantChecker } from './invariants.js';
import { LEASE_IGNORE_LOG, LeaseRule } from './lease-rule.js';
import { ReadRoundRule } from './read-round-rule.js';
import { perfectNetwork, SimNetwork, type NetworkFaults } from './network.js';
import { SimDiskNode } from './sim-disk-node.js';
import type { SimMember } from './sim-member.js';
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
  /** Nodes run on the shell's LogStorage over a simulated disk with power cuts (sim-disk-node.ts) instead of MemoryStorage. */
  readonly disk?: boolean;
  /** Disk backend: the unit a torn write tears in (memory-fs.ts; default 1 byte). */
  readonly sectorBytes?: number;
}

/** Listener for client-visible events (used by the simulated clients). */
export interface ClusterObserver {
  applied?(node: SimMember, records: readonly SimRecord[], entries: readonly Entry[]): void;
  readState?(node: SimMember, rs: ReadState): void;
}

/** Nodes + network + clock + invariants. */
export class SimCluster {
  readonly nodes = new Map<NodeId, SimMember>();
  readonly net: SimNetwork;
  readonly inv = new InvariantChecker();
  /** The leader lease's liveness rule (lease-rule.ts): counts the ticks given through {@link tick}. */
  readonly lease: LeaseRule;
  /** The ReadIndex rule (read-round-rule.ts): reads go through {@link readIndex} to be checked. */
  readonly reads = new ReadRoundRule();
  readonly rand: () => number;
  now = 0;
  observer: ClusterObserver = {};
  private readonly trace: (line: string) => void;
  /** When true, messages and Readies are written to the trace (scenario tests). */
  verbose = false;
  /** Sees every message a node hands to the network (fault injection aimed at what a message promises). */
  sendTap: ((m: Message) => void) | null = null;

  constructor(private readonly opts: SimClusterOptions) {
    this.rand = seededRng(opts.seed).nextFloat;
    this.net = new SimNetwork(opts.faults ?? perfectNetwork, this.rand);
    this.trace = opts.trace ?? (() => {});
    this.lease = new LeaseRule((id) => raftConfig(id, opts.raft ?? {}, 'test').electionTicks);
  }

  /** Advances node `n`'s clock by one tick (counted for the lease rule). */
  tick(n: SimMember): void {
    if (n.raw === null) return;
    this.lease.ticked(n.id);
    n.raw.tick();
  }

  /**
   * Adds a node (bootstrap = initial configuration, or null for a node that will join). A
   * disk-backed node is created down: `await node.start()` opens its storage.
   */
  addNode(id: NodeId, bootstrap: ConfState | null): SimMember {
    const logger = this.logger(id);
    const seed = this.opts.seed + this.nodes.size * 1000003;
    const hooks = {
      send: (m) => {
        const from = this.nodes.get(m.from);
        if (from !== undefined) this.inv.sending(from, m);
        if (m.type === 'heartbeat') this.reads.heartbeatSent(m.from, m.term, m.to, m.readSeq);
        this.sendTap?.(m);
        this.net.send(this.now, m);
      },
      writing: (n, ents) => this.inv.writing(n, ents),
      restarted: (n) => {
        this.lease.restarted(n.id);
        this.inv.restarted(n);
      },
      installed: (n, meta) => this.inv.installed(n, meta),
      persisted: (n, ents) => this.inv.persisted(n, ents),
      applied: (n, ents, recs) => {
        this.inv.applied(n, ents, recs);
        this.observer.applied?.(n, recs, ents);
      },
      readState: (n, rs) => this.observer.readState?.(n, rs),
      ready: (n, rd) => {
        this.inv.ready(n, rd);
        this.readsAnswered(n, rd);
        if (this.verbose) for (const l of formatReady(n.id, rd)) this.trace(l);
      },
    } satisfies ConstructorParameters<typeof SimNode>[5];
    const node: SimMember =
      this.opts.disk === true
        ? new SimDiskNode(
            id,
            bootstrap,
            this.opts.raft ?? {},
            seed,
            logger,
            hooks,
            () => this.now,
            seededRng(seed ^ 0x5eed).nextFloat,
            this.opts.sectorBytes,
          )
        : new SimNode(id, bootstrap, this.opts.raft ?? {}, seed, logger, hooks);
    this.nodes.set(id, node);
    return node;
  }

  /** Asks node `n` for a ReadIndex read `ctx` (checked by the ReadIndex rule when `n` leads). */
  readIndex(n: SimMember, ctx: string): ReadIndexResult | undefined {
    const st = n.raw?.status();
    if (st?.role === 'leader') this.reads.asked(n.id, st.term, ctx, st.activeConf.voters);
    return n.raw?.readIndex(ctx);
  }

  /** The node with `id`. @throws Error when unknown. */
  node(id: string): SimMember {
    const n = this.nodes.get(id as NodeId);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The MemoryStorage-backed node with `id` (scripted scenarios). @throws Error when unknown or disk-backed. */
  memoryNode(id: string): SimNode {
    const n = this.node(id);
    if (!(n instanceof SimNode)) throw new Error(`${id} is not a MemoryStorage node`);
    return n;
  }

  /** Running nodes, in id order. */
  running(): SimMember[] {
    return [...this.nodes.values()].filter((n) => n.up).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The current leader with the highest term among running nodes, if any. */
  leader(): SimMember | undefined {
    let best: SimMember | undefined;
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
    const { commit: commitBefore, term: termBefore, role: roleBefore, activeConf } = n.raw.status();
    const leading = roleBefore === 'leader' && m.term === termBefore;
    if (leading && m.type === 'readIndex') this.reads.asked(n.id, termBefore, m.ctx, activeConf.voters);
    if (leading && m.type === 'heartbeatResp') this.reads.heartbeatAnswered(n.id, termBefore, m.from, m.readSeq);
    n.raw.step(m);
    if (leading && m.type === 'heartbeatResp')
      this.reads.afterAnswer(n.id, termBefore, n.raw.status().activeConf.voters);
    this.lease.delivered(n.id, m, termBefore);
    this.inv.delivered(n, m, commitBefore);
  }

  /**
   * Runs until nothing is left to do: every Ready is persisted at once and every message
   * delivered (perfect network). Used by scenario tests; bounded to catch livelock.
   */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let progress = false;
      for (const n of this.running()) {
        if (!(n instanceof SimNode))
          throw new Error('stabilize() drives MemoryStorage nodes only (disk-backed nodes persist asynchronously)');
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

  /** Checks the read answers a Ready carries (read states, and `readIndexResp` to a follower) against the ReadIndex rule. */
  private readsAnswered(n: SimMember, rd: Ready): void {
    const raw = n.raw;
    if (raw === null) return;
    const voters = raw.status().activeConf.voters;
    const termAt = (i: number): number | undefined => raw.termAt(logIndex(i));
    for (const rs of rd.readStates) this.reads.answered(n.id, rs.ctx, rs.index, voters, termAt);
    for (const m of [...rd.earlyMessages, ...rd.messages])
      if (m.type === 'readIndexResp') this.reads.answered(n.id, m.ctx, m.index, voters, termAt);
  }

  private logger(id: NodeId): RaftLogger {
    const line = (level: string) => (f: LogFields, msg: string) => {
      const { id: _id, ...rest } = f;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      this.trace(`${id} ${level} ${msg}${fields ? ` ${fields}` : ''}`);
    };
    const info = line('INFO');
    return {
      debug: this.opts.debug === true ? line('DEBUG') : () => {},
      info: (f, msg) => {
        info(f, msg);
        // A leader answers for its own lease (check-quorum ends it); only a follower's must end.
        if (msg === LEASE_IGNORE_LOG && this.nodes.get(id)?.raw?.status().role !== 'leader')
          this.lease.ignored(id, f.from, f.candidateTerm);
      },
      warn: line('WARN'),
    };
  }
}
