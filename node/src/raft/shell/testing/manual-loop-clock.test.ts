import assert from 'node:assert/strict';
import { shellConfig } from '../config.js';
import { ManualLoopClock } from './manual-loop-clock.js';

describe('ManualLoopClock: time moves only when the test moves it', () => {
  const cfg = shellConfig({ tickMs: 10, compactIntervalMs: 25, requestTimeoutMs: 40 });

  it('advance fires intervals and one-shot timers in time order, each at its own time, and stop and cancel silence them', () => {
    // GIVEN a node's three timers and two one-shot timers, one of them cancelled
    const clock = new ManualLoopClock();
    const seen: string[] = [];
    const at = (what: string) => () => seen.push(`${what}@${clock.now()}`);
    const timers = clock.loopTimers(cfg, { tick: at('tick'), compact: at('compact'), sweep: at('sweep') });
    clock.after(15, at('once'));
    clock.after(5, at('cancelled')).cancel();

    // WHEN 40 ms pass, THEN everything due fired in order (ticks every 10, compaction at 25, sweep at 40 = min(1 s, 40))
    clock.advance(40);
    assert.deepEqual(seen, ['tick@10', 'once@15', 'tick@20', 'compact@25', 'tick@30', 'tick@40', 'sweep@40']);
    assert.equal(clock.now(), 40);

    // WHEN the node's timers stop, THEN nothing fires any more, not even on tick()
    timers.stop();
    seen.length = 0;
    clock.advance(100);
    clock.tick(3);
    assert.deepEqual(seen, []);
    assert.equal(clock.running, 0);
  });

  it('tick fires the tick callback of every running node without moving time', () => {
    const clock = new ManualLoopClock();
    let a = 0;
    let b = 0;
    const noop = (): void => {};
    clock.loopTimers(cfg, { tick: () => a++, compact: noop, sweep: noop });
    clock.loopTimers(cfg, { tick: () => b++, compact: noop, sweep: noop });
    clock.tick(30);
    assert.deepEqual([a, b, clock.now()], [30, 30, 0]);
    assert.throws(() => clock.advance(-1), RangeError);
  });
});
