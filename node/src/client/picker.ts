/**
 * The routing rule of the client (the book's picker, pure): writes go to the leader,
 * reads are spread round-robin over the followers (the leader only when there are none).
 * The resolver's view of the cluster is a list of {@link ClusterServer}s from GetServers.
 */

/** One server as the client sees it. */
export interface ClusterServer {
  readonly id: string;
  /** The address this client dials (rpcAddr, or externalRpcAddr when asked to). */
  readonly addr: string;
  readonly isLeader: boolean;
  readonly isVoter: boolean;
}

/** What a call needs: the leader (produce) or any replica (consume). */
export const CallKind = { write: 'write', read: 'read' } as const;
/** One of {@link CallKind}. */
export type CallKind = (typeof CallKind)[keyof typeof CallKind];

/** The outcome of a pick: a server, or why none fits. */
export type Pick =
  | { readonly ok: true; readonly server: ClusterServer }
  | { readonly ok: false; readonly reason: 'no-servers' | 'no-leader' };

/** Round-robin state over followers; `pick` is otherwise a pure function of the servers. */
export class Picker {
  private next = 0;

  constructor(private servers: readonly ClusterServer[] = []) {}

  /** Replaces the view of the cluster (after a resolve). */
  update(servers: readonly ClusterServer[]): void {
    this.servers = servers;
  }

  /** The current view. */
  get view(): readonly ClusterServer[] {
    return this.servers;
  }

  /** Chooses the server for a call of `kind`. */
  pick(kind: CallKind): Pick {
    if (this.servers.length === 0) return { ok: false, reason: 'no-servers' };
    const leader = this.servers.find((s) => s.isLeader);
    if (kind === CallKind.write) return leader ? { ok: true, server: leader } : { ok: false, reason: 'no-leader' };
    const followers = this.servers.filter((s) => !s.isLeader && s.addr !== '');
    if (followers.length === 0)
      return leader ? { ok: true, server: leader } : { ok: true, server: this.servers[0] as ClusterServer };
    const s = followers[this.next % followers.length] as ClusterServer;
    this.next = (this.next + 1) % followers.length;
    return { ok: true, server: s };
  }
}
