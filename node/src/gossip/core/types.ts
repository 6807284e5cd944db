/**
 * Data types of the SWIM gossip core: member records, wire messages, events and the
 * outputs the core asks its shell to perform. Everything here is plain, readonly data.
 *
 * Shape follows hashicorp/memberlist (`state.go`, `net.go`): a member is alive, suspect,
 * dead (failed) or left, versioned by an incarnation number that only its owner raises.
 */

/** A member's unique name (e.g. the pod name). Branded so it never mixes with an address. */
export type NodeName = string & { readonly __brand: 'NodeName' };
/** A transport address `host:port` (IPv4 `1.2.3.4:8401` or `[::1]:8401`). */
export type Address = string & { readonly __brand: 'Address' };
/** Incarnation number: raised only by the member it describes (SWIM §4.2). */
export type Incarnation = number & { readonly __brand: 'Incarnation' };

/** Brands a string as a {@link NodeName}. */
export const nodeName = (s: string): NodeName => s as NodeName;
/** Brands a string as an {@link Address}. */
export const address = (s: string): Address => s as Address;
/** Brands a number as an {@link Incarnation}. */
export const incarnation = (n: number): Incarnation => n as Incarnation;

/** Member tags: small string map gossiped with the alive message (rpcAddr, clusterId, role …). */
export type Tags = Readonly<Record<string, string>>;

/** Well-known tag keys used by commitlog. */
export const TagKeys = {
  rpcAddr: 'rpcAddr',
  clusterId: 'clusterId',
  externalAddr: 'externalAddr',
  role: 'role',
} as const;

/** The state a member can be in, as memberlist's `NodeStateType`. */
export const MemberStates = {
  alive: 'alive',
  suspect: 'suspect',
  dead: 'dead',
  left: 'left',
} as const;
/** One of {@link MemberStates}. */
export type MemberState = (typeof MemberStates)[keyof typeof MemberStates];

/** What the core knows about one member; the public, immutable snapshot. */
export interface MemberInfo {
  readonly name: NodeName;
  readonly addr: Address;
  readonly tags: Tags;
  readonly incarnation: Incarnation;
  readonly state: MemberState;
  /** Clock time (ms, injected clock) of the last state change. */
  readonly stateChangedAt: number;
}

/**
 * Membership events, delivered in the order the core decided them. `failed` means the
 * failure detector declared the member dead (it may come back: a *failed* event must never
 * remove a Raft voter); `leave` means the member announced a graceful leave.
 */
export type MemberEvent =
  | { readonly type: 'join'; readonly member: MemberInfo }
  | { readonly type: 'leave'; readonly member: MemberInfo }
  | { readonly type: 'failed'; readonly member: MemberInfo }
  | { readonly type: 'update'; readonly member: MemberInfo }
  | { readonly type: 'reap'; readonly member: MemberInfo };

/** Member state as carried in a push/pull exchange. */
export interface WireMember {
  readonly name: NodeName;
  readonly addr: Address;
  readonly incarnation: Incarnation;
  readonly state: MemberState;
  readonly tags: Tags;
}

/** Why a remote node was refused. */
export const RefuseReasons = { clusterMismatch: 'cluster-mismatch' } as const;
/** One of {@link RefuseReasons}. */
export type RefuseReason = (typeof RefuseReasons)[keyof typeof RefuseReasons];

/** A gossip protocol message (memberlist `messageType`s we implement). */
export type Message =
  /** Direct probe; `target` guards against a different node now owning the address. */
  | { readonly type: 'ping'; readonly seq: number; readonly target: NodeName; readonly from: NodeName }
  /** Ask the receiver to probe `target` for us (SWIM §3.1 ping-req). */
  | {
      readonly type: 'indirect-ping';
      readonly seq: number;
      readonly target: NodeName;
      readonly targetAddr: Address;
      readonly nack: boolean;
      readonly from: NodeName;
    }
  | { readonly type: 'ack'; readonly seq: number }
  /** Lifeguard: the relay could not reach the target (so the relay itself is healthy). */
  | { readonly type: 'nack'; readonly seq: number }
  | {
      readonly type: 'alive';
      readonly incarnation: Incarnation;
      readonly node: NodeName;
      readonly addr: Address;
      readonly tags: Tags;
    }
  | { readonly type: 'suspect'; readonly incarnation: Incarnation; readonly node: NodeName; readonly from: NodeName }
  /** `from === node` means a graceful leave (memberlist convention). */
  | { readonly type: 'dead'; readonly incarnation: Incarnation; readonly node: NodeName; readonly from: NodeName }
  /** Full-state exchange over a stream (anti-entropy, join). */
  | {
      readonly type: 'push-pull';
      readonly join: boolean;
      readonly from: NodeName;
      readonly members: readonly WireMember[];
    }
  /** Stream reply refusing a push/pull (e.g. another cluster id). */
  | { readonly type: 'refuse'; readonly reason: RefuseReason; readonly clusterId: string };

/** Why the core opened a stream. */
export type StreamPurpose = 'join' | 'push-pull' | 'reconnect' | 'ping';

/** A stream request's outcome as the shell reports it back. */
export type StreamResult =
  { readonly ok: true; readonly reply: Message } | { readonly ok: false; readonly error: string };

/** A refusal the shell should log and count (never silent). */
export interface Refusal {
  readonly node: NodeName;
  readonly addr: Address;
  readonly reason: RefuseReason;
  readonly theirClusterId: string;
  readonly ourClusterId: string;
}

/** Something the core asks the shell to do, in order. */
export type Output =
  /** Send one UDP packet holding these messages (already within the packet budget). */
  | { readonly type: 'send'; readonly to: Address; readonly msgs: readonly Message[] }
  /** Open a stream (TCP) to `to`, send `msg`, read one reply, report via `streamResult`. */
  | {
      readonly type: 'stream';
      readonly id: number;
      readonly to: Address;
      readonly msg: Message;
      readonly purpose: StreamPurpose;
      readonly timeoutMs: number;
    }
  | { readonly type: 'event'; readonly event: MemberEvent }
  | { readonly type: 'refused'; readonly refusal: Refusal }
  /** Outcome of one join attempt to one seed address. */
  | {
      readonly type: 'join-result';
      readonly id: number;
      readonly to: Address;
      readonly ok: boolean;
      readonly reason?: string;
    };

/** Injected randomness: returns a float in [0, 1). */
export type Rng = () => number;
