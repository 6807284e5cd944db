import assert from 'node:assert/strict';
import { WorkQueue } from './queue.js';
import { sleep, until } from './testing/wait.js';

describe('WorkQueue', () => {
  let q: WorkQueue | undefined;
  afterEach(async () => {
    await q?.shutdown();
    q = undefined;
  });

  it('processes a key added many times while waiting only once', async () => {
    const done: string[] = [];
    q = new WorkQueue(async (k) => {
      done.push(k);
    });
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.depth, 2);
    q.start();
    await until(() => done.length === 2, 'two keys');
    await sleep(20);
    assert.deepEqual(done, ['a', 'b']);
  });

  it('never processes one key concurrently, and reprocesses a key added during processing', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    q = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        runs++;
        await gate;
        active--;
      },
      { concurrency: 4 },
    );
    q.start();
    q.add('a');
    await until(() => runs === 1, 'the first run started');
    q.add('a');
    q.add('a'); // while the first run is in flight
    release();
    await until(() => runs === 2 && active === 0, 'second run');
    await sleep(50);
    assert.equal(maxActive, 1);
    assert.equal(runs, 2, 'adds during processing collapse into one more run');
  });

  it('processes different keys in parallel up to the concurrency', async () => {
    let active = 0;
    let maxActive = 0;
    q = new WorkQueue(
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(30);
        active--;
      },
      { concurrency: 2 },
    );
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    q.start();
    await until(() => q?.depth === 0 && active === 0, 'drain');
    assert.equal(maxActive, 2);
  });

  it('retries a failing key with growing per-key backoff and forgets it on success', async () => {
    const times: number[] = [];
    q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (times.length < 4) throw new Error('boom');
      },
      { backoffInitialMs: 20, backoffMaxMs: 1000 },
    );
    q.start();
    q.add('a');
    await until(() => times.length === 4, 'four attempts');
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    assert.ok(
      (gaps[0] ?? 0) >= 18 && (gaps[1] ?? 0) >= 38 && (gaps[2] ?? 0) >= 78,
      `gaps ${gaps.join(',')} should double from 20 ms`,
    );
    assert.equal(q.failuresOf('a'), 0);
  });

  it('honours requeueAfterMs from a successful pass', async () => {
    let runs = 0;
    q = new WorkQueue(async () => {
      runs++;
      return runs === 1 ? { requeueAfterMs: 30 } : {};
    });
    q.start();
    q.add('a');
    await until(() => runs === 2, 'requeued run');
  });

  it('shutdown waits for the pass in flight and drops what is queued', async () => {
    let finished = false;
    const started: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    q = new WorkQueue(
      async (k) => {
        started.push(k);
        await gate;
        finished = true;
      },
      { concurrency: 1 },
    );
    q.start();
    q.add('a');
    q.add('b');
    await until(() => started.length === 1, 'the first pass started');
    const stopped = q.shutdown();
    release(); // the pass in flight ends only after shutdown began
    await stopped;
    assert.ok(finished, 'in-flight pass completed before shutdown resolved');
    assert.deepEqual(started, ['a']);
    q = undefined;
  });

  it('shutdown aborts the signal of the pass in flight, and a pass that honours it ends shutdown promptly', async () => {
    let seen: AbortSignal | undefined;
    q = new WorkQueue(
      (_k, signal) => {
        seen = signal;
        // Blocks until aborted, as a pass waiting on a hung API call does.
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error)),
        );
      },
      { concurrency: 1 },
    );
    q.start();
    q.add('a');
    await until(() => seen !== undefined, 'the pass started');
    assert.equal(seen?.aborted, false);
    await q.shutdown();
    assert.equal(seen?.aborted, true, 'the pass in flight saw the abort');
    q = undefined;
  });
});
