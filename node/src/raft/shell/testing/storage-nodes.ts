/**
 * RaftNodes on real ports (TCP + mutual TLS) that carry storage ids as the agent wires them
 * (issue 12, README "Storage identity"): each data dir has a storage id (`<id>-s<generation>`,
 * a new generation per wipe), sent in v2 hellos, and each node hears a sender by the storage
 * id its configuration in force gives it (`RaftNode.memberStorage`), else by its own record
 * (`records`, the agent's member-storage.json: filled by the test, renewed only on the nodes
 * that are up when a member is replaced — {@link StorageNodes.replace} — as the agent's passes
 * did). Nothing recorded → heard, as the agent's `storageHeard` rule.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeId } from '../../core/types.js';
import type { RaftNodeOptions } from '../raft-node-options.js';
import { atLeader } from './at-leader.js';
import { type TcpNode, type TestPki, makeTestPki, startTcpNode } from './tcp-node.js';

/** Waits for `f()` to hold, bounded generously (busy CI machines); names what it waited for. */
export async function until(
  f: () => boolean | Promise<boolean>,
  what: string | (() => string),
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Options every node of a {@link StorageNodes} starts with. */
export type StorageNodeOptions = Pick<RaftNodeOptions, 'raftConfig' | 'logConfig'>;

/** A set of TCP RaftNodes with storage ids; `close()` stops them and removes their data. */
export class StorageNodes {
  /** Running nodes by id. */
  readonly running = new Map<string, TcpNode>();
  /** Each node's fallback record: member → storage id (the agent's member-storage.json). */
  readonly records = new Map<string, Map<string, string>>();
  private readonly generation = new Map<string, number>();
  private readonly ports = new Map<string, number>();
  private readonly root = mkdtempSync(join(tmpdir(), 'commitlog-storage-nodes-'));

  constructor(
    private readonly pki: TestPki,
    private readonly clusterId: string,
    private readonly options: StorageNodeOptions = {},
  ) {}

  /** The storage id of `id`'s data dir now. */
  storageOf(id: string): string {
    return `${id}-s${this.generation.get(id) ?? 0}`;
  }

  /** The running node `id` (throws when it is not running). */
  get(id: string): TcpNode {
    const n = this.running.get(id);
    if (n === undefined) throw new Error(`${id} is not running`);
    return n;
  }

  /** The address `id` listens on (the same port across restarts). */
  address(id: string): string {
    return `127.0.0.1:${this.ports.get(id) ?? 0}`;
  }

  /** Starts `id` on its port (a free one the first time) and tells every running node where all the others are. */
  async start(id: NodeId, o: { bootstrap?: readonly NodeId[] } = {}): Promise<TcpNode> {
    const record = this.records.get(id) ?? new Map<string, string>();
    this.records.set(id, record);
    const box: { n?: TcpNode } = {};
    const n = await startTcpNode({
      ...this.options,
      id,
      dir: join(this.root, id),
      clusterId: this.clusterId,
      ...(o.bootstrap !== undefined ? { bootstrap: { voters: o.bootstrap } } : {}),
      port: this.ports.get(id) ?? 0,
      pki: this.pki,
      shellPreset: 'test',
      transportOptions: {
        storageId: this.storageOf(id),
        peerWireVersion: () => 2,
        hearsStorage: (from, storageId) => {
          const recorded = box.n?.node.memberStorage(from) ?? record.get(from);
          return recorded === undefined || storageId === recorded;
        },
      },
    });
    box.n = n;
    this.ports.set(id, n.mux.port);
    this.running.set(id, n);
    for (const a of this.running.values())
      for (const b of this.running.keys()) if (b !== a.node.id) a.node.setPeerAddress(b as NodeId, this.address(b));
    return n;
  }

  /** Stops `id` (its data stays). */
  async stop(id: string): Promise<void> {
    const n = this.running.get(id);
    this.running.delete(id);
    await n?.close();
  }

  /** Wipes `id`'s data dir and starts it again: same id, port and certificate, empty log, a new storage id. */
  async wipe(id: NodeId): Promise<TcpNode> {
    await this.stop(id);
    rmSync(join(this.root, id), { recursive: true, force: true });
    this.records.delete(id);
    this.generation.set(id, (this.generation.get(id) ?? 0) + 1);
    return this.start(id);
  }

  /** The running leader (waits for one, bounded). */
  async leader(): Promise<TcpNode> {
    let found: TcpNode | undefined;
    await until(
      () => (found = [...this.running.values()].find((n) => n.node.isLeader)) !== undefined,
      () =>
        `a leader among ${[...this.running.keys()].join(', ')}; dropped for a wrong storage id: ${JSON.stringify(this.dropped())}`,
    );
    return found as TcpNode;
  }

  /**
   * Runs a membership change at the leader of the moment, again while it is refused for now
   * (not the leader, dropped, a change pending, a learner not caught up); bounded. A failure
   * names what was run and the dropped counts.
   */
  async atLeader(what: string, op: (leader: TcpNode) => Promise<unknown>, ms = 60_000): Promise<void> {
    try {
      await atLeader(() => this.leader(), op, ms, { rejected: true });
    } catch (e) {
      throw new Error(
        `${what}: ${(e as Error).message}; dropped for a wrong storage id: ${JSON.stringify(this.dropped())}`,
      );
    }
  }

  /**
   * Replaces member `id` as the agent does for a wiped one: removes it, adds it again as a
   * learner with its storage id now, promotes it once caught up. The nodes that are up renew
   * their record of it (the agent's pass saw it leave and come back); a node that is down
   * does not.
   */
  async replace(id: NodeId): Promise<void> {
    await this.atLeader(`remove ${id}`, (l) => l.node.removeMember(id));
    await this.join(id);
  }

  /** Adds `id` as a learner with its storage id now (recorded by the nodes that are up) and promotes it once caught up. */
  async join(id: NodeId): Promise<void> {
    const storage = this.storageOf(id);
    await this.atLeader(`add ${id} with ${storage}`, (l) => l.node.addLearner(id, this.address(id), storage));
    for (const [n, record] of this.records) if (this.running.has(n) && n !== id) record.set(id, storage);
    await this.atLeader(`promote ${id} (caught up)`, (l) => l.node.promote(id), 120_000);
  }

  /** Messages each running node dropped for a wrong storage id. */
  dropped(): Record<string, number> {
    return Object.fromEntries([...this.running].map(([id, n]) => [id, n.transport.stats().droppedWrongStorage]));
  }

  async close(): Promise<void> {
    for (const id of [...this.running.keys()]) await this.stop(id);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * The mocha side of {@link StorageNodes}: call inside `describe`. One test PKI for `ids` is
 * made in `before`; the returned function creates a set of nodes on it, and every set a test
 * created is closed (nodes stopped, data removed) in `afterEach`, whether it passed or not.
 * @example
 *   const storageNodes = useStorageNodes(ids);
 *   it('elects a leader', async () => { const c = storageNodes('my-cluster'); await c.start(id, { bootstrap: [id] }); });
 */
export function useStorageNodes(
  ids: readonly NodeId[],
): (clusterId: string, options?: StorageNodeOptions) => StorageNodes {
  let pki: TestPki | undefined;
  const created: StorageNodes[] = [];
  before(async () => {
    pki = await makeTestPki(ids);
  });
  afterEach(async () => {
    for (const c of created.splice(0)) await c.close();
  });
  return (clusterId, options) => {
    if (pki === undefined)
      throw new Error('useStorageNodes: the test PKI is made in before(); call this inside a test');
    const c = new StorageNodes(pki, clusterId, options);
    created.push(c);
    return c;
  };
}
