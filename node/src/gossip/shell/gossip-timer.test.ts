import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Gossip, type GossipLogger } from './gossip.js';
import { FakeTime } from './testing/fake-timers.js';

// The shell sleeps until the core's next deadline (issue 15): one timer, re-armed after each
// call into the core. Virtual time through an injected clock and timers; the sockets are real
// (127.0.0.1) but nothing here waits on the wall clock except for a TCP exchange to finish.

const T0 = 1_000_000;
/** `lan` timings with a fixed RNG of 0.5: first probe at +500, first gossip round at +100. */
const lan = (name: string) => ({ name, preset: 'lan' as const, bindAddr: '127.0.0.1', bindPort: 0 });

const until = async (pred: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
};

describe('gossip shell timer: one timer at the core deadline, no periodic tick', function () {
  this.timeout(15_000);
  const started: Gossip[] = [];
  const start = async (...args: Parameters<typeof Gossip.start>): Promise<Gossip> => {
    const g = await Gossip.start(...args);
    started.push(g);
    return g;
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((g) => g.stop()));
  });

  it('a lone member arms exactly one timer, for its next probe period, and re-arms it after each tick', async () => {
    // GIVEN a member alone on lan timings
    const t = new FakeTime(T0);
    const g = await start(lan('a'), { clock: t.clock, timers: t.timers, random: () => 0.5 });
    // THEN one timer is armed, at the first probe (+500: its gossip has nobody to go to)
    assert.deepEqual(
      t.armed().map((x) => x.due - T0),
      [500],
    );
    assert.equal(g.nextWakeAt, T0 + 500);
    // WHEN it fires, THEN the next one is a probe period later (1 s), still exactly one
    for (const expected of [1_500, 2_500, 3_500]) {
      t.fireNext();
      assert.deepEqual(
        t.armed().map((x) => x.due - T0),
        [expected],
      );
    }
    // … where a 20 ms tick would have woken 175 times
    assert.equal(t.calls.length, 4);
  });

  it('a call that creates an earlier deadline re-arms the one timer for it (a join: gossip the alive)', async () => {
    // GIVEN a sleeping until its probe at +500, and b to join
    const t = new FakeTime(T0);
    const a = await start(lan('a'), { clock: t.clock, timers: t.timers, random: () => 0.5 });
    const b = await start(lan('b'));
    assert.deepEqual(
      t.armed().map((x) => x.due - T0),
      [500],
    );
    // WHEN a joins b (push/pull over real TCP)
    const r = await a.join([b.address]);
    assert.equal(r.joined, 1);
    // THEN its own alive is pending and b is a target: the gossip round at +100 is the deadline
    assert.deepEqual(
      t.armed().map((x) => x.due - T0),
      [100],
    );
    // WHEN it fires, the broadcast goes out and the probe at +500 is next (one timer again)
    t.fireNext();
    const armed = t.armed();
    assert.equal(armed.length, 1);
    assert.ok(armed[0] !== undefined && armed[0].due - T0 > 100 && armed[0].due - T0 <= 500, JSON.stringify(armed));
  });

  it('retry-join is a deadline of its own while alone, none while an attempt is in flight', async () => {
    // GIVEN a seed that refuses connections (a port just closed)
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const joins: object[] = [];
    const logger: GossipLogger = {
      info: (o, m) => void (m === 'gossip join' && joins.push(o)),
      warn: () => {},
      debug: () => {},
    };
    const t = new FakeTime(T0);
    const g = await start(
      { ...lan('a'), seeds: [`127.0.0.1:${port}`], reconnectIntervalMs: 5_000 },
      { clock: t.clock, timers: t.timers, random: () => 0.5, logger },
    );
    // WHEN the first attempt fails
    await until(() => joins.length === 1, 5_000, 'the first join attempt to fail');
    // THEN one timer; firing them reaches a second attempt 5 s after the first, not before
    assert.equal(t.armed().length, 1);
    while (joins.length === 1 && t.now < T0 + 5_000) {
      t.fireNext();
      assert.ok(t.armed().length <= 1, `one timer at most, got ${t.armed().length}`);
    }
    assert.equal(t.now, T0 + 5_000, 'woken at the retry time');
    await until(() => joins.length === 2, 5_000, 'the second join attempt');
    assert.equal(t.armed().length, 1);
    await g.stop();
    assert.deepEqual(t.armed(), []);
    assert.equal(g.nextWakeAt, undefined);
  });
});
