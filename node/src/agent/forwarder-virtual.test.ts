/**
 * The forwarder (forwarder.ts) on virtual time (issue 13 item 3): its deadline timer on a
 * {@link ManualLoopClock}, its leaders in-process (testing/fake-leader.ts), answered by the
 * test. Time moves only when a test moves it, so a deadline is checked to the millisecond
 * (still pending at deadline − 1, failed at the deadline) with no wall-clock wait.
 */
import assert from 'node:assert/strict';
import { credentials, status as Status } from '@grpc/grpc-js';
import { ManualLoopClock } from '../raft/shell/testing/manual-loop-clock.js';
import { ClusterErrorCode, ServerErrorCode } from '../server/errors.js';
import { ForwardIndeterminateError, LeaderForwarder } from './forwarder.js';
import { FakeLeaders } from './testing/fake-leader.js';

const TIMEOUT_MS = 1000;
const L1 = 'leader-1:9000';
const L2 = 'leader-2:9000';

/** A promise's outcome, readable synchronously once the microtasks have run ({@link settle}). */
interface Tracked<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: Error;
}

function track<T>(p: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending' };
  p.then(
    (v) => Object.assign(t, { state: 'resolved', value: v }),
    (e: unknown) => Object.assign(t, { state: 'rejected', error: e as Error }),
  );
  return t;
}

/** Lets every settlement already decided reach its handlers (event-loop turns, not time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Asserts `t` failed as indeterminate because no acknowledgement came in time. */
function assertTimedOut(t: Tracked<unknown>, what: string): void {
  assert.equal(t.state, 'rejected', `${what}: ${t.state}${t.state === 'resolved' ? ` at ${String(t.value)}` : ''}`);
  assert.ok(t.error instanceof ForwardIndeterminateError, `${what}: indeterminate, got ${t.error?.message}`);
  assert.equal((t.error.cause as { code?: number }).code, Status.DEADLINE_EXCEEDED, what);
}

function setup(): { clock: ManualLoopClock; leaders: FakeLeaders; forwarder: LeaderForwarder } {
  const clock = new ManualLoopClock();
  const leaders = new FakeLeaders();
  const forwarder = new LeaderForwarder(credentials.createInsecure(), TIMEOUT_MS, clock, leaders.dial);
  return { clock, leaders, forwarder };
}

const buf = (s: string): Buffer => Buffer.from(s);

describe('forwarder on virtual time: deadlines, order, leader changes', () => {
  let forwarder: LeaderForwarder | undefined;
  afterEach(() => {
    forwarder?.close();
    forwarder = undefined;
  });

  it('GIVEN records the leader never acknowledges THEN they are pending at deadline − 1 ms and fail indeterminate (DEADLINE_EXCEEDED) exactly at the deadline; the next forward opens a new stream', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const a = track(forwarder.produce(L1, buf('a')));
    s.clock.advance(300);
    const b = track(forwarder.produce(L1, buf('b')));
    const call = s.leaders.last(L1);
    assert.equal(call.requests.length, 2, 'both records went down one stream');
    s.clock.advance(TIMEOUT_MS - 1 - 300);
    await settle();
    assert.deepEqual([a.state, b.state], ['pending', 'pending'], `at ${s.clock.now()} ms, 1 ms before the deadline`);
    assert.equal(call.cancelled, false);
    s.clock.advance(1);
    await settle();
    assertTimedOut(a, 'the oldest record, at its deadline');
    // The stream is cancelled as a whole: b (300 ms younger) fails with it, as indeterminate.
    assertTimedOut(b, 'the record behind it');
    assert.equal(call.cancelled, true, 'the stream to the hung leader is cancelled');
    assert.deepEqual(s.leaders.closed, [], 'the channel to the same leader stays open');
    // WHEN the leader answers again THEN the next forward goes down a new stream and succeeds.
    const c = track(forwarder.produce(L1, buf('c')));
    const next = s.leaders.last(L1);
    assert.notEqual(next, call, 'a new stream');
    assert.deepEqual(next.requests[0]?.record?.value, buf('c'));
    next.ack(7);
    await settle();
    assert.equal(c.value, 7);
  });

  it('GIVEN the oldest record acknowledged WHEN its deadline timer fires THEN it is re-armed for the next oldest, which fails at its own deadline and not before', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const a = track(forwarder.produce(L1, buf('a')));
    s.clock.advance(400);
    const b = track(forwarder.produce(L1, buf('b')));
    s.clock.advance(100);
    s.leaders.last(L1).ack(0);
    await settle();
    assert.equal(a.value, 0);
    // The one timer was armed for a's deadline (1000): it fires and finds b due at 1400.
    s.clock.advance(TIMEOUT_MS - 500);
    await settle();
    assert.equal(b.state, 'pending', `b failed at ${s.clock.now()} ms, at a's deadline instead of its own`);
    s.clock.advance(399);
    await settle();
    assert.equal(b.state, 'pending', `b failed at ${s.clock.now()} ms, 1 ms before its deadline`);
    s.clock.advance(1);
    await settle();
    assertTimedOut(b, `b at its deadline (${s.clock.now()} ms)`);
  });

  it('GIVEN a stream with nothing in flight WHEN a record is sent later THEN it gets the full bound from when it was sent', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const a = track(forwarder.produce(L1, buf('a')));
    s.clock.advance(100);
    s.leaders.last(L1).ack(0);
    await settle();
    assert.equal(a.value, 0);
    // The timer armed for a (due at 1000) is still pending: c, sent at 500, is due at 1500.
    s.clock.advance(400);
    const c = track(forwarder.produce(L1, buf('c')));
    s.clock.advance(999);
    s.leaders.last(L1).ack(1);
    await settle();
    assert.equal(c.value, 1, `c acknowledged at ${s.clock.now()} ms, 1 ms before its deadline`);
    // d is sent once the timer (re-armed for c at 1000, due at 1500) has fired with nothing in flight: due at 2700.
    s.clock.advance(201);
    const d = track(forwarder.produce(L1, buf('d')));
    s.clock.advance(TIMEOUT_MS - 1);
    await settle();
    assert.equal(d.state, 'pending', `d failed at ${s.clock.now()} ms, 1 ms before its deadline`);
    s.clock.advance(1);
    await settle();
    assertTimedOut(d, `d at its deadline (${s.clock.now()} ms)`);
  });

  it('records and batches on one stream are settled in the order acknowledged, each with its offsets; the producer travels with its request', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const id = Buffer.alloc(8, 3);
    const a = track(forwarder.produce(L1, buf('a')));
    const batch = track(forwarder.produceBatch(L1, [buf('b'), buf('c'), buf('d')], { id, seq: 9 }));
    const e = track(forwarder.produce(L1, buf('e'), { id, seq: 10 }));
    const call = s.leaders.last(L1);
    assert.equal(s.leaders.calls.length, 1, 'one stream for the three requests');
    assert.deepEqual(
      call.requests.map((r) => [r.record?.value, r.batch?.records.map((x) => x.value), r.sequence]),
      [
        [buf('a'), undefined, undefined],
        [undefined, [buf('b'), buf('c'), buf('d')], 9],
        [buf('e'), undefined, 10],
      ],
    );
    assert.deepEqual(call.requests[1]?.producerId, id);
    call.ack(0);
    await settle();
    assert.deepEqual([a.state, batch.state, e.state], ['resolved', 'pending', 'pending']);
    call.ackBatch([1, 2, 3]);
    call.ack(4);
    await settle();
    assert.deepEqual([a.value, batch.value, e.value], [0, [1, 2, 3], 4]);
    // A batch acknowledged with the wrong number of offsets: that batch is indeterminate, the stream goes on.
    const short = track(forwarder.produceBatch(L1, [buf('f'), buf('g')]));
    const h = track(forwarder.produce(L1, buf('h')));
    call.ackBatch([5]);
    call.ack(7);
    await settle();
    assert.ok(short.error instanceof ForwardIndeterminateError, `indeterminate, got ${short.state}`);
    assert.match(short.error.message, /batch of 2 with 1 offsets/);
    assert.equal(h.value, 7);
  });

  it('GIVEN a batch the leader never acknowledges THEN it is pending at deadline − 1 ms and fails as a whole, indeterminate, at the deadline', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const batch = track(forwarder.produceBatch(L1, [buf('x'), buf('y')]));
    s.clock.advance(TIMEOUT_MS - 1);
    await settle();
    assert.equal(batch.state, 'pending');
    s.clock.advance(1);
    await settle();
    assertTimedOut(batch, 'the batch at its deadline');
  });

  it('GIVEN records in flight WHEN this node learns of a leader change THEN they fail at once, indeterminate; the new leader gets a new channel whose records keep their own deadlines', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const a = track(forwarder.produce(L1, buf('a')));
    const batch = track(forwarder.produceBatch(L1, [buf('b'), buf('c')]));
    const old = s.leaders.last(L1);
    s.clock.advance(200);
    // The same leader: nothing changes.
    forwarder.leaderChanged(L1);
    await settle();
    assert.deepEqual([a.state, batch.state], ['pending', 'pending'], 'the same leader keeps its records');
    // WHEN another node leads THEN what was in flight to L1 fails now, time standing still.
    forwarder.leaderChanged(L2);
    await settle();
    for (const [t, what] of [
      [a, 'a'],
      [batch, 'the batch'],
    ] as const) {
      assert.ok(t.error instanceof ForwardIndeterminateError, `${what}: indeterminate, got ${t.state}`);
      assert.match((t.error.cause as Error).message, /forwarding stopped/);
    }
    assert.equal(old.cancelled, true);
    assert.deepEqual(s.leaders.closed, [L1], 'the channel to the old leader is closed');
    const c = track(forwarder.produce(L2, buf('c')));
    const call = s.leaders.last(L2);
    // L1's deadline (1000) passes: the new stream's record is not touched by the old timer.
    s.clock.advance(TIMEOUT_MS - 200);
    await settle();
    assert.equal(c.state, 'pending', `c (sent at 200 ms) failed at ${s.clock.now()} ms`);
    call.ack(0);
    await settle();
    assert.equal(c.value, 0);
    // WHEN the election starts (no leader) THEN a record in flight to L2 fails at once too.
    const d = track(forwarder.produce(L2, buf('d')));
    forwarder.leaderChanged(undefined);
    await settle();
    assert.ok(d.error instanceof ForwardIndeterminateError, `indeterminate, got ${d.state}`);
    assert.deepEqual(s.leaders.closed, [L1, L2]);
  });

  it('WHEN this node learns of a new leader THEN the forwarder dials it and starts connecting at once, before any produce; the same leader again dials nothing', async () => {
    const s = setup();
    forwarder = s.forwarder;
    forwarder.leaderChanged(L1);
    assert.deepEqual(s.leaders.dialed, [L1]);
    assert.deepEqual(s.leaders.connected, [L1], 'connecting before the first forward');
    assert.equal(s.leaders.calls.length, 0, 'no call is opened until a record is forwarded');
    forwarder.leaderChanged(L1);
    const a = track(forwarder.produce(L1, buf('a')));
    assert.deepEqual(s.leaders.dialed, [L1], 'the forward uses the channel dialed ahead');
    s.leaders.last(L1).ack(5);
    await settle();
    assert.equal(a.value, 5);
    forwarder.leaderChanged(L2);
    assert.deepEqual(s.leaders.dialed, [L1, L2]);
    assert.deepEqual(s.leaders.closed, [L1]);
    forwarder.leaderChanged(undefined);
    assert.deepEqual(s.leaders.closed, [L1, L2], 'no leader: nothing is kept open');
    assert.deepEqual(s.leaders.dialed, [L1, L2]);
  });

  it('GIVEN a stream that fails THEN each record in flight gets what the failure means for it: the leader’s own status for the first, indeterminate after it (unless the leader is draining)', async () => {
    const s = setup();
    forwarder = s.forwarder;
    const sendTwo = (): [Tracked<number>, Tracked<number>] => [
      track(forwarder!.produce(L1, buf('p'))),
      track(forwarder!.produce(L1, buf('q'))),
    ];
    const code = (t: Tracked<number>): number | undefined => (t.error as { code?: number } | undefined)?.code;

    let [p, q] = sendTwo();
    s.leaders.last(L1).endWith(Status.UNAVAILABLE, ClusterErrorCode.notLeader);
    await settle();
    assert.ok(!(p.error instanceof ForwardIndeterminateError) && code(p) === Status.UNAVAILABLE, 'the refused one');
    assert.ok(q.error instanceof ForwardIndeterminateError, 'the one after it was handed to the leader');

    [p, q] = sendTwo();
    s.leaders.last(L1).endWith(Status.UNAVAILABLE, ServerErrorCode.shuttingDown);
    await settle();
    assert.deepEqual(
      [code(p), code(q)],
      [Status.UNAVAILABLE, Status.UNAVAILABLE],
      'a draining leader appended neither',
    );

    [p, q] = sendTwo();
    s.leaders.last(L1).drop();
    await settle();
    assert.ok(p.error instanceof ForwardIndeterminateError && q.error instanceof ForwardIndeterminateError);

    [p, q] = sendTwo();
    s.leaders.last(L1).end();
    await settle();
    assert.ok(p.error instanceof ForwardIndeterminateError && q.error instanceof ForwardIndeterminateError);
    assert.match((p.error.cause as Error).message, /ended the forwarding stream/);

    // An acknowledgement of a record never sent: the stream is not trusted any more.
    const r = track(forwarder.produce(L1, buf('r')));
    const call = s.leaders.last(L1);
    call.ack(0);
    call.ack(1);
    await settle();
    assert.equal(r.value, 0);
    assert.equal(call.cancelled, true, 'a stream that acknowledges the unsent is cancelled');
    assert.equal(s.leaders.calls.length, 5, 'each failed stream replaced by a new one on the same channel');
    assert.deepEqual(s.leaders.closed, []);
  });
});
