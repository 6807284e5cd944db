/**
 * A silent leader becomes a suspect (issue 12 item 4): after one timed-out attempt the
 * client sends it nothing more — not even while the followers still name it leader, as they
 * do until they elect another — and moves to the leader GetServers names next. The leader
 * is "paused" by a TCP proxy that stops forwarding in both directions: its connections stay
 * open and it answers nothing, which is what a SIGSTOPped process looks like to a client
 * (node/src/agent/pause-failover.test.ts does the same with real processes).
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { InterceptingCall, type InterceptorOptions, type NextCall } from '@grpc/grpc-js';
import type { ServerInfo } from '../server/backend.js';
import { MemoryBackend } from '../server/memory-backend.js';
import {
  createTestPki,
  credsFor,
  isolatedClient,
  startTestServer,
  until,
  type TestPki,
  type TestServer,
} from '../server/testing/fixtures.js';
import { CommitLogClient } from './client.js';

/** A TCP proxy that can freeze: while frozen it forwards nothing either way and keeps every connection open. */
async function startFreezableProxy(
  upstream: string,
): Promise<{ address: string; freeze(): void; thaw(): void; close(): Promise<void> }> {
  const i = upstream.lastIndexOf(':');
  const sockets = new Set<Socket>();
  let frozen = false;
  const held: (() => void)[] = [];
  const forward = (from: Socket, to: Socket): void => {
    from.on('data', (d: Buffer) => (frozen ? held.push(() => to.write(d)) : to.write(d)));
  };
  const proxy = createServer((down) => {
    const up = connect(Number(upstream.slice(i + 1)), upstream.slice(0, i));
    sockets.add(down).add(up);
    forward(down, up);
    forward(up, down);
    const gone = (): void => {
      down.destroy();
      up.destroy();
    };
    down.on('error', gone).on('close', gone);
    up.on('error', gone).on('close', gone);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const addr = proxy.address();
  if (addr === null || typeof addr === 'string') throw new Error('the proxy has no TCP address');
  return {
    address: `127.0.0.1:${addr.port}`,
    freeze: () => (frozen = true),
    thaw: () => {
      frozen = false;
      for (const f of held.splice(0)) f();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}

/** A server of a shared, scripted view of the cluster that counts the GetServers and the Produces it answers. */
class ViewBackend extends MemoryBackend {
  getServers = 0;
  produces = 0;
  constructor(private readonly view: { servers: ServerInfo[] }) {
    super();
  }
  override produce(value: Uint8Array): Promise<number> {
    this.produces++;
    return super.produce(value);
  }
  override servers(): readonly ServerInfo[] {
    this.getServers++;
    return this.view.servers;
  }
}

describe('client suspects: a leader that stops answering is not asked again while the followers still name it', function () {
  this.timeout(60_000);
  let pki: TestPki;
  const servers: TestServer[] = [];
  let proxy: Awaited<ReturnType<typeof startFreezableProxy>> | undefined;
  let client: CommitLogClient | undefined;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  afterEach(async () => {
    client?.close();
    proxy?.thaw();
    await proxy?.close();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  /** Three servers (the leader behind a freezable proxy) and a client that produced one record through the leader. */
  async function frozenLeaderCluster() {
    const view: { servers: ServerInfo[] } = { servers: [] };
    const backends = ['leader', 'f1', 'f2'].map(() => new ViewBackend(view));
    for (const b of backends) servers.push(await startTestServer(pki, b));
    const [leaderSrv, f1Srv, f2Srv] = servers as [TestServer, TestServer, TestServer];
    const [, f1, f2] = backends as [ViewBackend, ViewBackend, ViewBackend];
    const px = await startFreezableProxy(leaderSrv.address);
    proxy = px;
    const named = (leader: string): ServerInfo[] => [
      { id: 'leader', rpcAddr: px.address, isLeader: leader === 'leader', isVoter: true },
      { id: 'f1', rpcAddr: f1Srv.address, isLeader: leader === 'f1', isVoter: true },
      { id: 'f2', rpcAddr: f2Srv.address, isLeader: false, isVoter: true },
    ];
    view.servers = named('leader');
    const produces: string[] = [];
    const routes: string[] = [];
    const c = new CommitLogClient({
      target: px.address,
      credentials: credsFor(pki, pki.root),
      channelOptions: {
        ...isolatedClient,
        interceptors: [
          (options: InterceptorOptions, next: NextCall) => {
            if (options.method_definition.path.endsWith('/Produce')) produces.push(options.method_definition.path);
            return new InterceptingCall(next(options));
          },
        ],
      },
      electionTimeoutMs: 500,
      deadlineMs: 30_000,
      refreshMs: 600_000,
      onRoute: (_, s) => routes.push(s.id),
    });
    client = c;
    assert.equal(await c.produce(Buffer.from('warm')), 0);
    assert.deepEqual(routes.splice(0), ['leader']);
    return { view, named, f1, f2, proxy: px, produces, routes, client: c };
  }

  it('GIVEN 10 produces in flight at a leader that freezes WHEN the followers name it for a while, then f1 THEN each sent one attempt to the frozen leader and all succeed at f1, once each', async () => {
    const { view, named, f1, f2, proxy, produces, routes, client: c } = await frozenLeaderCluster();

    // WHEN the leader freezes with 10 produces about to be sent to it.
    proxy.freeze();
    const asked = (): number => f1.getServers + f2.getServers;
    const askedAtFreeze = asked();
    const done = Promise.all(Array.from({ length: 10 }, (_, i) => c.produce(Buffer.from(`v${i}`))));
    // The followers keep naming the frozen leader through several resolves (no election yet).
    await until(() => asked() >= askedAtFreeze + 6, 'six GetServers answered by the followers', 20_000);
    assert.equal(produces.length, 1 + 10, 'one attempt per produce at the frozen leader, none after it went silent');
    assert.equal(f1.produces + f2.produces, 0);
    // The followers elect f1.
    view.servers = named('f1');
    const offsets = await done;

    // THEN every produce succeeded at f1, each with one attempt there.
    assert.deepEqual(routes, Array<string>(10).fill('f1'));
    // Attempts sent to the frozen leader = all sent − the warm-up − those f1 and f2 received.
    // (A loaded machine may time out an attempt at f1 too: that one is retried at f1.)
    assert.equal(
      produces.length - 1 - f1.produces - f2.produces,
      10,
      'still one attempt per produce at the frozen one',
    );
    assert.equal(f2.produces, 0);
    assert.equal(new Set(offsets).size, 10, `distinct offsets: ${JSON.stringify(offsets)}`);
  });

  it('GIVEN 10 produces whose attempts at a frozen leader time out together WHEN the followers already name f1 THEN one GetServers serves them all, not one each', async () => {
    const { view, named, f1, f2, proxy, routes, client: c } = await frozenLeaderCluster();
    proxy.freeze();
    view.servers = named('f1');
    const asked = (): number => f1.getServers + f2.getServers;
    const offsets = await Promise.all(Array.from({ length: 10 }, (_, i) => c.produce(Buffer.from(`v${i}`))));
    assert.deepEqual(routes, Array<string>(10).fill('f1'));
    assert.equal(new Set(offsets).size, 10);
    // Every caller's attempt began before the first resolve completed: that one resolve (f1
    // answers, naming itself) is shared, and nobody resolves again.
    assert.ok(asked() <= 2, `GetServers answered by the followers: ${asked()}, not one per caller (10)`);
  });
});
