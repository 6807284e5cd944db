/**
 * Sending with piggybacked broadcasts, random peer selection and the gossip round
 * (memberlist `sendMsg`/`getBroadcasts`, `kRandomNodes`, `gossip`). Pure functions over the
 * core state; randomness only from the injected RNG.
 */
import { Limits, PACKET_HEADER_BYTES, messageSize } from './codec.js';
import { retransmitLimit } from './params.js';
import { type CoreState, type MemberRec, knownCount } from './state.js';
import { type Address, type Message } from './types.js';

/** Sends `msgs` to `to` in one packet, filling the rest of the budget with broadcasts. */
export function sendWithPiggyback(s: CoreState, to: Address, msgs: readonly Message[]): void {
  const used = PACKET_HEADER_BYTES + msgs.reduce((n, m) => n + messageSize(m), 0);
  const extra = s.broadcasts.take(
    s.params.packetBudget - used,
    retransmitLimit(s.params, knownCount(s)),
    Limits.messagesPerPacket - msgs.length,
  );
  s.outputs.push({ type: 'send', to, msgs: [...msgs, ...extra] });
}

/** Up to `k` distinct random members other than us that satisfy `pred`. */
export function randomMembers(s: CoreState, k: number, pred: (m: MemberRec) => boolean): MemberRec[] {
  const pool = [...s.members.values()].filter((m) => m.name !== s.self && pred(m));
  // Partial Fisher–Yates with the injected RNG.
  for (let i = 0; i < Math.min(k, pool.length); i++) {
    const j = i + Math.floor(s.rng() * (pool.length - i));
    const t = pool[i] as MemberRec;
    pool[i] = pool[j] as MemberRec;
    pool[j] = t;
  }
  return pool.slice(0, k);
}

/** Who a gossip round may send to: live members, and dead ones for `gossipToTheDeadMs`. */
function gossipTarget(s: CoreState, m: MemberRec): boolean {
  if (m.state === 'alive' || m.state === 'suspect') return true;
  return m.state === 'dead' && s.now - m.stateChangedAt < s.params.gossipToTheDeadMs;
}

/** True when a gossip round now would have someone to send to (no RNG drawn). */
export function hasGossipTarget(s: CoreState): boolean {
  for (const m of s.members.values()) if (m.name !== s.self && gossipTarget(s, m)) return true;
  return false;
}

/**
 * One gossip round: broadcasts only, to `gossipNodes` random members — live ones, and dead
 * ones for `gossipToTheDeadMs` so a falsely declared member learns it and refutes. Nothing
 * to send is no packet (memberlist `gossip()` skips a node when `getBroadcasts` is empty).
 */
export function gossipRound(s: CoreState): void {
  if (s.broadcasts.length === 0) return;
  const targets = randomMembers(s, s.params.gossipNodes, (m) => gossipTarget(s, m));
  const limit = retransmitLimit(s.params, knownCount(s));
  for (const t of targets) {
    const msgs = s.broadcasts.take(s.params.packetBudget - PACKET_HEADER_BYTES, limit, Limits.messagesPerPacket);
    if (msgs.length === 0) return;
    s.outputs.push({ type: 'send', to: t.addr, msgs });
  }
}
