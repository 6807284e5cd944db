/**
 * Per-attempt deadlines (issue 12): each attempt of a call gets its own deadline, bounded by
 * the call's overall deadline, so a paused server costs one short attempt instead of the
 * whole call; after each attempt that timed out the next one gets twice as long (a slow but
 * alive cluster still commits). Deadlines are read from the calls the client makes (an
 * interceptor), not from wall-clock durations.
 */
import assert from 'node:assert/strict';
import { InterceptingCall, type InterceptorOptions, type NextCall } from '@grpc/grpc-js';
import type { BackendRecord, ServerInfo } from '../server/backend.js';
import { MemoryBackend } from '../server/memory-backend.js';
import {
  createTestPki,
  credsFor,
  isolatedClient,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../server/testing/fixtures.js';
import { CommitLogClient } from './client.js';

/** A server of a scripted three-server view; a paused one never answers a read. */
class ViewBackend extends MemoryBackend {
  private readonly held: (() => void)[] = [];
  constructor(
    private readonly view: ServerInfo[],
    private readonly paused: boolean,
  ) {
    super();
  }
  override read(offset: number): Promise<BackendRecord> {
    if (!this.paused) return super.read(offset);
    return new Promise((_, reject) => this.held.push(() => reject(new Error('released'))));
  }
  override servers(): readonly ServerInfo[] {
    return this.view;
  }
  release(): void {
    for (const f of this.held.splice(0)) f();
  }
}

describe('client per-attempt deadlines: a paused server costs one attempt, the call is bounded overall', function () {
  this.timeout(30_000);
  let pki: TestPki;
  const servers: TestServer[] = [];
  const backends: ViewBackend[] = [];
  let client: CommitLogClient | undefined;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  afterEach(async () => {
    client?.close();
    for (const b of backends.splice(0)) b.release();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  /** Starts a leader and two followers; `paused` names the followers that never answer reads. */
  async function cluster(
    paused: readonly string[],
  ): Promise<{ seed: string; attempts: { method: string; ms: number }[] }> {
    const view: ServerInfo[] = [];
    for (const id of ['leader', 'f1', 'f2']) {
      const b = new ViewBackend(view, paused.includes(id));
      await b.produce(Buffer.from('x'));
      const s = await startTestServer(pki, b);
      backends.push(b);
      servers.push(s);
      view.push({ id, rpcAddr: s.address, isLeader: id === 'leader', isVoter: true });
    }
    return { seed: (view[0] as ServerInfo).rpcAddr, attempts: [] };
  }

  /** Records each call's method and the milliseconds its deadline leaves when it starts. */
  const interceptorFor =
    (attempts: { method: string; ms: number }[]) =>
    (options: InterceptorOptions, next: NextCall): InterceptingCall => {
      const d = options.deadline;
      const at = d instanceof Date ? d.getTime() : typeof d === 'number' ? d : Infinity;
      attempts.push({ method: options.method_definition.path, ms: at - Date.now() });
      return new InterceptingCall(next(options));
    };

  it('GIVEN follower f1 paused WHEN a record is read THEN the attempt at f1 has the read attempt deadline, the next one twice that, and the read is served by f2', async () => {
    const { seed, attempts } = await cluster(['f1']);
    const routes: string[] = [];
    client = new CommitLogClient({
      target: seed,
      credentials: credsFor(pki, pki.root),
      channelOptions: { ...isolatedClient, interceptors: [interceptorFor(attempts)] },
      deadlineMs: 20_000,
      readAttemptMs: 400,
      onRoute: (_, s) => routes.push(s.id),
    });
    const r = await client.consume(0);
    assert.equal(r.value.toString(), 'x');
    assert.deepEqual(routes, ['f2'], 'served by the follower that answers');
    const consumes = attempts.filter((a) => a.method.endsWith('/Consume'));
    // f1, then f2 (f1 is suspect after its timeout; a loaded machine may time out at f2 too).
    assert.ok(consumes.length >= 2, `f1 then f2: ${JSON.stringify(consumes)}`);
    const [atF1, atF2] = consumes as unknown as [{ ms: number }, { ms: number }];
    assert.ok(atF1.ms <= 400, `the first read attempt has the 400 ms deadline: ${atF1.ms}`);
    assert.ok(atF2.ms <= 800 && atF2.ms > 400, `the attempt after a timeout has twice that: ${atF2.ms}`);
  });

  it('GIVEN every server paused WHEN a record is read THEN it fails after several attempts, none with a deadline beyond the call', async () => {
    const { seed, attempts } = await cluster(['leader', 'f1', 'f2']);
    client = new CommitLogClient({
      target: seed,
      credentials: credsFor(pki, pki.root),
      channelOptions: { ...isolatedClient, interceptors: [interceptorFor(attempts)] },
      deadlineMs: 3_000,
      readAttemptMs: 300,
    });
    await assert.rejects(client.consume(0));
    const consumes = attempts.filter((a) => a.method.endsWith('/Consume'));
    assert.ok(consumes.length >= 2, `moved on after an attempt's deadline: ${JSON.stringify(consumes)}`);
    for (const [i, a] of consumes.entries())
      assert.ok(a.ms <= Math.min(300 * 2 ** i, 3000), `attempt ${i}: deadline ${a.ms} ms`);
  });
});
