import assert from 'node:assert/strict';
import { MembershipReconciler, PROMOTE_MAX_LAG, RemovedMembers, nextMembershipStep } from './membership.js';
import { PeerDirectory, agentTags } from './peers.js';
import { MemberStorageIds } from './storage-id.js';

const peer = (raftId: string, role = 'voter'): { raftId: string; rpcAddr: string; role: string } => ({
  raftId,
  rpcAddr: `${raftId}:8400`,
  role,
});

describe('membership: the one next change from gossip and the Raft configuration', () => {
  it('adds an alive gossip member that is not in the configuration as a learner (never straight to voter)', () => {
    assert.deepEqual(nextMembershipStep([{ id: 'a', suffrage: 'voter' }], [peer('b')]), {
      type: 'add-learner',
      id: 'b',
      rpcAddr: 'b:8400',
    });
  });

  it('makes one change at a time: additions first, in name order', () => {
    const step = nextMembershipStep(
      [
        { id: 'a', suffrage: 'voter' },
        { id: 'c', suffrage: 'learner', lag: 0 },
      ],
      [peer('d'), peer('b'), peer('c')],
    );
    assert.deepEqual(step, { type: 'add-learner', id: 'b', rpcAddr: 'b:8400' });
  });

  it('promotes a learner only once it is nearly caught up and asks to be a voter', () => {
    const members = [
      { id: 'a', suffrage: 'voter' as const },
      { id: 'b', suffrage: 'learner' as const, lag: PROMOTE_MAX_LAG + 1 },
    ];
    assert.deepEqual(nextMembershipStep(members, [peer('b')]), { type: 'none' });
    assert.deepEqual(
      nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner' }], [peer('b')]),
      { type: 'none' },
      'lag unknown (not the leader view)',
    );
    assert.deepEqual(
      nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner', lag: PROMOTE_MAX_LAG }], [peer('b')]),
      { type: 'promote', id: 'b' },
    );
    assert.deepEqual(nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner', lag: 0 }], [peer('b')]), {
      type: 'promote',
      id: 'b',
    });
    assert.deepEqual(
      nextMembershipStep([members[0] as never, { id: 'b', suffrage: 'learner', lag: 0 }], [peer('b', 'learner')]),
      { type: 'none' },
    );
  });

  it('never removes a member, whatever gossip says (a failed or absent member stays)', () => {
    const members = [
      { id: 'a', suffrage: 'voter' as const },
      { id: 'b', suffrage: 'voter' as const },
      { id: 'c', suffrage: 'learner' as const, lag: 0 },
    ];
    assert.deepEqual(nextMembershipStep(members, []), { type: 'none' });
  });
});

describe('membership: removed members are learned from the configuration', () => {
  it('an id that leaves the observed configuration is remembered as removed until forgotten', () => {
    const r = new RemovedMembers();
    assert.deepEqual(r.observe(['a', 'b', 'c']), [], 'the first observation removes nobody');
    assert.deepEqual(r.observe(['a', 'b', 'c', 'd']), [], 'an addition is not a removal');
    assert.deepEqual(r.observe(['a', 'b', 'd']), ['c']);
    assert.ok(r.has('c'));
    r.forget('c');
    assert.ok(!r.has('c'));
    assert.deepEqual(r.observe(['a', 'b', 'd']), [], 'an unchanged configuration does not remember it again');
  });
});

describe('membership: a removed member is not re-added while it is the same process', () => {
  type Member = { name: string; tags: Record<string, string>; state: 'alive' | 'dead' | 'left' };
  /** The reconciler over a scripted Raft configuration and gossip view (no timers run: kick() drives it). */
  function harness() {
    let members = ['a', 'b', 'c', 'd'].map((id) => ({ id, suffrage: 'voter' as const, lag: 0 }));
    const added: string[] = [];
    const listeners = new Set<(e: { type: string; member: Member }) => void>();
    const gossip = new Map<string, Member>();
    const member = (name: string, boot: string, state: Member['state'] = 'alive'): Member => ({
      name,
      state,
      tags: agentTags({ rpcAddr: `${name}:8400`, raftId: name, clusterId: 'c1', role: 'voter', boot }),
    });
    const node = {
      id: 'a',
      isLeader: true,
      status: () => ({ members }),
      addLearner: (id: string) => {
        added.push(id);
        members = [...members, { id, suffrage: 'voter' as const, lag: 0 }];
        return Promise.resolve();
      },
      promote: () => Promise.resolve(),
      setPeerAddress: () => undefined,
      onLeaderChange: () => () => undefined,
      onApplied: () => () => undefined,
      memberStorage: () => undefined,
    };
    const g = {
      on: (_: string, f: (e: { type: string; member: Member }) => void) => {
        listeners.add(f);
      },
      off: (_: string, f: (e: { type: string; member: Member }) => void) => {
        listeners.delete(f);
      },
      members: () => [...gossip.values()],
      aliveMembers: () => [...gossip.values()].filter((m) => m.state === 'alive'),
    };
    const removed = new RemovedMembers();
    const r = new MembershipReconciler(
      node as never,
      g as never,
      new PeerDirectory('c1'),
      3_600_000,
      { info: () => undefined, warn: () => undefined, debug: () => undefined },
      removed,
    );
    const settle = async (): Promise<void> => {
      r.kick();
      await (r as unknown as { running?: Promise<void> }).running;
      await (r as unknown as { running?: Promise<void> }).running;
    };
    const emit = (type: string, m: Member): void => {
      gossip.set(m.name, m);
      for (const f of listeners) f({ type, member: m });
    };
    return {
      added,
      r,
      settle,
      member,
      emit,
      remove: (id: string) => {
        members = members.filter((m) => m.id !== id);
      },
    };
  }

  it('GIVEN d removed WHEN gossip falsely declares it failed and it refutes (same boot id) THEN it is not re-added; a re-created d (new boot id) is', async () => {
    const h = harness();
    for (const n of ['b', 'c', 'd']) h.emit('join', h.member(n, `${n}-boot-1`));
    h.r.start();
    await h.settle();
    h.remove('d'); // RemoveMember committed: d leaves the configuration this node applies
    await h.settle();
    h.emit('failed', h.member('d', 'd-boot-1', 'dead')); // a busy machine: suspicion, then failure
    h.emit('update', h.member('d', 'd-boot-1')); // d refutes: the same live process
    await h.settle();
    assert.deepEqual(h.added, [], 'the removed process is not re-added after a false failure');
    h.emit('leave', h.member('d', 'd-boot-1', 'left'));
    h.emit('join', h.member('d', 'd-boot-2')); // a new pod with the same name
    await h.settle();
    assert.deepEqual(h.added, ['d'], 'a new process of that name joins again');
    await h.r.stop();
  });

  it('remembers the boot id of the removed process: the same id with another boot id is a new member', () => {
    const r = new RemovedMembers();
    r.observe(['a', 'b']);
    r.observe(['a'], (id) => (id === 'b' ? 'b1' : undefined));
    assert.ok(r.has('b', 'b1'));
    assert.ok(!r.has('b', 'b2'));
    r.add('c', 'c1');
    assert.ok(r.has('c', 'c1') && !r.has('c', undefined));
  });
});

describe('membership: a member whose storage changed is replaced, never counted as the old voter', () => {
  type Member = { name: string; tags: Record<string, string>; state: 'alive' | 'dead' | 'left' };
  type Conf = { id: string; suffrage: 'voter' | 'learner'; lag: number };
  /** The reconciler over a scripted configuration and gossip view with storage ids; kick() drives it. */
  function harness() {
    let members: Conf[] = ['a', 'b', 'c'].map((id) => ({ id, suffrage: 'voter' as const, lag: 0 }));
    const changes: string[] = [];
    const replaced: string[] = [];
    const gossip = new Map<string, Member>();
    const confStorage = new Map<string, string>();
    const member = (name: string, storage: string, boot = `${name}-boot`): Member => ({
      name,
      state: 'alive',
      tags: agentTags({ rpcAddr: `${name}:8400`, raftId: name, clusterId: 'c1', role: 'voter', boot, storage }),
    });
    const node = {
      id: 'a',
      isLeader: true,
      status: () => ({ members }),
      addLearner: (id: string, _addr: string, storage?: string) => {
        changes.push(`add-learner ${id}${storage === undefined ? '' : ` storage ${storage}`}`);
        members = [...members, { id, suffrage: 'learner', lag: 1000 }];
        if (storage !== undefined) confStorage.set(id, storage);
        return Promise.resolve();
      },
      promote: (id: string) => {
        changes.push(`promote ${id}`);
        members = members.map((m) => (m.id === id ? { ...m, suffrage: 'voter' } : m));
        return Promise.resolve();
      },
      removeMember: (id: string) => {
        changes.push(`remove ${id}`);
        members = members.filter((m) => m.id !== id);
        confStorage.delete(id);
        return Promise.resolve();
      },
      setPeerAddress: () => undefined,
      onLeaderChange: () => () => undefined,
      onApplied: () => () => undefined,
      // The storage ids the replicated configuration records (ConfState.storage).
      memberStorage: (id: string) => confStorage.get(id),
    };
    const g = {
      on: () => undefined,
      off: () => undefined,
      members: () => [...gossip.values()],
      aliveMembers: () => [...gossip.values()].filter((m) => m.state === 'alive'),
    };
    const ids = MemberStorageIds.inMemory();
    const r = new MembershipReconciler(
      node as never,
      g as never,
      new PeerDirectory('c1'),
      3_600_000,
      { info: () => undefined, warn: () => undefined, debug: () => undefined },
      new RemovedMembers(),
      undefined,
      { ids, onReplace: (id) => replaced.push(id) },
    );
    const settle = async (): Promise<void> => {
      r.kick();
      const state = r as unknown as { running?: Promise<void> };
      while (state.running !== undefined) await state.running;
    };
    return {
      r,
      ids,
      confStorage,
      changes,
      replaced,
      settle,
      gossip: (m: Member) => gossip.set(m.name, m),
      member,
      catchUp: (id: string) => {
        members = members.map((m) => (m.id === id ? { ...m, lag: 0 } : m));
      },
    };
  }

  it('GIVEN c recorded with storage s1 WHEN c comes back with storage s2 THEN it is removed, added again as a learner, and promoted only after catching up', async () => {
    const h = harness();
    h.gossip(h.member('b', 'b-s1'));
    h.gossip(h.member('c', 'c-s1'));
    h.r.start();
    await h.settle();
    assert.equal(h.ids.get('c'), 'c-s1', 'the storage id seen for a configured member is recorded');
    assert.deepEqual(h.changes, [], 'an unchanged storage id changes nothing');

    h.gossip(h.member('c', 'c-s2', 'c-boot-2')); // c's data dir was wiped; it restarted
    await h.settle();
    assert.deepEqual(
      h.changes,
      ['remove c', 'add-learner c storage c-s2'],
      'replaced: removed, then re-added as a learner with its new storage id',
    );
    assert.deepEqual(h.replaced, ['c']);
    assert.equal(h.ids.get('c'), 'c-s2', 'the new storage id is recorded once it is a member again');

    h.catchUp('c');
    await h.settle();
    assert.deepEqual(h.changes, ['remove c', 'add-learner c storage c-s2', 'promote c']);
    await h.r.stop();
  });

  it('a member first seen without a record (upgrade, new member) is recorded as it is, not replaced', async () => {
    const h = harness();
    h.gossip(h.member('b', 'b-s1'));
    h.r.start();
    await h.settle();
    h.gossip(h.member('c', 'c-s9'));
    await h.settle();
    assert.deepEqual(h.changes, []);
    assert.equal(h.ids.get('c'), 'c-s9');
    await h.r.stop();
  });

  it('GIVEN the configuration records c with s2 while the file of this node still says s1 (it missed the replacement) THEN c is not replaced again and the file follows the configuration', async () => {
    const h = harness();
    h.confStorage.set('c', 'c-s2');
    await h.ids.set('c', 'c-s1');
    h.gossip(h.member('b', 'b-s1'));
    h.gossip(h.member('c', 'c-s2'));
    h.r.start();
    await h.settle();
    assert.deepEqual(h.changes, [], 'c has the storage id the configuration gives it');
    assert.equal(h.ids.get('c'), 'c-s2');
    await h.r.stop();
  });

  it('GIVEN the configuration records c with s1 WHEN c comes back with s2 THEN it is replaced, whatever the file says', async () => {
    const h = harness();
    h.confStorage.set('c', 'c-s1');
    await h.ids.set('c', 'c-s2'); // a stale or wrong local record does not hide the change
    h.gossip(h.member('c', 'c-s2', 'c-boot-2'));
    h.r.start();
    await h.settle();
    assert.deepEqual(h.changes.slice(0, 2), ['remove c', 'add-learner c storage c-s2']);
    assert.equal(h.confStorage.get('c'), 'c-s2');
    await h.r.stop();
  });
});
