/**
 * The kubelet's native gRPC probes against the agent's one RPC port: plaintext HTTP/2, no
 * client certificate, grpc.health.v1 only — next to TLS clients and Raft on the same port.
 */
import assert from 'node:assert/strict';
import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
  type HealthCheckResponse,
} from '../gen/grpc/health/v1/health.js';
import { LogClient, type GetServersResponse } from '../gen/v1/log.js';
import { readinessOf, type ReadinessFacts } from './readiness.js';
import { TestAgents, eventually } from './testing/cluster.js';

function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

describe('agent: health probes on the shared RPC port', function () {
  this.timeout(120_000);
  let t: TestAgents;
  const closers: { close(): void }[] = [];
  /** A plaintext health client, as the kubelet's gRPC probe is. */
  const probe = (name: string): ((service: string) => Promise<Serving>) => {
    const c = new HealthClient(t.get(name).rpcAddr, credentials.createInsecure());
    closers.push(c);
    return (service) =>
      unary<HealthCheckResponse>((cb) =>
        c.check({ service }, new Metadata(), { deadline: Date.now() + 3000 }, cb),
      ).then((r) => r.status);
  };

  before(async () => {
    t = await TestAgents.create();
    await t.start('n0', { bootstrap: true });
    await eventually('n0 leads', () => t.get('n0').node.isLeader);
  });
  after(async () => {
    for (const c of closers) c.close();
    await t.destroy();
  });

  it('a plaintext health client gets SERVING for liveness ("") and readiness (log.v1.Log) of a leader', async () => {
    const check = probe('n0');
    assert.equal(await check(''), Serving.SERVING);
    await eventually('n0 ready', async () => (await check('log.v1.Log')) === Serving.SERVING);
  });

  it('a plaintext call to log.v1.Log on the same port is UNIMPLEMENTED (only health is served without TLS)', async () => {
    const c = new LogClient(t.get('n0').rpcAddr, credentials.createInsecure());
    closers.push(c);
    await assert.rejects(
      unary<GetServersResponse>((cb) => c.getServers({}, new Metadata(), { deadline: Date.now() + 3000 }, cb)),
      (err: ServiceError) => err.code === Status.UNIMPLEMENTED,
    );
  });

  it('TLS clients and Raft keep working on the same port; a joining node is live at once and ready once it is a member', async () => {
    // TLS: the mutual-TLS Log client on n0's port.
    const log = t.logClient('n0');
    closers.push(log);
    const servers = await unary<GetServersResponse>((cb) => log.getServers({}, cb));
    assert.deepEqual(
      servers.servers.map((s) => s.id),
      ['n0'],
    );
    // Raft: n1 joins through gossip and replicates over the same port.
    const n1 = await t.start('n1', { extra: { role: 'learner' } });
    const check1 = probe('n1');
    assert.equal(await check1(''), Serving.SERVING, 'live at once');
    await eventually('n1 ready as a caught-up learner', async () => (await check1('log.v1.Log')) === Serving.SERVING);
    assert.ok(n1.node.status().members.some((m) => m.id === 'n1' && m.suffrage === 'learner'));
    assert.ok(t.get('n0').rpcPortStats().raft >= 1, 'Raft traffic came through the mux');
    assert.ok(t.get('n0').rpcPortStats().h2c >= 1, 'probes came through the h2c route');
  });

  it('after a graceful stop begins, liveness and readiness are NOT_SERVING', async () => {
    const check = probe('n1');
    const stopping = t.stop('n1');
    // The statuses flip synchronously at the start of the stop; the port stays open while
    // gossip leaves, so the probe is answered.
    const seen = await check('');
    await stopping;
    assert.equal(seen, Serving.NOT_SERVING);
  });
});

describe('agent: readiness rule', () => {
  const base: ReadinessFacts = {
    stopping: false,
    fatal: false,
    leaderKnown: true,
    suffrage: 'voter',
    desiredRole: 'voter',
  };
  const cases: [string, Partial<ReadinessFacts>, boolean][] = [
    ['a voter that knows the leader is ready', {}, true],
    ['a fresh node not in the configuration is not ready', { suffrage: undefined }, false],
    ['a learner that wants to be a voter is not ready (still catching up)', { suffrage: 'learner' }, false],
    ['a learner that asked to stay a learner is ready', { suffrage: 'learner', desiredRole: 'learner' }, true],
    ['a voter without a known leader is not ready', { leaderKnown: false }, false],
    ['a stopping node is not ready', { stopping: true }, false],
    ['a node whose Raft failed is not ready', { fatal: true }, false],
  ];
  for (const [name, facts, ready] of cases) {
    it(name, () => assert.equal(readinessOf({ ...base, ...facts }).ready, ready));
  }
});
