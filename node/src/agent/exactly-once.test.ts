import assert from 'node:assert/strict';
import { CommitLogClient } from '../client/index.js';
import { TestAgents, eventually } from './testing/cluster.js';
import { CutProxy } from './testing/cut-proxy.js';
import { consumeValues } from './testing/log-calls.js';

const NAMES = ['x0', 'x1', 'x2'];

describe('agents: exactly-once produce through the client library (3 nodes, real gRPC and Raft over TLS)', function () {
  this.timeout(180_000);
  let t: TestAgents;
  const proxies = new Map<string, CutProxy>();
  let client: CommitLogClient;

  before(async () => {
    t = await TestAgents.create();
    // Each node advertises a proxy as its external address; the client (made below) dials those.
    for (const name of NAMES) proxies.set(name, await CutProxy.start());
    const proxy = (name: string): CutProxy => proxies.get(name) as CutProxy;
    await t.startVoters(NAMES, { extra: (name) => ({ 'external-addr': proxy(name).addr }) });
    for (const name of NAMES) proxy(name).target = t.get(name).rpcAddr;
    client = new CommitLogClient({
      target: `commitlog:///${(proxies.get('x0') as CutProxy).addr}`,
      credentials: t.credentials(),
      useExternalAddrs: true,
      deadlineMs: 30_000,
      writeAttemptMs: 5_000,
      refreshMs: 500,
    });
  });

  after(async () => {
    client?.close();
    await t?.destroy();
    for (const p of proxies.values()) await p.close();
  });

  it('a produce whose connection is cut after the append but before the reply is retried and gets the same offset; the log holds it once', async () => {
    await client.produce(Buffer.from('warm-0'));
    await client.produce(Buffer.from('warm-1'));
    const leaderName = NAMES.find((n) => t.get(n).node.isLeader) as string;
    const leader = t.get(leaderName);
    const before = leader.node.committedDataEnd;
    // GIVEN the leader's answers are swallowed on the way back to the client.
    (proxies.get(leaderName) as CutProxy).holdReplies();
    const pending = client.produce(Buffer.from('the-record'));
    // WHEN the record is committed and applied, and only then the connection is cut.
    await eventually('the record is applied on the leader', () => leader.node.committedDataEnd > before, 30_000);
    (proxies.get(leaderName) as CutProxy).cut();
    // THEN the client's retry gets the original offset, and the record is in the log once.
    const offset = await pending;
    assert.equal(offset, before, 'the offset the first attempt was appended at');
    const next = await client.produce(Buffer.from('after'));
    assert.equal(next, before + 1, 'the retry appended nothing: offsets stay dense');
    const rc = t.logClient(leaderName);
    try {
      const all = await consumeValues(rc, next + 1);
      assert.deepEqual(
        all.filter((v) => v === 'the-record'),
        ['the-record'],
        `the log holds the record once: ${JSON.stringify(all)}`,
      );
      assert.equal(all[offset], 'the-record');
    } finally {
      rc.close();
    }
  });

  it('a producer that keeps writing while the leader is killed gets every record exactly once', async () => {
    const acked = new Map<number, string>();
    let stop = false;
    let failure: unknown;
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          acked.set(await client.produce(Buffer.from(`k-${i}`)), `k-${i}`);
        } catch (err) {
          failure = err;
          return;
        }
      }
    })();
    await eventually('20 records acknowledged', () => acked.size >= 20, 30_000);
    const leaderName = NAMES.find((n) => t.agents.has(n) && t.get(n).node.isLeader) as string;
    await t.stop(leaderName, true); // as kill -9 looks to the others
    const atKill = acked.size;
    await eventually(
      '20 more records acknowledged after the kill',
      () => failure !== undefined || acked.size >= atKill + 20,
      60_000,
    );
    stop = true;
    await loop;
    assert.equal(failure, undefined, `the producer failed: ${String(failure)}`);
    const survivor = NAMES.find((n) => t.agents.has(n)) as string;
    const end = Math.max(...acked.keys()) + 1;
    await eventually(
      'the survivor applied every acknowledged record',
      () => t.get(survivor).node.committedDataEnd >= end,
    );
    const rc = t.logClient(survivor);
    try {
      const all = await consumeValues(rc, end);
      for (const [o, v] of acked) assert.equal(all[o], v, `acknowledged offset ${o}`);
      const ks = all.filter((v) => v.startsWith('k-'));
      assert.equal(new Set(ks).size, ks.length, `no record twice: ${ks.length - new Set(ks).size} duplicates`);
    } finally {
      rc.close();
    }
  });
});
