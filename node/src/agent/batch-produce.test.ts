/**
 * A batched ProduceStream request through a follower (issue 15, one proposal per batch): the
 * follower forwards the batch as ONE request, the leader proposes it as one proposal, and a
 * retried batch of an idempotent producer gets its original offsets. Real agents (3 nodes,
 * mutual TLS, fsync on); assertions on counters and offsets, never on timings.
 */
import assert from 'node:assert/strict';
import type { LogClient, ProduceRequest, ProduceResponse } from '../gen/v1/log.js';
import { TestAgents, eventually } from './testing/cluster.js';
import { consumeValue } from './testing/log-calls.js';

const NAMES = ['b0', 'b1', 'b2'];
const ID = Buffer.alloc(16, 0x5b);

/** Sends `req` alone on a new ProduceStream; resolves with its acknowledgement. */
function produceOnce(c: LogClient, req: ProduceRequest): Promise<ProduceResponse> {
  return new Promise((resolve, reject) => {
    const s = c.produceStream();
    let ack: ProduceResponse | undefined;
    s.on('data', (r: ProduceResponse) => (ack = r));
    s.on('error', reject);
    s.on('end', () => (ack ? resolve(ack) : reject(new Error('the stream ended without an acknowledgement'))));
    s.write(req);
    s.end();
  });
}

describe('agents: a batched ProduceStream through a follower (3 nodes, real gRPC and Raft over TLS)', function () {
  this.timeout(240_000);
  let t: TestAgents;

  before(async () => {
    t = await TestAgents.create();
    await t.startVoters(NAMES);
  });
  after(async () => {
    await t?.destroy();
  });

  const batches = (): number => NAMES.reduce((n, name) => n + t.get(name).server.streamStats.produceBatches, 0);

  it('is forwarded as one request, gets consecutive offsets, and its retry gets the same offsets with nothing appended', async () => {
    // Under one leader (an election on a loaded machine moves the forward elsewhere): at most 3 attempts.
    for (let attempt = 1; ; attempt++) {
      const leader = t.leader();
      assert.ok(leader, 'a leader');
      const term = leader.node.status().term;
      const followerName = NAMES.find((n) => t.get(n) !== leader) as string;
      const records = Array.from({ length: 20 }, (_, i) => Buffer.from(`a${attempt}-r${i}`));
      const req: ProduceRequest = {
        batch: { records: records.map((value) => ({ value, offset: 0, term: 0, type: 0 })) },
        producerId: ID,
        sequence: attempt * 1000,
      };
      const fc = t.logClient(followerName);
      const lc = t.logClient(NAMES.find((n) => t.get(n) === leader) as string);
      try {
        const before = batches();
        const forwardedBefore = leader.server.streamStats.produceBatches;
        const first = await produceOnce(fc, req);
        // GIVEN the reply was lost WHEN the client sends the same batch again THEN the same offsets.
        const retry = await produceOnce(fc, req);
        if (leader.node.status().term !== term || !leader.node.isLeader) {
          assert.ok(attempt < 3, 'the leadership moved in 3 attempts in a row');
          continue;
        }
        const offsets = first.batch?.offsets ?? [];
        assert.equal(offsets.length, 20);
        assert.ok(
          offsets.every((o, i) => o === (offsets[0] ?? -1) + i),
          `consecutive offsets: ${offsets.join(',')}`,
        );
        assert.deepEqual(retry.batch?.offsets, offsets, 'the retry gets the original offsets');
        assert.equal(
          leader.server.streamStats.produceBatches - forwardedBefore,
          2,
          'the leader received each attempt as ONE batched request',
        );
        assert.equal(batches() - before, 4, 'one batch at the follower and one at the leader per attempt');
        const last = offsets[offsets.length - 1] ?? -1;
        await eventually('the leader applied the batch', () => leader.node.committedDataEnd > last, 30_000);
        assert.equal(leader.node.committedDataEnd, last + 1, 'the retry appended nothing after the batch');
        for (const [i, o] of offsets.entries()) assert.equal(await consumeValue(lc, o), `a${attempt}-r${i}`);
        return;
      } finally {
        fc.close();
        lc.close();
      }
    }
  });
});
