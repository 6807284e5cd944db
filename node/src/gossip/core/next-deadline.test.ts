import assert from 'node:assert/strict';
import { type CoreParams } from './params.js';
import { ScenarioNet, scenarioParams } from './testing/scenario-harness.js';
import { type NodeName } from './types.js';

/**
 * `nextDeadline()` is what lets the shell sleep instead of ticking: these specifications check
 * that sleeping until it is equivalent to ticking every millisecond (a tick before it never
 * acts) and that an idle cluster has few of them.
 */

/** Every periodic mechanism on, and short reaps, so each kind of deadline occurs. */
const everything: CoreParams = {
  ...scenarioParams,
  pushPullIntervalMs: 500,
  reconnectIntervalMs: 700,
  reapFailedMs: 2_000,
  reapLeftMs: 2_000,
  streamFallbackPing: true,
};

/** Ticks before the member's deadline, and the deadline checks that failed. */
function watchEarlyTicks(net: ScenarioNet): { early: number; violations: string[] } {
  const r = { early: 0, violations: [] as string[] };
  net.onTick = (name: NodeName, now: number, due: number, outputs: number) => {
    if (now >= due) return;
    r.early++;
    const after = net.core(name).nextDeadline();
    if (outputs > 0) r.violations.push(`${name} at ${now}: ${outputs} outputs before its deadline ${due}`);
    if (after < due) r.violations.push(`${name} at ${now}: deadline moved from ${due} to ${after} by an early tick`);
  };
  return r;
}

describe('gossip core: nextDeadline (what a sleeping shell waits for)', () => {
  it('a tick before nextDeadline() never acts: join, probes, a crash, suspicion, death, a leave and reaps', () => {
    // GIVEN four members ticked every millisecond, with every deadline watched
    const net = new ScenarioNet(everything);
    for (const n of ['a', 'b', 'c', 'd']) net.start(n);
    const watch = watchEarlyTicks(net);
    net.join('b', 'a');
    net.join('c', 'a');
    net.join('d', 'a');
    net.advance(1_000, 1);
    // WHEN c crashes, d leaves gracefully, and both are reaped
    net.kill('c');
    net.advance(1_500, 1);
    net.leave('d');
    net.advance(300, 1);
    net.kill('d');
    net.advance(4_000, 1);
    // THEN no early tick produced an output or pulled the deadline in
    assert.deepEqual(watch.violations.slice(0, 5), []);
    assert.ok(watch.early > 10_000, `most ticks were early (${watch.early})`);
    // … and the run went through every kind of deadline
    const seen = net.eventsAt('a');
    for (const e of ['failed c', 'leave d', 'reap c', 'reap d'])
      assert.ok(seen.includes(e), `a saw ${e}: ${seen.join(', ')}`);
    assert.ok(net.core('a').metrics.indirectProbes > 0 && net.core('a').metrics.pushPulls > 0);
  });

  it('an idle converged cluster is due for its probes and periodic exchanges only, not every gossip interval', () => {
    // GIVEN three converged members on `lan`-like timings (probe 1 s, gossip 200 ms)
    const lanLike: CoreParams = {
      ...scenarioParams,
      probeIntervalMs: 1_000,
      probeTimeoutMs: 500,
      gossipIntervalMs: 200,
      pushPullIntervalMs: 10_000,
      reconnectIntervalMs: 5_000,
    };
    const net = new ScenarioNet(lanLike);
    for (const n of ['a', 'b', 'c']) net.start(n);
    net.join('b', 'a');
    net.join('c', 'a');
    net.advance(5_000, 1);
    // WHEN a sleeps until each deadline for 10 s (counting the ticks a shell would wake for)
    let wakeups = 0;
    net.onTick = (name, now, due) => {
      if (name === 'a' && now >= due) wakeups++;
    };
    net.advance(10_000, 1);
    // THEN it woke about once per probe (10) plus push/pull and reconnect, not 50 gossip rounds
    assert.ok(wakeups >= 10, `a probes every second (${wakeups} wakeups)`);
    assert.ok(wakeups <= 16, `${wakeups} wakeups in 10 s: idle gossip rounds must not be deadlines`);
    assert.equal(net.core('a').pendingBroadcasts, 0);
  });
});
