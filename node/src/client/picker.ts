/**
 * The routing rule of the client (the book's picker, pure): writes go to the leader,
 * reads are spread round-robin over the followers (the leader only when there are none).
 * {@link route} is the rule itself, shared by the {@link Picker} of CommitLogClient and
 * the grpc-js load-balancing policy of grpc-lb.ts.
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

/** The outcome of {@link route}: the chosen candidate and the next round-robin cursor, or why none fits. */
export type Route<S> =
  | { readonly ok: true; readonly server: S; readonly next: number }
  | { readonly ok: false; readonly reason: 'no-servers' | 'no-leader' };

/** How {@link route} sees a candidate: is it the leader, can a read be sent to it now. */
export interface RouteView<S> {
  readonly isLeader: (s: S) => boolean;
  /** A follower that can take a read now (the Picker: it has an address; grpc-js: its subchannel is READY). */
  readonly readable: (s: S) => boolean;
}

/**
 * THE client routing rule, used by {@link Picker} and by the grpc-js policy (grpc-lb.ts):
 * a write goes to the leader (none known: `no-leader`); a read goes to the readable
 * followers in turn (`cursor` is the round-robin position), else to the leader, else
 * `no-leader`. No candidates at all: `no-servers`.
 */
export function route<S>(kind: CallKind, servers: readonly S[], view: RouteView<S>, cursor: number): Route<S> {
  if (servers.length === 0) return { ok: false, reason: 'no-servers' };
  const leader = servers.find(view.isLeader);
  if (kind === CallKind.read) {
    const followers = servers.filter((s) => !view.isLeader(s) && view.readable(s));
    if (followers.length > 0) {
      const i = cursor % followers.length;
      return { ok: true, server: followers[i] as S, next: (i + 1) % followers.length };
    }
  }
  return leader !== undefined ? { ok: true, server: leader, next: cursor } : { ok: false, reason: 'no-leader' };
}

/**
 * Round-robin state over followers; `pick` is {@link route} over the resolver's view, minus
 * the servers the caller avoids (CommitLogClient: the suspects, servers that went silent —
 * suspects.ts). An avoided leader counts as no leader: a write then waits for a resolve that
 * names another one instead of being sent to a server that answers nothing.
 */
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

  /** Chooses the server for a call of `kind`, never one for which `avoid` holds. */
  pick(kind: CallKind, avoid: (s: ClusterServer) => boolean = () => false): Pick {
    const view: RouteView<ClusterServer> = {
      isLeader: (s) => s.isLeader && !avoid(s),
      readable: (s) => s.addr !== '' && !avoid(s),
    };
    const r = route(kind, this.servers, view, this.next);
    if (!r.ok) return r;
    this.next = r.next;
    return { ok: true, server: r.server };
  }
}
