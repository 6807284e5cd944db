/**
 * Scale-down safety on the node side: a member removed through Admin and still alive in
 * gossip (its pod is about to be deleted) is not added back — not by the leader that removed
 * it, and not by a leader elected right after (every node learns the removal by applying it).
 */
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import type { AdminClient, MembershipResponse } from '../gen/v1/admin.js';
import type { Agent } from './agent.js';
import { TestAgents, eventually } from './testing/cluster.js';

function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}
const voters = (a: Agent): string[] =>
  a.node
    .status()
    .members.filter((m) => m.suffrage === 'voter')
    .map((m) => m.id)
    .sort();

describe('agent: a removed member stays removed across a leader change', function () {
  this.timeout(120_000);
  let t: TestAgents;
  const closers: { close(): void }[] = [];
  const admin = (name: string): AdminClient => {
    const c = t.adminClient(name);
    closers.push(c);
    return c;
  };
  before(async () => {
    t = await TestAgents.create();
    await t.start('n0', { bootstrap: true });
    await t.start('n1');
    await t.start('n2');
    await t.start('n3');
    await eventually(
      '4 voters',
      () => t.leader() !== undefined && voters(t.leader() as Agent).join() === 'n0,n1,n2,n3',
    );
  });
  after(async () => {
    for (const c of closers) c.close();
    await t.destroy();
  });

  it('GIVEN n3 removed through Admin WHEN leadership moves to another node THEN the new leader does not re-add the live n3', async () => {
    const first = t.leader() as Agent;
    if (first.config.nodeName === 'n3') await unary((cb) => admin('n3').transferLeadership({ targetId: 'n0' }, cb));
    const leader = await eventually('a leader other than n3', () =>
      t.leader()?.config.nodeName !== 'n3' ? t.leader() : undefined,
    );
    await unary<MembershipResponse>((cb) => admin(leader.config.nodeName).removeMember({ id: 'n3' }, cb));
    const next = ['n0', 'n1', 'n2'].find((n) => n !== leader.config.nodeName) as string;
    // Every follower learns the removal by applying it (within one resync period).
    await eventually(
      `${next} knows n3 was removed`,
      () =>
        !t
          .get(next)
          .node.status()
          .members.some((m) => m.id === 'n3'),
    );
    await new Promise((r) => setTimeout(r, 1200));
    await unary((cb) => admin(leader.config.nodeName).transferLeadership({ targetId: next }, cb));
    await eventually(`${next} leads`, () => t.get(next).node.isLeader);
    await new Promise((r) => setTimeout(r, 2500)); // more than two membership resync periods on the new leader
    assert.ok(
      t
        .get(next)
        .gossip.aliveMembers()
        .some((m) => m.name === 'n3'),
      'n3 is still alive in gossip',
    );
    assert.deepEqual(voters(t.get(next)), ['n0', 'n1', 'n2'], 'n3 was not re-added by the new leader');
    assert.ok(
      !t
        .get(next)
        .node.status()
        .members.some((m) => m.id === 'n3'),
    );
    await t.stop('n3');
  });
});
