import assert from 'node:assert/strict';
import { parseTarget } from './client.js';
import { CallKind, Picker, route, type ClusterServer } from './picker.js';

const s = (id: string, isLeader = false): ClusterServer => ({ id, addr: `${id}:8400`, isLeader, isVoter: true });

describe('client picker: writes to the leader, reads round-robin over followers', () => {
  it('sends writes to the leader and refuses them when no leader is known', () => {
    assert.deepEqual(new Picker([s('a'), s('b', true), s('c')]).pick(CallKind.write), {
      ok: true,
      server: s('b', true),
    });
    assert.deepEqual(new Picker([s('a'), s('c')]).pick(CallKind.write), { ok: false, reason: 'no-leader' });
    assert.deepEqual(new Picker([]).pick(CallKind.read), { ok: false, reason: 'no-servers' });
  });

  it('spreads reads over the followers in turn, never the leader while a follower exists', () => {
    const p = new Picker([s('a'), s('b', true), s('c')]);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => (p.pick(CallKind.read) as { server: ClusterServer }).server.id),
      ['a', 'c', 'a', 'c'],
    );
  });

  it('reads from the leader when it is the only server', () => {
    assert.equal((new Picker([s('b', true)]).pick(CallKind.read) as { server: ClusterServer }).server.id, 'b');
  });

  it('one rule for the Picker and the grpc-js policy: reads skip followers that cannot take them, then fall back to the leader', () => {
    // The grpc-js policy's view: a follower is readable when its subchannel is READY.
    const servers = [
      { addr: 'a', ready: false },
      { addr: 'b', ready: true },
      { addr: 'L', ready: true },
      { addr: 'c', ready: true },
    ];
    const view = { isLeader: (x: { addr: string }) => x.addr === 'L', readable: (x: { ready: boolean }) => x.ready };
    let cursor = 0;
    const reads = [1, 2, 3].map(() => {
      const r = route(CallKind.read, servers, view, cursor);
      assert.ok(r.ok);
      cursor = r.next;
      return r.server.addr;
    });
    assert.deepEqual(reads, ['b', 'c', 'b']);
    const write = route(CallKind.write, servers, view, 0);
    assert.ok(write.ok && write.server.addr === 'L');
    const noneReady = servers.map((x) => ({ ...x, ready: false }));
    const r = route(CallKind.read, noneReady, view, 0);
    assert.ok(r.ok && r.server.addr === 'L', 'no readable follower: the leader');
    assert.deepEqual(route(CallKind.read, [{ addr: 'a', ready: false }], view, 0), { ok: false, reason: 'no-leader' });
  });

  it('a suspect leader: its writes go to a follower that is not suspect (which forwards them), in turn', () => {
    const p = new Picker([s('a'), s('b', true), s('c')]);
    const suspectB = (x: ClusterServer): boolean => x.id === 'b';
    assert.deepEqual(
      [1, 2, 3].map(() => (p.pick(CallKind.write, suspectB) as { server: ClusterServer }).server.id),
      ['a', 'c', 'a'],
    );
    const suspectAB = (x: ClusterServer): boolean => x.id !== 'c';
    assert.equal((p.pick(CallKind.write, suspectAB) as { server: ClusterServer }).server.id, 'c');
    assert.equal((p.pick(CallKind.write, (x) => x.id === 'a') as { server: ClusterServer }).server.id, 'b');
  });

  it('suspects are a preference, never an exclusion: when every server is suspect a write goes to the leader, a read to a follower', () => {
    const p = new Picker([s('a'), s('b', true), s('c')]);
    const all = (): boolean => true;
    assert.equal((p.pick(CallKind.write, all) as { server: ClusterServer }).server.id, 'b');
    assert.deepEqual([1, 2].map(() => (p.pick(CallKind.read, all) as { server: ClusterServer }).server.id).sort(), [
      'a',
      'c',
    ]);
    assert.equal((new Picker([s('b', true)]).pick(CallKind.write, all) as { server: ClusterServer }).server.id, 'b');
    assert.deepEqual(new Picker([s('a'), s('c')]).pick(CallKind.write, all), { ok: false, reason: 'no-leader' });
  });

  it('reads prefer followers that are not suspect, then the leader if it is not, then the suspect followers', () => {
    const p = new Picker([s('a'), s('b', true), s('c')]);
    assert.deepEqual(
      [1, 2, 3].map(() => (p.pick(CallKind.read, (x) => x.id === 'a') as { server: ClusterServer }).server.id),
      ['c', 'c', 'c'],
    );
    const followersSuspect = (x: ClusterServer): boolean => !x.isLeader;
    assert.equal((p.pick(CallKind.read, followersSuspect) as { server: ClusterServer }).server.id, 'b');
  });

  it('accepts commitlog:///host:port and host:port targets, and names a bad one', () => {
    assert.equal(parseTarget('commitlog:///127.0.0.1:8400'), '127.0.0.1:8400');
    assert.equal(parseTarget('localhost:8400'), 'localhost:8400');
    assert.throws(() => parseTarget('commitlog:///nohost'), /commitlog:\/\/\/host:port/);
  });
});
