/**
 * The grpc-js policy `commitlog_leader` (grpc-lb.ts) with a leader whose address refuses
 * connections from this client (a LoadBalancer Service while its pod restarts): the leader's
 * subchannel is in TRANSIENT_FAILURE, so a Produce goes to a READY follower, which forwards
 * it to the leader (here: straight to the leader's backend, as a real follower forwards over
 * the cluster's own addresses). Leader-only Admin calls are never sent to a follower.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import type { ProduceResponse } from '../gen/v1/log.js';
import type { ServerInfo } from '../server/backend.js';
import { MemoryBackend } from '../server/memory-backend.js';
import {
  createTestPki,
  credsFor,
  isolatedClient,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../server/testing/fixtures.js';
import { loadBalancedLogClient, pickKindOf } from './grpc-lb.js';

/** A follower of a scripted view: GetServers answers the view, Produce goes to the leader's backend. */
class ForwardingFollower extends MemoryBackend {
  produces = 0;
  constructor(
    private readonly view: ServerInfo[],
    private readonly leader: MemoryBackend,
  ) {
    super();
  }
  override produce(value: Uint8Array): Promise<number> {
    this.produces++;
    return this.leader.produce(value);
  }
  override servers(): readonly ServerInfo[] {
    return this.view;
  }
}

/** An address on 127.0.0.1 where nothing listens: connections are refused. */
async function refusingAddr(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a === 'string') throw new Error('no port');
  return `127.0.0.1:${a.port}`;
}

describe('grpc-js policy commitlog_leader: a leader whose subchannel fails is written to through a READY follower', function () {
  this.timeout(30_000);
  let pki: TestPki;
  const servers: TestServer[] = [];
  before(async () => {
    pki = await createTestPki();
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    pki.cleanup();
  });

  it('labels Produce and ProduceStream as forwardable writes, the Admin calls as leader-only, everything else as reads', () => {
    assert.equal(pickKindOf('/log.v1.Log/Produce'), 'write');
    assert.equal(pickKindOf('/log.v1.Log/ProduceStream'), 'write');
    assert.equal(pickKindOf('/log.v1.Admin/TransferLeadership'), 'leader');
    assert.equal(pickKindOf('/log.v1.Admin/ListMembers'), 'leader');
    assert.equal(pickKindOf('/log.v1.Log/Consume'), 'read');
    assert.equal(pickKindOf('/log.v1.Log/GetServers'), 'read');
  });

  it('GIVEN GetServers names as leader an address that refuses connections WHEN records are produced through the channel THEN a follower takes them and they reach the leader', async () => {
    const leader = new MemoryBackend();
    const view: ServerInfo[] = [];
    const followers = [new ForwardingFollower(view, leader), new ForwardingFollower(view, leader)];
    for (const f of followers) servers.push(await startTestServer(pki, f));
    view.push(
      { id: 'leader', rpcAddr: await refusingAddr(), isLeader: true, isVoter: true },
      { id: 'f1', rpcAddr: (servers[0] as TestServer).address, isLeader: false, isVoter: true },
      { id: 'f2', rpcAddr: (servers[1] as TestServer).address, isLeader: false, isVoter: true },
    );
    const lb = loadBalancedLogClient(`commitlog:///${(servers[0] as TestServer).address}`, credsFor(pki, pki.root), {
      channelOptions: isolatedClient,
    });
    try {
      const offsets: number[] = [];
      for (let i = 0; i < 3; i++)
        offsets.push(
          await new Promise<number>((resolve, reject) =>
            lb.produce(
              { record: { value: Buffer.from(`v${i}`), offset: 0, term: 0, type: 0 } },
              new Metadata(),
              { deadline: Date.now() + 10_000 },
              (e: ServiceError | null, r: ProduceResponse) => (e ? reject(e) : resolve(r.offset)),
            ),
          ),
        );
      assert.deepEqual(offsets, [0, 1, 2], 'appended at the leader, in order');
      assert.equal(followers[0]!.produces + followers[1]!.produces, 3, 'every produce went through a follower');
      assert.equal(leader.bounds().next, 3);
    } finally {
      lb.close();
    }
  });
});
