/**
 * Timeout-based suspects in the grpc-js policy `commitlog_leader` (grpc-lb.ts,
 * lb-suspects.ts; issue 12 item 4): a leader that is paused or partitioned keeps its
 * connection READY and answers nothing, so before this change every write through the
 * channel waited at it until the caller's deadline, call after call. Now the first call
 * that times out there makes it a suspect and the next writes go to a READY follower, which
 * forwards them (here: straight to the shared log, as a real follower forwards over the
 * cluster's own addresses). Suspicion is a preference: with every server suspect the calls
 * go where they would without suspects, and it expires on the injected clock.
 *
 * Real grpc-js servers on 127.0.0.1 with mutual TLS; a "frozen" server is one whose Produce
 * handler never answers (its GetServers still does, so the resolver keeps the view).
 * Which server carried a call is counted where the request arrives. No test waits on time:
 * a timed-out call is the caller's own deadline passing at a server that never answers.
 */
import assert from 'node:assert/strict';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import type { ConsumeResponse, LogClient, ProduceResponse } from '../gen/v1/log.js';
import type { BackendRecord, LogBounds, RangeOptions, ServerInfo } from '../server/backend.js';
import { MemoryBackend } from '../server/memory-backend.js';
import {
  createTestPki,
  credsFor,
  isolatedClient,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../server/testing/fixtures.js';
import { loadBalancedLogClient } from './grpc-lb.js';

/** A server of a scripted view whose Produce handler can freeze; every server writes to one shared log. */
class ScriptedServer extends MemoryBackend {
  /** Produce requests that arrived here (frozen or not). */
  produces = 0;
  /** Reads (Consume) served here. */
  reads = 0;
  /** While true, a Produce that arrives is never answered (until {@link release}). */
  frozen = false;
  private readonly held: ((e: Error) => void)[] = [];
  constructor(
    private readonly view: { servers: ServerInfo[] },
    private readonly log: MemoryBackend,
  ) {
    super();
  }
  override produce(value: Uint8Array): Promise<number> {
    this.produces++;
    if (this.frozen) return new Promise<number>((_, reject) => this.held.push(reject));
    return this.log.produce(value);
  }
  override read(offset: number): Promise<BackendRecord> {
    this.reads++;
    return this.log.read(offset);
  }
  // ConsumeStream tails the shared log (streams.ts reads bounds, ranges and waits).
  override bounds(): LogBounds {
    return this.log.bounds();
  }
  override readRange(from: number, opts: RangeOptions): Promise<readonly BackendRecord[]> {
    return this.log.readRange(from, opts);
  }
  override waitFor(offset: number, signal: AbortSignal): Promise<boolean> {
    return this.log.waitFor(offset, signal);
  }
  override servers(): readonly ServerInfo[] {
    return this.view.servers;
  }
  /** Fails the Produces held while frozen (teardown: their callers gave up long ago). */
  release(): void {
    for (const r of this.held.splice(0)) r(new Error('released'));
  }
}

type Outcome = { ok: true; offset: number } | { ok: false; code: Status; details: string };

function produce(lb: LogClient, value: string, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) =>
    lb.produce(
      { record: { value: Buffer.from(value), offset: 0, term: 0, type: 0 } },
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (e: ServiceError | null, r: ProduceResponse) =>
        resolve(e ? { ok: false, code: e.code, details: e.details } : { ok: true, offset: r.offset }),
    ),
  );
}

/** A produce that must succeed; the deadline is a safety net, far above what an answering server needs. */
async function produceOk(lb: LogClient, value: string): Promise<number> {
  const r = await produce(lb, value, 10_000);
  if (!r.ok)
    throw new Error(`produce ${value} failed: ${Status[r.code]} "${r.details}" (did it wait at a frozen server?)`);
  return r.offset;
}

/** A produce sent to a frozen server: it must end DEADLINE_EXCEEDED (the caller's deadline). */
async function produceTimesOut(lb: LogClient, value: string): Promise<void> {
  const r = await produce(lb, value, 1000);
  assert.ok(!r.ok && r.code === Status.DEADLINE_EXCEEDED, `produce ${value}: ${JSON.stringify(r)}`);
}

function consumeOk(lb: LogClient, offset: number): Promise<string> {
  return new Promise((resolve, reject) =>
    lb.consume(
      { offset },
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (e: ServiceError | null, r: ConsumeResponse) =>
        e ? reject(e) : resolve(Buffer.from(r.record?.value ?? []).toString()),
    ),
  );
}

/** Follows the log from offset 0 until the caller's deadline; resolves with the values streamed and how the call ended. */
function consumeStreamUntilDeadline(lb: LogClient, deadlineMs: number): Promise<{ values: string[]; code: Status }> {
  return new Promise((resolve) => {
    const values: string[] = [];
    const call = lb.consumeStream({ offset: 0 }, new Metadata(), { deadline: Date.now() + deadlineMs });
    call.on('data', (r: ConsumeResponse) => values.push(Buffer.from(r.record?.value ?? []).toString()));
    call.on('error', (e: ServiceError) => resolve({ values, code: e.code }));
    call.on('end', () => resolve({ values, code: Status.OK }));
  });
}

describe('grpc-js policy commitlog_leader: a server that stops answering is a suspect after one timed-out call (a preference)', function () {
  this.timeout(90_000);
  let pki: TestPki;
  const servers: TestServer[] = [];
  const scripted: ScriptedServer[] = [];
  let lb: LogClient | undefined;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  afterEach(async () => {
    lb?.close();
    for (const s of scripted.splice(0)) s.release();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  /** A leader and two followers over one log, a channel whose clock the test moves, one record produced at the leader. */
  async function cluster(suspectTtlMs = 10_000) {
    const view: { servers: ServerInfo[] } = { servers: [] };
    const log = new MemoryBackend();
    const [leader, f1, f2] = [0, 1, 2].map(() => new ScriptedServer(view, log)) as [
      ScriptedServer,
      ScriptedServer,
      ScriptedServer,
    ];
    scripted.push(leader, f1, f2);
    for (const b of scripted) servers.push(await startTestServer(pki, b));
    const [ls, s1, s2] = servers as [TestServer, TestServer, TestServer];
    view.servers = [
      { id: 'leader', rpcAddr: ls.address, isLeader: true, isVoter: true },
      { id: 'f1', rpcAddr: s1.address, isLeader: false, isVoter: true },
      { id: 'f2', rpcAddr: s2.address, isLeader: false, isVoter: true },
    ];
    const clock = { ms: 1_000_000 };
    const c = loadBalancedLogClient(`commitlog:///${ls.address}`, credsFor(pki, pki.root), {
      channelOptions: isolatedClient,
      refreshMs: 600_000,
      suspectTtlMs,
      now: () => clock.ms,
    });
    lb = c;
    assert.equal(await produceOk(c, 'warm'), 0);
    assert.equal(leader.produces, 1, 'the warm-up produce went to the leader');
    // Reads go round-robin over the READY followers (the leader while none is): read until
    // both followers served one, so both are READY when the tests begin.
    for (let i = 0; f1.reads === 0 || f2.reads === 0; i++) {
      assert.ok(i < 200, `the followers never both became READY: reads f1 ${f1.reads}, f2 ${f2.reads}`);
      await consumeOk(c, 0);
    }
    for (const s of [leader, f1, f2]) s.reads = 0;
    return { leader, f1, f2, log, clock, view, lb: c };
  }

  it('GIVEN a leader whose Produce never answers WHEN one produce times out there THEN the next produces are written through the followers, none of them sent to the leader', async () => {
    const { leader, f1, f2, log, lb } = await cluster();
    leader.frozen = true;
    await produceTimesOut(lb, 'lost');
    assert.equal(leader.produces, 2, 'the timed-out produce reached the frozen leader');

    const offsets: number[] = [];
    for (let i = 0; i < 6; i++) offsets.push(await produceOk(lb, `v${i}`));

    assert.deepEqual(offsets, [1, 2, 3, 4, 5, 6], 'appended to the log, in order');
    assert.equal(leader.produces, 2, 'no produce after the timed-out one was sent to the frozen leader');
    assert.equal(f1.produces + f2.produces, 6, 'every one went through a follower');
    assert.equal(log.bounds().next, 7);
  });

  it('GIVEN every server stops answering Produce WHEN each has timed out once THEN the next produce goes to the leader (suspects are a preference), and a leader that answered is read from before the suspect followers', async () => {
    const { leader, f1, f2, lb } = await cluster();
    for (const s of [leader, f1, f2]) s.frozen = true;
    for (const v of ['a', 'b', 'c']) await produceTimesOut(lb, v);
    assert.deepEqual(
      [leader.produces, f1.produces, f2.produces],
      [2, 1, 1],
      'one timed-out produce at each server: the leader, then each follower once',
    );

    // WHEN they answer again. Every server is suspect: the write is routed as if none were.
    for (const s of [leader, f1, f2]) s.frozen = false;
    assert.equal(await produceOk(lb, 'd'), 1);
    assert.deepEqual([leader.produces, f1.produces, f2.produces], [3, 1, 1], 'the leader took it');

    // The leader answered: it is not suspect any more, the followers still are, so a read
    // goes to the leader rather than to a suspect follower.
    assert.equal(await consumeOk(lb, 1), 'd');
    assert.deepEqual([leader.reads, f1.reads, f2.reads], [1, 0, 0], 'read from the leader');
  });

  it('GIVEN a leader that timed out once and answers again WHEN its suspicion expires on the clock THEN writes return to it; before that they go through the followers', async () => {
    const { leader, f1, f2, clock, lb } = await cluster(5000);
    leader.frozen = true;
    await produceTimesOut(lb, 'lost');
    leader.frozen = false;

    clock.ms += 4999;
    await produceOk(lb, 'still-suspect');
    assert.deepEqual([leader.produces, f1.produces + f2.produces], [2, 1], 'through a follower while suspect');

    clock.ms += 1;
    await produceOk(lb, 'expired');
    await produceOk(lb, 'again');
    assert.deepEqual([leader.produces, f1.produces + f2.produces], [4, 1], 'back at the leader once it expired');
  });

  it("GIVEN a follower that streamed every record WHEN the ConsumeStream ends at the caller's own deadline THEN that follower is not a suspect: reads still go to both followers", async () => {
    const { f1, f2, lb } = await cluster();
    const streamed = await consumeStreamUntilDeadline(lb, 1000);
    assert.deepEqual(
      streamed,
      { values: ['warm'], code: Status.DEADLINE_EXCEEDED },
      'the stream tailed the log until its deadline',
    );
    f1.reads = f2.reads = 0;
    for (let i = 0; i < 4; i++) assert.equal(await consumeOk(lb, 0), 'warm');
    assert.ok(f1.reads > 0 && f2.reads > 0, `reads avoided a healthy follower: f1 ${f1.reads}, f2 ${f2.reads}`);
  });

  it('GIVEN the followers elected f1 while the old leader is frozen WHEN one produce times out at the old leader THEN the channel re-resolves and writes go to f1; the old leader stays suspect, so reads avoid it', async () => {
    const { leader, f1, f2, view, lb } = await cluster();
    leader.frozen = true;
    const [old, s1, s2] = view.servers as [ServerInfo, ServerInfo, ServerInfo];
    view.servers = [
      { ...old, isLeader: false },
      { ...s1, isLeader: true },
      { ...s2, isLeader: false },
    ];
    // The periodic refresh is 600 s: only the timed-out call can make the channel resolve.
    await produceTimesOut(lb, 'lost');

    // Until the new view arrives the writes alternate between f1 and f2 (a suspect leader's
    // writes go to the followers in turn); once it has, every write goes to f1.
    const landed: string[] = [];
    while (landed.slice(-3).join() !== 'f1,f1,f1') {
      assert.ok(landed.length < 50, `the channel never wrote to the new leader alone: ${landed.join(',')}`);
      const before = [f1.produces, f2.produces];
      await produceOk(lb, `v${landed.length}`);
      landed.push(f1.produces > before[0]! ? 'f1' : f2.produces > before[1]! ? 'f2' : 'leader');
    }
    assert.equal(leader.produces, 2, 'nothing after the timed-out produce went to the old leader');

    // The old leader answers again but is still suspect: reads go to f2, the other follower.
    leader.frozen = false;
    for (let i = 0; i < 4; i++) assert.equal(await consumeOk(lb, 0), 'warm');
    assert.deepEqual([leader.reads, f2.reads], [0, 4], 'reads avoid the suspect old leader');
  });
});
