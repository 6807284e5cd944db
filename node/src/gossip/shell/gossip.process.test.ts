import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { coreParams, presets } from '../config.js';
import { suspicionMaxMs } from '../core/params.js';
import { MemberProcess } from './testing/member-harness.js';

// Real processes on 127.0.0.1, UDP + TCP, `local` preset, AES-256-GCM on. The steps build
// on one another (one cluster, one story) to keep the run to a few seconds.
describe('gossip over UDP/TCP on loopback (separate processes)', function () {
  this.timeout(20_000);
  const key = randomBytes(32).toString('base64');
  const base = { preset: 'local', bindAddr: '127.0.0.1', bindPort: 0, encryptionKeys: [key], clusterId: 'c1' };
  const procs: MemberProcess[] = [];
  const spawnMember = async (name: string, seeds: string[] = [], extra: object = {}): Promise<MemberProcess> => {
    const p = new MemberProcess(name, { ...base, seeds, ...extra });
    procs.push(p);
    return p.ready();
  };
  let a: MemberProcess;
  let b: MemberProcess;
  let c: MemberProcess;

  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it('three members join through a seed and each sees all three', async () => {
    a = await spawnMember('a');
    [b, c] = await Promise.all([spawnMember('b', [a.addr]), spawnMember('c', [a.addr])]);
    for (const p of [a, b, c]) {
      for (const other of ['a', 'b', 'c']) if (other !== p.name) await p.event('join', other);
    }
  });

  it('kill -9 of a member is reported as failed by the others', async () => {
    c.kill9();
    await Promise.all([a.event('failed', 'c'), b.event('failed', 'c')]);
  });

  it('a member restarted with the same name (new port, incarnation 0) rejoins', async () => {
    const joinsBefore = a.lines.filter((l) => l.type === 'event' && l.event === 'join' && l.member === 'c').length;
    c = await spawnMember('c', [a.addr]);
    await a.waitFor(
      () => a.lines.filter((l) => l.type === 'event' && l.event === 'join' && l.member === 'c').length > joinsBefore,
      8000,
      'second join of c',
    );
    await c.event('join', 'b');
  });

  it('tag changes propagate as update events', async () => {
    b.send('tags {"clusterId":"c1","role":"voter"}');
    const u = await a.waitFor(
      (l) => l.type === 'event' && l.event === 'update' && l.member === 'b',
      8000,
      'update of b',
    );
    assert.deepEqual(u.tags, { clusterId: 'c1', role: 'voter' });
  });

  it('a graceful leave is recorded as left, never as failed', async () => {
    b.send('leave');
    await b.waitFor((l) => l.type === 'left', 8000, 'left');
    await Promise.all([a.event('leave', 'b'), c.event('leave', 'b')]);
    // Longer than a probe period plus a full suspicion timeout: still no failure for b.
    const params = coreParams(presets.local, true);
    await new Promise((r) => setTimeout(r, 2 * params.probeIntervalMs + suspicionMaxMs(params, 3)));
    for (const p of [a, c]) {
      assert.equal(
        p.lines.some((l) => l.type === 'event' && l.event === 'failed' && l.member === 'b'),
        false,
      );
    }
  });

  it('a member with the wrong key cannot join; its packets are dropped and counted', async () => {
    const wrong = await spawnMember('intruder', [], { encryptionKeys: [randomBytes(32).toString('base64')] });
    wrong.send(`join ${JSON.stringify([a.addr])}`);
    const j = await wrong.waitFor((l) => l.type === 'join', 8000, 'join result');
    assert.equal(j.joined, 0);
    a.send('metrics');
    const m = await a.waitFor((l) => l.type === 'metrics', 5000, 'metrics');
    const transport = m.transport as { dropped: Record<string, number> };
    assert.ok((transport.dropped['decrypt-failed'] ?? 0) > 0, JSON.stringify(transport.dropped));
    assert.equal((m.known as string[]).includes('intruder'), false, 'a never learned of the intruder');
  });

  it('a member of another cluster is refused, visibly', async () => {
    const other = await spawnMember('stranger', [], { clusterId: 'c2' });
    other.send(`join ${JSON.stringify([a.addr])}`);
    const j = await other.waitFor((l) => l.type === 'join', 8000, 'join result');
    assert.equal(j.joined, 0);
    assert.match(JSON.stringify(j.errors), /cluster-mismatch/);
    const r = await a.waitFor((l) => l.type === 'refused', 5000, 'refusal');
    assert.equal(r.node, 'stranger');
    assert.equal(r.theirClusterId, 'c2');
  });
});
