import assert from 'node:assert/strict';
import { Lifecycle, LifecycleStoppedError } from './lifecycle.js';

describe('lifecycle: a process is an ordered list of components', () => {
  /** A lifecycle whose components record their start and stop in `events`. */
  const recorder = () => {
    const events: string[] = [];
    const life = new Lifecycle();
    const part = (name: string, o: { failStart?: boolean; failStop?: boolean } = {}) =>
      life.start(
        name,
        () => {
          if (o.failStart === true) throw new Error(`${name} cannot start`);
          events.push(`start ${name}`);
          return name;
        },
        async (n) => {
          await Promise.resolve();
          events.push(`stop ${n}`);
          if (o.failStop === true) throw new Error(`${n} cannot stop`);
        },
      );
    return { events, life, part };
  };

  it('shutdown stops the components in reverse start order, once however often it is asked', async () => {
    const { events, life, part } = recorder();
    await part('store');
    await part('raft');
    await part('server');
    assert.deepEqual(life.names, ['store', 'raft', 'server']);
    await Promise.all([life.stop(), life.stop()]);
    await life.stop();
    assert.deepEqual(events, ['start store', 'start raft', 'start server', 'stop server', 'stop raft', 'stop store']);
  });

  it('a failure during start stops what started, in reverse order, and rethrows the start error', async () => {
    const { events, part } = recorder();
    await part('store');
    await part('raft');
    await assert.rejects(part('gossip', { failStart: true }), /gossip cannot start/);
    assert.deepEqual(events, ['start store', 'start raft', 'stop raft', 'stop store']);
    await assert.rejects(part('late'), LifecycleStoppedError);
    assert.deepEqual(events.length, 4, 'nothing starts once the stop began');
  });

  it('a failing stop does not keep the others from stopping; the first failure is reported', async () => {
    const failed: string[] = [];
    const events: string[] = [];
    const life = new Lifecycle({ onStopError: (name) => failed.push(name) });
    for (const name of ['a', 'b', 'c'])
      life.add({
        name,
        stop: () => {
          events.push(name);
          if (name !== 'a') throw new Error(`${name} failed`);
        },
      });
    await assert.rejects(life.stop(), /c failed/);
    assert.deepEqual(events, ['c', 'b', 'a']);
    assert.deepEqual(failed, ['c', 'b']);
  });

  it('a failing stop during a failed start never masks the start error', async () => {
    const { events, part } = recorder();
    await part('store', { failStop: true });
    await assert.rejects(part('raft', { failStart: true }), /raft cannot start/);
    assert.deepEqual(events, ['start store', 'stop store']);
  });
});
