/**
 * The routing rule of the client (the book's picker, pure): writes go to the leader,
 * reads are spread round-robin over the followers (the leader only when there are none);
 * servers that did not work from this client lately (suspects) are chosen last.
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

/** How {@link route} sees a candidate: is it the leader, can a call be sent to it now, does it work from here. */
export interface RouteView<S> {
  readonly isLeader: (s: S) => boolean;
  /** A follower that can take a call now (the Picker: it has an address; grpc-js: its subchannel is READY). */
  readonly readable: (s: S) => boolean;
  /**
   * A server that did not work from this client lately (CommitLogClient: a suspect,
   * suspects.ts; grpc-js: a subchannel in TRANSIENT_FAILURE). A PREFERENCE, never an
   * exclusion: a suspect is chosen when no other server fits. Default: none is.
   */
  readonly suspect?: (s: S) => boolean;
}

/**
 * THE client routing rule, used by {@link Picker} and by the grpc-js policy (grpc-lb.ts).
 * Suspects ({@link RouteView.suspect}) are a preference: they only change the order.
 *
 * - A write goes to the leader; when the leader is suspect, to a readable follower that is
 *   not (round-robin; it forwards the Produce to the leader, agent/forwarder.ts); when every
 *   one is suspect, to the leader anyway. No leader known: `no-leader`.
 * - A read goes to the readable followers that are not suspect, in turn (`cursor` is the
 *   round-robin position); else to the leader if it is not suspect; else to the readable
 *   followers in turn; else to the leader; else `no-leader`.
 *
 * No candidates at all: `no-servers`. Otherwise, with a leader known, there is always a pick.
 */
export function route<S>(kind: CallKind, servers: readonly S[], view: RouteView<S>, cursor: number): Route<S> {
  if (servers.length === 0) return { ok: false, reason: 'no-servers' };
  const suspect = view.suspect ?? ((): boolean => false);
  const leader = servers.find(view.isLeader);
  const followers = servers.filter((s) => !view.isLeader(s) && view.readable(s));
  const trusted = followers.filter((s) => !suspect(s));
  const turn = (among: readonly S[]): Route<S> => {
    const i = cursor % among.length;
    return { ok: true, server: among[i] as S, next: (i + 1) % among.length };
  };
  const toLeader: Route<S> =
    leader !== undefined ? { ok: true, server: leader, next: cursor } : { ok: false, reason: 'no-leader' };
  if (kind === CallKind.write) {
    if (leader === undefined || !suspect(leader) || trusted.length === 0) return toLeader;
    return turn(trusted);
  }
  if (trusted.length > 0) return turn(trusted);
  if (leader !== undefined && !suspect(leader)) return toLeader;
  if (followers.length > 0) return turn(followers);
  return toLeader;
}

/**
 * Round-robin state over followers; `pick` is {@link route} over the resolver's view, with
 * the servers the caller suspects (CommitLogClient: servers that did not work from this
 * client lately, suspects.ts) chosen last: a suspect leader's writes go to a follower that
 * forwards them, and a suspect is still picked when nothing else fits.
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

  /** The leader of the current view, if it names one. */
  get leader(): ClusterServer | undefined {
    return this.servers.find((s) => s.isLeader);
  }

  /** Chooses the server for a call of `kind`, one for which `suspect` holds only when no other fits. */
  pick(kind: CallKind, suspect: (s: ClusterServer) => boolean = () => false): Pick {
    const view: RouteView<ClusterServer> = { isLeader: (s) => s.isLeader, readable: (s) => s.addr !== '', suspect };
    const r = route(kind, this.servers, view, this.next);
    if (!r.ok) return r;
    this.next = r.next;
    return { ok: true, server: r.server };
  }
}
