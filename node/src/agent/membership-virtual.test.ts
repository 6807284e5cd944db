import assert from 'node:assert/strict';
import { RESYNC_MS, VirtualMembers } from './testing/virtual-members.js';

// The membership reconciler (membership.ts) driving real RaftNodes on virtual time
// (testing/virtual-members.ts): one manual clock for the nodes' loops, the network and the
// reconcilers' resync timers, a scripted gossip view. No process, socket or wall-clock wait.

const enc = new TextEncoder();

/** Proposes `n` records at the leader and moves time until all are acknowledged. */
async function write(c: VirtualMembers, n: number): Promise<void> {
  await c.until('a leader', () => c.leader() !== undefined);
  const leader = c.leader();
  if (leader === undefined) throw new Error('no leader');
  let acked = 0;
  let failed: unknown = null;
  for (let i = 0; i < n; i++)
    leader.propose(enc.encode(`r${i}`)).then(
      () => acked++,
      (e: unknown) => (failed = e),
    );
  await c.until(`${n} records acknowledged`, () => acked === n || failed !== null);
  assert.equal(failed, null, `a write failed: ${String(failed)}`);
}

/** Records every distinct configuration `id` shows, in order. */
function recorder(c: VirtualMembers, id: string): { seen: string[]; watch: () => void } {
  const seen: string[] = [];
  return {
    seen,
    watch: () => {
      const now = c.configOf(id);
      if (seen[seen.length - 1] !== now) seen.push(now);
    },
  };
}

/** True when every running node shows configuration `conf` and has applied what `leader` applied. */
const convergedOn = (c: VirtualMembers, conf: string): boolean => {
  const nodes = c.running();
  const leader = c.leader();
  return (
    leader !== undefined && nodes.every((n) => c.configOf(n.id) === conf && n.appliedIndex === leader.appliedIndex)
  );
};

describe('membership reconciler on virtual time, against real RaftNodes', function () {
  this.timeout(60_000);
  let c: VirtualMembers | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it('GIVEN a 3-voter cluster WHEN a new member joins gossip THEN the leader adds it as a learner and promotes it once caught up', async () => {
    c = await VirtualMembers.bootstrap(['n1', 'n2', 'n3']);
    await write(c, 30);
    const r = recorder(c, 'n1');
    await c.join('n4');
    const all = 'n1:voter n2:voter n3:voter n4:voter';
    await c.until('n4 a caught-up voter everywhere', () => convergedOn(c as VirtualMembers, all), 60_000, r.watch);
    r.watch();
    assert.deepEqual(r.seen, ['n1:voter n2:voter n3:voter', 'n1:voter n2:voter n3:voter n4:learner', all]);
    assert.ok(c.node('n4').committedDataEnd >= 30, `n4 holds ${c.node('n4').committedDataEnd} of 30 records`);
  });

  it('GIVEN a dead voter THEN gossip failure never removes it; WHEN the operator removes it THEN the same process is not re-added, a new one is', async () => {
    c = await VirtualMembers.bootstrap(['n1', 'n2', 'n3']);
    await write(c, 10);
    await c.kill('n3');
    // Three resync periods of virtual time with n3 failed in gossip: it stays a voter.
    await c.idle(3 * RESYNC_MS);
    assert.equal(c.configOf('n1'), 'n1:voter n2:voter n3:voter', 'a gossip failure removed a member');
    await write(c, 5); // two of three voters still commit
    // The operator's explicit removal (Admin RemoveMember) at the leader of the moment.
    const leader = c.leader();
    assert.ok(leader !== undefined);
    let removed: unknown = undefined;
    leader.removeMember('n3' as never).then(
      () => (removed = true),
      (e: unknown) => (removed = e),
    );
    await c.until('the removal of n3 committed everywhere', () =>
      convergedOn(c as VirtualMembers, 'n1:voter n2:voter'),
    );
    await c.until('the removal acknowledged', () => removed !== undefined);
    assert.equal(removed, true, `RemoveMember failed: ${String(removed)}`);
    // The removed process was only suspected: it is alive again in gossip, same boot id.
    c.refute('n3');
    await c.idle(3 * RESYNC_MS);
    assert.equal(c.configOf('n1'), 'n1:voter n2:voter', 'the removed process was re-added');
    // A new process of that name (a new pod: new boot id, empty disk) joins as a new member.
    await c.restartWiped('n3');
    const all = 'n1:voter n2:voter n3:voter';
    await c.until('the new n3 a caught-up voter everywhere', () => convergedOn(c as VirtualMembers, all));
  });

  it('GIVEN a voter whose disk was wiped WHEN it comes back with a new storage id THEN it is removed, re-added as a learner and promoted after catching up', async () => {
    c = await VirtualMembers.bootstrap(['n1', 'n2', 'n3']);
    await write(c, 30);
    await c.until('n3 caught up', () => convergedOn(c as VirtualMembers, 'n1:voter n2:voter n3:voter'));
    const r = recorder(c, 'n1');
    r.watch();
    await c.restartWiped('n3');
    const all = 'n1:voter n2:voter n3:voter';
    await c.until(
      'the wiped n3 replaced and a caught-up voter again',
      () => r.seen.length > 1 && convergedOn(c as VirtualMembers, all),
      60_000,
      r.watch,
    );
    r.watch();
    // Never counted as the old voter: out of the configuration before it is a learner, then a voter.
    assert.deepEqual(r.seen, [all, 'n1:voter n2:voter', 'n1:voter n2:voter n3:learner', all]);
    assert.ok(c.node('n3').committedDataEnd >= 30, `n3 holds ${c.node('n3').committedDataEnd} of 30 records`);
  });
});
