/**
 * The member table and its transition rules (memberlist `state.go`: aliveNode, suspectNode,
 * deadNode, refute, mergeState). Functions over a mutable {@link CoreState} record owned by
 * one {@link GossipCore}; they append broadcasts, events and refusals, never do I/O.
 */
import { type Awareness, applyDelta } from './awareness.js';
import { type BroadcastQueue } from './broadcast-queue.js';
import { type CoreParams, suspicionConfirmationsWanted, suspicionMaxMs, suspicionMinMs } from './params.js';
import { type Suspicion, confirmSuspicion, startSuspicion } from './suspicion.js';
import {
  type Address,
  type Incarnation,
  type MemberEvent,
  type MemberInfo,
  type MemberState,
  type Message,
  type NodeName,
  type Output,
  type Rng,
  type Tags,
  type WireMember,
  RefuseReasons,
  TagKeys,
  incarnation,
} from './types.js';

/** One member's mutable record inside the core. */
export interface MemberRec {
  readonly name: NodeName;
  addr: Address;
  tags: Tags;
  incarnation: Incarnation;
  state: MemberState;
  stateChangedAt: number;
}

/** Protocol counters kept by the core (plain numbers; the shell exports them). */
export interface CoreMetrics {
  probes: number;
  probeFailures: number;
  indirectProbes: number;
  streamPings: number;
  suspicionsRaised: number;
  refutations: number;
  deathsDeclared: number;
  refused: number;
  addressConflicts: number;
  misdirectedPings: number;
  pushPulls: number;
  reaped: number;
}

/** The whole mutable state of one core. */
export interface CoreState {
  readonly params: CoreParams;
  readonly self: NodeName;
  readonly clusterId: string | undefined;
  readonly rng: Rng;
  now: number;
  readonly members: Map<NodeName, MemberRec>;
  readonly suspicions: Map<NodeName, Suspicion>;
  awareness: Awareness;
  readonly broadcasts: BroadcastQueue;
  outputs: Output[];
  leaving: boolean;
  readonly metrics: CoreMetrics;
  /** Refusals already reported, so a chatty foreign node is counted but logged once. */
  readonly refusalsReported: Set<string>;
}

/**
 * Cluster size estimate for the retransmit limit: every known member until reaped, as
 * memberlist's `estNumNodes` (a member that just left still needs its leave spread).
 */
export const knownCount = (s: CoreState): number => s.members.size;

/** A fresh zeroed metrics record. */
export const zeroMetrics = (): CoreMetrics => ({
  probes: 0,
  probeFailures: 0,
  indirectProbes: 0,
  streamPings: 0,
  suspicionsRaised: 0,
  refutations: 0,
  deathsDeclared: 0,
  refused: 0,
  addressConflicts: 0,
  misdirectedPings: 0,
  pushPulls: 0,
  reaped: 0,
});

/** Snapshot of a member record. */
export const info = (m: MemberRec): MemberInfo => ({
  name: m.name,
  addr: m.addr,
  tags: m.tags,
  incarnation: m.incarnation,
  state: m.state,
  stateChangedAt: m.stateChangedAt,
});

/** Members counted as "the cluster" for suspicion formulas: alive or suspect, self included. */
export function liveCount(s: CoreState): number {
  let n = 0;
  for (const m of s.members.values()) if (m.state === 'alive' || m.state === 'suspect') n++;
  return Math.max(1, n);
}

function emit(s: CoreState, type: MemberEvent['type'], m: MemberRec): void {
  s.outputs.push({ type: 'event', event: { type, member: info(m) } });
}

/** True when two tag maps hold the same entries. */
export function tagsEqual(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * A member belongs to another cluster when we have a cluster id and its tags carry a
 * different one (or none). Without a local cluster id nothing is refused.
 */
export function clusterMismatch(s: CoreState, tags: Tags): boolean {
  return s.clusterId !== undefined && tags[TagKeys.clusterId] !== s.clusterId;
}

/** Counts a refusal and reports it once per (node, their cluster id). */
export function refuse(s: CoreState, node: NodeName, addr: Address, tags: Tags): void {
  s.metrics.refused++;
  const theirs = tags[TagKeys.clusterId] ?? '';
  const key = `${node}\u0000${theirs}`;
  if (s.refusalsReported.has(key)) return;
  s.refusalsReported.add(key);
  s.outputs.push({
    type: 'refused',
    refusal: {
      node,
      addr,
      reason: RefuseReasons.clusterMismatch,
      theirClusterId: theirs,
      ourClusterId: s.clusterId ?? '',
    },
  });
}

/** The alive broadcast describing our own current record. */
export function selfAlive(s: CoreState): Message {
  const me = self(s);
  return { type: 'alive', incarnation: me.incarnation, node: me.name, addr: me.addr, tags: me.tags };
}

/** Our own record (always present). */
export function self(s: CoreState): MemberRec {
  const me = s.members.get(s.self);
  if (me === undefined) throw new Error('gossip core invariant: local member missing');
  return me;
}

/**
 * Refutes an accusation about us by jumping past the accused incarnation and broadcasting
 * alive (SWIM §4.2); Lifeguard counts having to refute as a sign of our own ill health.
 */
export function refute(s: CoreState, accused: Incarnation): void {
  const me = self(s);
  const next = Math.max(me.incarnation, accused) + 1;
  me.incarnation = incarnation(next);
  s.awareness = applyDelta(s.awareness, 1);
  s.metrics.refutations++;
  s.broadcasts.queue(me.name, selfAlive(s));
}

/** Handles an alive claim (memberlist `aliveNode`). */
export function aliveNode(s: CoreState, a: Extract<Message, { type: 'alive' }>): void {
  const isSelf = a.node === s.self;
  if (!isSelf && clusterMismatch(s, a.tags)) {
    refuse(s, a.node, a.addr, a.tags);
    return;
  }
  let m = s.members.get(a.node);
  let isNew = false;
  if (m === undefined) {
    m = { name: a.node, addr: a.addr, tags: a.tags, incarnation: a.incarnation, state: 'dead', stateChangedAt: s.now };
    s.members.set(a.node, m);
    isNew = true;
  } else if (isSelf) {
    if (s.leaving || a.incarnation < m.incarnation) return;
    // Same incarnation but different content happens when we restarted with new tags or
    // address and peers still hold the old record: override it (memberlist refute).
    if (a.incarnation === m.incarnation && a.addr === m.addr && tagsEqual(a.tags, m.tags)) return;
    refute(s, a.incarnation);
    return;
  } else {
    if (a.incarnation <= m.incarnation) return;
    // Pods get new IPs on restart: a strictly higher incarnation may move the address.
    // (memberlist allows this only for dead/left members; incarnation order makes it safe.)
    if (a.addr !== m.addr && m.state !== 'dead' && m.state !== 'left') s.metrics.addressConflicts++;
  }
  s.suspicions.delete(a.node);
  const oldState = isNew ? 'dead' : m.state;
  const oldTags = m.tags;
  s.broadcasts.queue(a.node, a);
  m.incarnation = a.incarnation;
  m.tags = a.tags;
  m.addr = a.addr;
  if (m.state !== 'alive') {
    m.state = 'alive';
    m.stateChangedAt = s.now;
  }
  if (oldState === 'dead' || oldState === 'left') emit(s, 'join', m);
  else if (!tagsEqual(oldTags, m.tags)) emit(s, 'update', m);
}

/** Handles a suspicion (memberlist `suspectNode`, Lifeguard confirmations). */
export function suspectNode(s: CoreState, msg: Extract<Message, { type: 'suspect' }>): void {
  const m = s.members.get(msg.node);
  if (m === undefined || msg.incarnation < m.incarnation) return;
  const running = s.suspicions.get(msg.node);
  if (running !== undefined) {
    const confirmed = confirmSuspicion(running, msg.from);
    if (confirmed !== undefined) {
      s.suspicions.set(msg.node, confirmed);
      s.broadcasts.queue(msg.node, msg);
    }
    return;
  }
  if (m.state === 'left' && msg.incarnation <= m.incarnation) {
    // Someone missed the graceful leave and now suspects the member: spread the leave
    // again so the accuser records *left* before its suspicion runs out (never *failed*).
    s.broadcasts.queue(m.name, { type: 'dead', incarnation: m.incarnation, node: m.name, from: m.name });
    return;
  }
  if (m.state !== 'alive') return;
  if (msg.node === s.self) {
    if (!s.leaving) refute(s, msg.incarnation);
    return;
  }
  s.broadcasts.queue(msg.node, msg);
  m.incarnation = msg.incarnation;
  m.state = 'suspect';
  m.stateChangedAt = s.now;
  s.metrics.suspicionsRaised++;
  const n = liveCount(s);
  s.suspicions.set(
    msg.node,
    startSuspicion(
      msg.from,
      msg.incarnation,
      s.now,
      suspicionMinMs(s.params, n),
      suspicionMaxMs(s.params, n),
      suspicionConfirmationsWanted(s.params, n),
    ),
  );
}

/** Handles a death or leave (memberlist `deadNode`; `from === node` means left). */
export function deadNode(s: CoreState, msg: Extract<Message, { type: 'dead' }>): void {
  const m = s.members.get(msg.node);
  if (m === undefined || msg.incarnation < m.incarnation) return;
  const isLeave = msg.from === msg.node;
  s.suspicions.delete(msg.node);
  if (m.state === 'left') return;
  // A leave that arrives after we declared failure upgrades the record: it left.
  if (m.state === 'dead' && !isLeave) return;
  if (msg.node === s.self && !s.leaving) {
    refute(s, msg.incarnation);
    return;
  }
  s.broadcasts.queue(msg.node, msg);
  m.incarnation = msg.incarnation;
  m.state = isLeave ? 'left' : 'dead';
  m.stateChangedAt = s.now;
  emit(s, isLeave ? 'leave' : 'failed', m);
}

/** The full state sent in a push/pull (memberlist `localState`). */
export function localState(s: CoreState): WireMember[] {
  return [...s.members.values()].map((m) => ({
    name: m.name,
    addr: m.addr,
    incarnation: m.incarnation,
    state: m.state,
    tags: m.tags,
  }));
}

/**
 * Merges a remote full state (memberlist `mergeState`): a remote "dead" is only a
 * suspicion here, so one node's stale view cannot kill a healthy member outright.
 */
export function mergeRemoteState(s: CoreState, members: readonly WireMember[]): void {
  for (const r of members) {
    switch (r.state) {
      case 'alive':
        aliveNode(s, { type: 'alive', incarnation: r.incarnation, node: r.name, addr: r.addr, tags: r.tags });
        break;
      case 'left':
        deadNode(s, { type: 'dead', incarnation: r.incarnation, node: r.name, from: r.name });
        break;
      case 'dead':
      case 'suspect':
        suspectNode(s, { type: 'suspect', incarnation: r.incarnation, node: r.name, from: s.self });
        break;
    }
  }
}
