import assert from 'node:assert/strict';
import { credentials, status as Status } from '@grpc/grpc-js';
import { DEFAULT_PRODUCER_LIMITS } from '../raft/index.js';
import { MemoryCluster } from '../raft/shell/testing/memory-cluster.js';
import { errorInfoOf, toStatus } from '../server/errors.js';
import { LeaderForwarder } from './forwarder.js';
import { PeerDirectory } from './peers.js';
import { RaftBackend } from './raft-backend.js';

/**
 * What a client sees when Raft cannot finish a request (issue 12): the backend's failures,
 * mapped by the server's one table, are standard retryable codes with a reason and the
 * leader — never INTERNAL "internal error".
 */
describe('agent RaftBackend: Raft failures reach clients as standard codes (real RaftNodes, memory transport)', function () {
  this.timeout(30_000);
  let c: MemoryCluster;
  let backend: RaftBackend | undefined;
  afterEach(async () => {
    backend?.close();
    await c.destroy();
  });

  async function isolatedLeaderBackend(linearizable: boolean): Promise<RaftBackend> {
    c = await MemoryCluster.create({ requestTimeoutMs: 1500 });
    const leader = await c.leader();
    backend = new RaftBackend({
      node: leader,
      peers: new PeerDirectory('test-cluster'),
      forwarder: new LeaderForwarder(credentials.createInsecure()),
      self: { rpcAddr: '127.0.0.1:9' },
      linearizable,
    });
    // The leader is cut off: nothing it proposes can commit.
    c.net.isolate(leader.id);
    return backend;
  }

  it('a produce on a leader cut off from its quorum is ABORTED PROPOSAL_INDETERMINATE (it may still commit), not INTERNAL', async () => {
    const b = await isolatedLeaderBackend(false);
    const err = await b.produce(Buffer.from('never committed')).then(
      () => assert.fail('a produce without a quorum must not succeed'),
      (e: unknown) => e,
    );
    const s = toStatus(err);
    assert.equal(s.code, Status.ABORTED, s.details);
    assert.equal(errorInfoOf(s.metadata)?.reason, 'PROPOSAL_INDETERMINATE');
  });

  it('a batch on a leader cut off from its quorum is ABORTED PROPOSAL_INDETERMINATE as a whole, not INTERNAL', async () => {
    const b = await isolatedLeaderBackend(false);
    const err = await b.produceBatch([Buffer.from('a'), Buffer.from('b')], { id: Buffer.alloc(8, 1), seq: 0 }).then(
      () => assert.fail('a batch without a quorum must not succeed'),
      (e: unknown) => e,
    );
    const s = toStatus(err);
    assert.equal(s.code, Status.ABORTED, s.details);
    assert.equal(errorInfoOf(s.metadata)?.reason, 'PROPOSAL_INDETERMINATE');
  });

  it('a producer batch longer than the producer window is INVALID_ARGUMENT before anything is proposed', async () => {
    c = await MemoryCluster.create({ requestTimeoutMs: 1500 });
    const leader = await c.leader();
    backend = new RaftBackend({
      node: leader,
      peers: new PeerDirectory('test-cluster'),
      forwarder: new LeaderForwarder(credentials.createInsecure()),
      self: { rpcAddr: '127.0.0.1:9' },
      linearizable: false,
    });
    const window = DEFAULT_PRODUCER_LIMITS.window;
    const last = leader.storage.lastIndex();
    const values = Array.from({ length: window + 1 }, (_, i) => Buffer.from(`v${i}`));
    const err = await backend.produceBatch(values, { id: Buffer.alloc(8, 2), seq: 0 }).then(
      () => assert.fail('the batch must be refused'),
      (e: unknown) => e,
    );
    const s = toStatus(err);
    assert.equal(s.code, Status.INVALID_ARGUMENT, s.details);
    assert.match(s.details, new RegExp(`${window + 1} records, at most ${window}`));
    assert.equal(leader.storage.lastIndex(), last, 'nothing was proposed');
    // The same records without a producer id, or a window's worth with one, are accepted.
    assert.equal((await backend.produceBatch(values)).length, window + 1);
    const ok = await backend.produceBatch(values.slice(0, window), { id: Buffer.alloc(8, 2), seq: 0 });
    assert.deepEqual(
      ok,
      Array.from({ length: window }, (_, i) => window + 1 + i),
    );
  });

  it('a linearizable read whose barrier cannot complete is UNAVAILABLE, not INTERNAL', async () => {
    const b = await isolatedLeaderBackend(true);
    const err = await b.read(0).then(
      () => assert.fail('a linearizable read without a quorum must not succeed'),
      (e: unknown) => e,
    );
    const s = toStatus(err);
    assert.equal(s.code, Status.UNAVAILABLE, s.details);
    assert.ok(
      ['RAFT_TIMEOUT', 'NO_LEADER', 'NOT_LEADER'].includes(errorInfoOf(s.metadata)?.reason ?? ''),
      errorInfoOf(s.metadata)?.reason,
    );
  });
});
