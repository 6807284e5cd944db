import assert from 'node:assert/strict';
import { until } from '../server/testing/fixtures.js';
import { Suspects } from './suspects.js';

/** A probe whose calls the test answers one by one. */
function scriptedProbe(): {
  probe: (addr: string) => Promise<unknown>;
  calls: { addr: string; answer: () => void; fail: () => void }[];
} {
  const calls: { addr: string; answer: () => void; fail: () => void }[] = [];
  const probe = (addr: string): Promise<unknown> =>
    new Promise((resolve, reject) =>
      calls.push({ addr, answer: () => resolve(undefined), fail: () => reject(new Error('deadline exceeded')) }),
    );
  return { probe, calls };
}

describe('client suspects: a server that did not work from here stays suspect until it answers or the suspicion expires', () => {
  it('GIVEN a suspect WHEN its probes fail THEN it stays suspect and is probed again; the first answer clears it', async () => {
    const { probe, calls } = scriptedProbe();
    const s = new Suspects({ probe, retryMs: 1, ttlMs: 60_000 });
    s.add('a:1');
    assert.ok(s.has('a:1'));
    assert.ok(!s.has('b:1'));
    await until(() => calls.length === 1, 'the first probe');
    calls[0]?.fail();
    await until(() => calls.length === 2, 'a second probe after the first failed');
    assert.ok(s.has('a:1'), 'still suspect while it answers nothing');
    calls[1]?.answer();
    await until(() => !s.has('a:1'), 'cleared by the answer');
    assert.deepEqual(
      calls.map((c) => c.addr),
      ['a:1', 'a:1'],
    );
    s.close();
  });

  it('one probe at a time per suspect: marking it again starts no second probe', async () => {
    const { probe, calls } = scriptedProbe();
    const s = new Suspects({ probe, retryMs: 1, ttlMs: 60_000 });
    s.add('a:1');
    s.add('a:1');
    s.add('b:1');
    await until(() => calls.length === 2, 'one probe per suspect');
    assert.deepEqual(calls.map((c) => c.addr).sort(), ['a:1', 'b:1']);
    assert.deepEqual([...s.addrs].sort(), ['a:1', 'b:1']);
    s.close();
  });

  it('a server that answered a call is cleared at once; close stops probing and clears every suspect', async () => {
    const { probe, calls } = scriptedProbe();
    const s = new Suspects({ probe, retryMs: 60_000, ttlMs: 600_000 });
    s.add('a:1');
    s.add('b:1');
    s.clear('a:1');
    assert.deepEqual(s.addrs, ['b:1']);
    await until(() => calls.length === 2, 'both probed');
    for (const c of calls) c.fail();
    // Both loops now wait 60 s before probing again; close wakes them and they end.
    s.close();
    assert.deepEqual(s.addrs, []);
    s.add('c:1');
    assert.ok(!s.has('c:1'), 'a closed set takes no suspects');
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2, 'no probe after close');
  });

  it('a suspicion expires ttlMs after it was marked, even while its probes fail; marking it again restarts the expiry, with one probe loop', async () => {
    const { probe, calls } = scriptedProbe();
    let now = 1_000;
    const s = new Suspects({ probe, retryMs: 1, ttlMs: 500, now: () => now });
    s.add('a:1');
    await until(() => calls.length === 1, 'the first probe');
    now += 499;
    assert.ok(s.has('a:1'), 'suspect until ttlMs has passed');
    s.add('a:1'); // failed a call again: the expiry restarts
    now += 499;
    assert.ok(s.has('a:1'), 'the second mark restarted the expiry');
    now += 1;
    assert.ok(!s.has('a:1'), 'expired ttlMs after the last mark');
    assert.deepEqual(s.addrs, []);
    s.add('a:1');
    assert.ok(s.has('a:1'), 'marked again after it expired');
    calls[0]?.fail();
    await until(() => calls.length === 2, 'probed again by the one loop');
    calls[1]?.answer();
    await until(() => !s.has('a:1'), 'cleared by the answer');
    s.close();
  });
});
