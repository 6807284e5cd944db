/**
 * An in-process cluster of RaftNodes on real on-disk logs and the memory transport, for
 * tests and the fsync benchmark. Temp directories are created here and removed by `destroy`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogConfigInput } from '../../../log/index.js';
import type { RaftConfig } from '../../core/config.js';
import { type NodeId, nodeId } from '../../core/types.js';
import { RaftNode } from '../raft-node.js';
import { MemoryNetwork } from '../transport-memory.js';

/**
 * A log that rolls a segment every few records and keeps about 3 KB: a few hundred records
 * make the leader compact, so a node stopped meanwhile catches up through a snapshot.
 */
export const COMPACTING_LOG: LogConfigInput = {
  maxStoreBytes: 1024,
  maxIndexBytes: 12 * 16,
  writeBufferBytes: 256,
  retention: { maxTotalBytes: 3000 },
};

/** Options of {@link MemoryCluster.create}. */
export interface MemoryClusterOptions {
  readonly size?: number;
  readonly clusterId?: string;
  readonly logConfig?: LogConfigInput;
  readonly raftConfig?: Partial<Omit<RaftConfig, 'id'>>;
  readonly tickMs?: number;
  readonly compactIntervalMs?: number;
  readonly requestTimeoutMs?: number;
}

/** A running in-memory cluster; node ids are n0, n1, … */
export class MemoryCluster {
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly dirs = new Map<NodeId, string>();
  private constructor(
    readonly root: string,
    readonly ids: readonly NodeId[],
    private readonly o: MemoryClusterOptions,
  ) {}

  /** Creates temp dirs and starts `size` bootstrapped voters. */
  static async create(o: MemoryClusterOptions = {}): Promise<MemoryCluster> {
    const root = mkdtempSync(join(tmpdir(), 'commitlog-raftcluster-'));
    const ids = Array.from({ length: o.size ?? 3 }, (_, i) => nodeId(`n${i}`));
    const c = new MemoryCluster(root, ids, o);
    for (const id of ids) await c.start(id, true);
    return c;
  }

  /** Starts (or restarts) node `id` from its directory. */
  async start(id: NodeId, bootstrap = false): Promise<RaftNode> {
    const dir = this.dirs.get(id) ?? join(this.root, id);
    this.dirs.set(id, dir);
    const node = await RaftNode.start({
      id,
      dir,
      clusterId: this.o.clusterId ?? 'test-cluster',
      ...(bootstrap ? { bootstrap: { voters: this.ids } } : {}),
      transport: this.net.transport(id, this.o.clusterId ?? 'test-cluster'),
      shellPreset: 'test',
      shellConfig: {
        tickMs: this.o.tickMs ?? 10,
        compactIntervalMs: this.o.compactIntervalMs ?? 100,
        requestTimeoutMs: this.o.requestTimeoutMs ?? 5000,
      },
      ...(this.o.logConfig !== undefined ? { logConfig: this.o.logConfig } : {}),
      ...(this.o.raftConfig !== undefined ? { raftConfig: this.o.raftConfig } : {}),
    });
    this.nodes.set(id, node);
    return node;
  }

  /** Stops node `id` gracefully (its directory stays). */
  async stop(id: NodeId): Promise<void> {
    const n = this.nodes.get(id);
    this.nodes.delete(id);
    await n?.stop();
  }

  /** Stops (gracefully) one running node other than `leader`; returns its id. */
  async stopFollower(leader: RaftNode): Promise<NodeId> {
    const id = [...this.nodes.keys()].find((n) => n !== leader.id);
    if (id === undefined) throw new Error(`no running node besides the leader ${leader.id}`);
    await this.stop(id);
    return id;
  }

  /** The node `id`. @throws when it is not running. */
  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`node ${id} is not running`);
    return n;
  }

  /**
   * Waits until one running node is leader and every running node agrees; returns it.
   * `among`: only those running nodes count (a node removed from the configuration but still
   * running hears no leader, so it never agrees).
   */
  async leader(timeoutMs = 20_000, among?: readonly NodeId[]): Promise<RaftNode> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nodes = [...this.nodes.values()].filter((n) => among === undefined || among.includes(n.id));
      const leaders = nodes.filter((n) => n.isLeader);
      const l = leaders[0];
      if (leaders.length === 1 && l !== undefined && nodes.every((n) => n.leaderId === l.id)) return l;
      if (Date.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resolves once every running node has applied `index` (RaftTimeoutError after `timeoutMs`). */
  async allApplied(index: number, timeoutMs = 20_000): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.waitForApplied(index, timeoutMs)));
  }

  /** Stops every node and removes the temp directories. */
  async destroy(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stop(id);
    rmSync(this.root, { recursive: true, force: true });
  }
}
