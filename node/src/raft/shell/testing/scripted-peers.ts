/**
 * Test doubles for driving ONE {@link RaftNode} (n1 of n1..n3) by hand: the other two members
 * played by the test ({@link ScriptedPeers}: records what n1 sends, delivers what they say),
 * a node on a gated memory disk and a manual clock, and the election that makes it leader.
 * Nothing here depends on how fast the machine is: time is a ManualLoopClock, the disk a
 * gate on fdatasync (loop-order.test.ts, critical-path.test.ts).
 */
import { logIndex, nodeId, term, type Message, type NodeId, type Term } from '../../core/types.js';
import { RaftNode } from '../raft-node.js';
import type { GatedFileSystem } from './gated-fs.js';
import type { ManualLoopClock } from './manual-loop-clock.js';
import { newTransportStats, type MessageHandler, type RaftTransport } from '../transport.js';

export const n1 = nodeId('n1');
export const n2 = nodeId('n2');
export const n3 = nodeId('n3');
export const ELECTION_TICKS = 10; // the lan preset's, the production default

/** The other two members, played by the test: records what n1 sends, delivers what they say. */
export class ScriptedPeers implements RaftTransport {
  readonly id = n1;
  readonly sent: Message[] = [];
  /** Called with each message as n1 sends it, before it is recorded (to observe n1's state at that moment). */
  onSend: (m: Message) => void = () => {};
  private handler: MessageHandler | null = null;
  private waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  listen(h: MessageHandler): void {
    this.handler = h;
  }
  send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.onSend(m);
      this.sent.push(m);
      const hit = this.waiters.filter((w) => w.pred(m));
      this.waiters = this.waiters.filter((w) => !w.pred(m));
      for (const w of hit) w.resolve(m);
    }
  }
  deliver(m: Message): void {
    this.handler?.(m, 'c1');
  }
  /** The first message from now on matching `pred`; the bound is a safety net, not the condition tested. */
  next(pred: (m: Message) => boolean, what: string): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`n1 sent no ${what} within 20 s`)), 20_000);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
  setPeer(): void {}
  removePeer(): void {}
  stats() {
    return newTransportStats();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const isCampaign = (m: Message): boolean => m.type === 'preVote' || m.type === 'vote';
export const describe1 = (m: Message): string => `${m.type} ${m.from}→${m.to} term ${m.term}`;
/** One macrotask turn: the loop on the memory disk runs on microtasks only, so it is idle after this. */
export const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Starts n1 of the voters n1..n3 on `fs` and `clock`, its peers played by `peers`. */
export async function startN1(peers: ScriptedPeers, fs: GatedFileSystem, clock: ManualLoopClock): Promise<RaftNode> {
  return RaftNode.start({
    id: n1,
    dir: '/data/n1',
    clusterId: 'c1',
    bootstrap: { voters: [n1, n2, n3] as NodeId[] },
    transport: peers,
    fs,
    clock,
    loopTimers: clock.loopTimers,
    seed: 7,
  });
}

/**
 * Makes n1 the leader of term 1 (ticks until it campaigns, n2 grants both votes, n2 and n3 ack
 * the no-op); `onApplied` runs in the first continuation of the no-op's apply. Returns the term.
 */
export async function electN1(
  node: RaftNode,
  peers: ScriptedPeers,
  clock: ManualLoopClock,
  onApplied: () => void = () => {},
): Promise<Term> {
  const preVote = peers.next((m) => m.type === 'preVote' && m.to === n2, 'pre-vote request');
  for (let i = 0; i < 4 * ELECTION_TICKS && !peers.sent.some((m) => m.type === 'preVote'); i++) {
    clock.tick();
    await settle();
  }
  const t1 = (await preVote).term;
  const vote = peers.next((m) => m.type === 'vote' && m.to === n2, 'vote request');
  peers.deliver({ type: 'preVoteResp', from: n2, to: n1, term: t1, granted: true });
  await vote;
  const noop = peers.next((m) => m.type === 'append' && m.to === n2, "leader's first append");
  peers.deliver({ type: 'voteResp', from: n2, to: n1, term: t1, granted: true });
  await noop;
  peers.deliver(ack(n2, t1, 1));
  peers.deliver(ack(n3, t1, 1));
  await node.waitForApplied(1).then(onApplied);
  return t1;
}

/** `from`'s successful append response up to `index`. */
export const ack = (from: NodeId, t: Term, index: number): Message => ({
  type: 'appendResp',
  from,
  to: n1,
  term: t,
  success: true,
  index: logIndex(index),
  hintIndex: logIndex(0),
  hintTerm: term(0),
});
