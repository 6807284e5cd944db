/**
 * What this node knows about its peers from gossip tags: Raft id → RPC address (and the
 * external address clients outside the cluster use). Gossip is the only source of
 * addresses, so a restarted pod with a new IP is found again through its new `alive` message.
 */
import type { MemberInfo, Tags } from '../gossip/index.js';

/** Gossip tag names the agent sets (book: Serf tags). */
export const TagKeys = {
  rpcAddr: 'rpcAddr',
  raftId: 'raftId',
  clusterId: 'clusterId',
  role: 'role',
  externalAddr: 'externalAddr',
  /** Random per process start: tells a restarted or re-created member from the process that was removed. */
  boot: 'boot',
  /** The data directory's storage id (storage-id.ts): changes only when the disk was wiped or replaced. */
  storage: 'storage',
  /**
   * The highest Raft hello version the node accepts (raft/shell/codec.ts WIRE_VERSION): a peer
   * sends it a v2 hello (with the storage id) only when this says so; absent = v1 only.
   */
  wire: 'wire',
} as const;

/** One peer's addresses and desired suffrage, from its tags. */
export interface PeerInfo {
  readonly raftId: string;
  readonly rpcAddr: string;
  readonly externalAddr?: string;
  /** "voter" or "learner": what the node asks to become. */
  readonly role: string;
  /** Gossip state: alive, suspect, dead, left. */
  readonly state: string;
  /** The process's boot id (absent for nodes that do not send one). */
  readonly boot?: string;
  /** The data directory's storage id (absent for nodes that do not send one). */
  readonly storage?: string;
  /** The highest Raft hello version it accepts (absent: a node older than wire v2, so v1). */
  readonly wire?: number;
}

/** Builds this node's tags. */
export function agentTags(o: {
  rpcAddr: string;
  raftId: string;
  clusterId: string;
  role: string;
  boot: string;
  storage?: string | undefined;
  /** The highest Raft hello version this node accepts. */
  wire?: number | undefined;
  externalAddr?: string | undefined;
}): Tags {
  return {
    [TagKeys.rpcAddr]: o.rpcAddr,
    [TagKeys.raftId]: o.raftId,
    [TagKeys.clusterId]: o.clusterId,
    [TagKeys.role]: o.role,
    [TagKeys.boot]: o.boot,
    ...(o.storage !== undefined ? { [TagKeys.storage]: o.storage } : {}),
    ...(o.wire !== undefined ? { [TagKeys.wire]: String(o.wire) } : {}),
    ...(o.externalAddr !== undefined ? { [TagKeys.externalAddr]: o.externalAddr } : {}),
  };
}

/** Parses a member's tags; undefined for members that are not commitlog nodes of `clusterId`. */
export function peerOf(m: MemberInfo, clusterId: string): PeerInfo | undefined {
  const t = m.tags;
  const raftId = t[TagKeys.raftId];
  const rpcAddr = t[TagKeys.rpcAddr];
  if (raftId === undefined || rpcAddr === undefined || t[TagKeys.clusterId] !== clusterId) return undefined;
  const ext = t[TagKeys.externalAddr];
  const boot = t[TagKeys.boot];
  const storage = t[TagKeys.storage];
  const wireTag = t[TagKeys.wire];
  // A malformed version is unknown: v1, which every node accepts.
  const wire = wireTag !== undefined && /^[1-9]\d{0,3}$/.test(wireTag) ? Number(wireTag) : undefined;
  return {
    raftId,
    rpcAddr,
    role: t[TagKeys.role] ?? 'voter',
    state: m.state,
    ...(ext !== undefined ? { externalAddr: ext } : {}),
    ...(boot !== undefined ? { boot } : {}),
    ...(storage !== undefined ? { storage } : {}),
    ...(wire !== undefined ? { wire } : {}),
  };
}

/** The latest known addresses of every peer (dead ones included: Raft members may come back). */
export class PeerDirectory {
  private readonly peers = new Map<string, PeerInfo>();

  constructor(private readonly clusterId: string) {}

  /** Parses a member's tags without recording them (undefined when it is not one of ours). */
  parse(m: MemberInfo): PeerInfo | undefined {
    return peerOf(m, this.clusterId);
  }

  /** Records a member's tags; returns the peer when it is one of ours. */
  update(m: MemberInfo): PeerInfo | undefined {
    const p = peerOf(m, this.clusterId);
    if (p !== undefined) this.peers.set(p.raftId, p);
    return p;
  }

  /** The peer with Raft id `id`. */
  get(id: string): PeerInfo | undefined {
    return this.peers.get(id);
  }

  /** Every known peer. */
  all(): readonly PeerInfo[] {
    return [...this.peers.values()];
  }
}
