/**
 * Membership changes of the production-loop simulator (raft-node-sim.ts), made as the agent
 * and the operator make them, through the leader's {@link RaftNode} API — so its
 * configuration-change retries and tracking run too: a new node joins as a learner
 * (`addLearner`), a caught-up learner is promoted (`promote`; the core refuses one that is not
 * caught up), a voter is removed while there are more than three (`removeMember`, a third of
 * the time the leader itself, which must step down once its removal commits), and now and then
 * a second change is asked for at once (the core must refuse it while the first is pending).
 * A member whose removal committed is stopped for good (the operator deletes its pod).
 */
import type { NodeId } from '../core/types.js';
import type { RaftNode } from '../shell/raft-node.js';
import type { Rand } from './virtual-net.js';

/** What a membership change needs from the simulator. */
export interface MembershipHost {
  readonly rand: Rand;
  /** The running node that leads (one, if any). */
  leader(): RaftNode | undefined;
  /** Creates and starts a node with an empty disk and no bootstrap; returns its id. */
  join(): Promise<NodeId>;
  /** The removal of `id` committed: stop it for good. */
  removed(id: NodeId): Promise<void>;
  note(line: string): void;
}

/** Learners at most this far behind the leader are worth a promotion attempt (the agent's is 64). */
const PROMOTE_LAG = 5;

/** One membership change at the leader, if it has one to make (see the module comment). */
export async function changeMembership(h: MembershipHost): Promise<void> {
  const leader = h.leader();
  if (leader === undefined) return;
  const members = leader.status().members;
  const voters = members.filter((m) => m.suffrage === 'voter').map((m) => m.id);
  const learner = members.find((m) => m.suffrage === 'learner');
  if (learner !== undefined) {
    if (learner.lag !== undefined && learner.lag <= PROMOTE_LAG)
      follow(h, leader, `promote ${learner.id}`, leader.promote(learner.id));
  } else if (voters.length < 5 && h.rand.nextFloat() < 0.6) {
    const id = await h.join();
    follow(h, leader, `add learner ${id}`, leader.addLearner(id, `${id}:8400`));
  } else if (voters.length > 3) {
    const others = voters.filter((v) => v !== leader.id);
    const v = h.rand.nextFloat() < 0.3 ? leader.id : others[h.rand.nextInt(others.length)];
    if (v !== undefined) removal(h, leader, v);
  }
  if (h.rand.nextFloat() < 0.3) {
    // A second change right away: refused while the first is uncommitted (Raft §4.1).
    const other = voters.filter((x) => x !== leader.id)[0];
    if (other !== undefined && voters.length > 3) removal(h, leader, other, ' right after');
  }
}

function removal(h: MembershipHost, leader: RaftNode, v: NodeId, when = ''): void {
  const p = leader.removeMember(v);
  follow(h, leader, `remove ${v}${when}`, p);
  p.then(
    () => h.removed(v),
    () => {},
  );
}

function follow(h: MembershipHost, leader: RaftNode, what: string, p: Promise<unknown>): void {
  h.note(`${leader.id}: ${what}`);
  p.then(
    () => h.note(`${leader.id}: ${what}: committed`),
    (e: unknown) =>
      h.note(`${leader.id}: ${what}: ${e instanceof Error ? ((e as { code?: string }).code ?? e.name) : String(e)}`),
  );
}
