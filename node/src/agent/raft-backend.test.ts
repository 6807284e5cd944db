import assert from 'node:assert/strict';
import { credentials, status as Status } from '@grpc/grpc-js';
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
