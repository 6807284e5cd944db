import assert from 'node:assert/strict';
import { ManualLoopClock } from '../raft/shell/testing/manual-loop-clock.js';
import { LeaderWait } from './leader-wait.js';

/** Lets settled promises reach their handlers (event-loop turns, not time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('LeaderWait (a produce held for the next leader), on virtual time', () => {
  it('wakes the waiters oldest first when a leader other than the one they left is known; none and the same leader wake no one', async () => {
    const clock = new ManualLoopClock();
    const w = new LeaderWait(clock);
    const woken: string[] = [];
    const a = w.wait(null, 1000).then((known) => woken.push(`a ${known}`));
    const b = w.wait('n1', 1000).then((known) => woken.push(`b ${known}`));
    const c = w.wait(null, 1000).then((known) => woken.push(`c ${known}`));
    w.changed(null);
    w.changed('n1');
    await settle();
    // GIVEN n1 is the leader b's forward was refused by: only a and c (no leader) wake, in order.
    assert.deepEqual(woken, ['a true', 'c true']);
    assert.equal(w.size, 1);
    w.changed('n2');
    await Promise.all([a, b, c]);
    assert.deepEqual(woken, ['a true', 'c true', 'b true']);
    assert.equal(w.size, 0);
  });

  it('ends a wait with false at its bound, not a millisecond before; one already past its bound does not wait', async () => {
    const clock = new ManualLoopClock();
    const w = new LeaderWait(clock);
    let out: boolean | undefined;
    void w.wait(null, 500).then((known) => (out = known));
    clock.advance(499);
    await settle();
    assert.equal(out, undefined, 'still waiting 1 ms before the bound');
    clock.advance(1);
    await settle();
    assert.equal(out, false);
    assert.equal(await w.wait(null, clock.now()), false);
    assert.equal(w.size, 0);
  });

  it('close() ends every wait with false, and every later wait at once (nothing is left to wake it)', async () => {
    const w = new LeaderWait(new ManualLoopClock());
    const p = w.wait(null, 1000);
    w.close();
    assert.equal(await p, false);
    assert.equal(w.closed, true);
    assert.equal(await w.wait(null, 1000), false);
    assert.equal(w.size, 0, 'no waiter (nor its timer) is left behind');
  });
});
