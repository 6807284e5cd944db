import assert from 'node:assert/strict';
import { CommitNotifier } from './commit-notifier.js';
import { MemoryBackend } from './memory-backend.js';

describe('CommitNotifier (the tailing event)', () => {
  it('resolves at once when the offset is already durable', async () => {
    const n = new CommitNotifier(5);
    assert.equal(await n.wait(4, new AbortController().signal), true);
  });

  it('wakes exactly the waiters an advance satisfies', async () => {
    const n = new CommitNotifier(0);
    const woke: number[] = [];
    const ac = new AbortController();
    const a = n.wait(0, ac.signal).then(() => woke.push(0));
    const b = n.wait(3, ac.signal).then(() => woke.push(3));
    n.advance(1);
    await a;
    assert.deepEqual(woke, [0]);
    assert.equal(n.waiting, 1, 'the waiter for offset 3 is still parked');
    n.advance(4);
    await b;
    assert.deepEqual(woke, [0, 3]);
  });

  it('an aborted waiter resolves false and is removed; close wakes everyone with false', async () => {
    const n = new CommitNotifier(0);
    const ac = new AbortController();
    const p = n.wait(10, ac.signal);
    ac.abort();
    assert.equal(await p, false);
    assert.equal(n.waiting, 0);
    const q = n.wait(10, new AbortController().signal);
    n.close();
    assert.equal(await q, false);
  });
});

describe('MemoryBackend', () => {
  it('commits concurrent produces together, in order, and wakes a tailing waiter', async () => {
    const b = new MemoryBackend({ maxRecordBytes: 8 });
    const waiting = b.waitFor(1, new AbortController().signal);
    const offsets = await Promise.all([b.produce(Buffer.from('a')), b.produce(Buffer.from('b'))]);
    assert.deepEqual(offsets, [0, 1]);
    assert.equal(await waiting, true);
    assert.deepEqual(
      (await b.readRange(0, { maxCount: 10, maxBytes: 100 })).map((r) => r.offset),
      [0, 1],
    );
    await assert.rejects(b.produce(Buffer.alloc(9)), { code: 'record-too-large' });
    await assert.rejects(b.read(2), { code: 'offset-out-of-range', lowest: 0, next: 2 });
  });
});
