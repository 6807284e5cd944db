/**
 * What a failed forward means (issue 12, and the e2e flow's w-350 written twice): a record
 * the leader may have appended reaches the client as ABORTED (indeterminate), never as a
 * retryable UNAVAILABLE; one that never left this node, or that the leader itself refused,
 * stays retryable.
 */
import assert from 'node:assert/strict';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { ManualLoopClock } from '../raft/shell/testing/manual-loop-clock.js';
import { ErrorMetadataKeys, toStatus } from '../server/errors.js';
import type { ProducerRef } from '../server/backend.js';
import { MemoryBackend } from '../server/memory-backend.js';
import {
  createTestPki,
  credsFor,
  startCuttableProxy,
  startTestServer,
  until,
  type CuttableProxy,
  type TestPki,
} from '../server/testing/fixtures.js';
import { ForwardIndeterminateError, forwardOutcome, LeaderForwarder } from './forwarder.js';
import { forwardError } from './raft-backend.js';

const leaderSaid = (code: Status, errorCode: string): Error => {
  const metadata = new Metadata();
  metadata.set(ErrorMetadataKeys.code, errorCode);
  return Object.assign(new Error(`${code} from the leader`), { code, details: 'x', metadata });
};
const transport = (details: string): Error =>
  Object.assign(new Error(`14 UNAVAILABLE: ${details}`), {
    code: Status.UNAVAILABLE,
    details,
    metadata: new Metadata(),
  });

describe('forwarding to the leader: what a failure means for each record in flight', function () {
  this.timeout(20_000);

  it('the table: never sent and the leader’s own answer about the first record keep their meaning; the rest are indeterminate', () => {
    const refused = leaderSaid(Status.UNAVAILABLE, 'not-leader');
    assert.equal(forwardOutcome(refused, 0), refused, 'the leader refused the first record in flight');
    assert.ok(forwardOutcome(refused, 1) instanceof ForwardIndeterminateError, 'later ones were already handed over');
    const draining = leaderSaid(Status.UNAVAILABLE, 'shutting-down');
    assert.equal(forwardOutcome(draining, 3), draining, 'a draining leader appended none of those left');
    const noConn = transport('No connection established. Last error: connect ECONNREFUSED');
    assert.equal(forwardOutcome(noConn, 2), noConn);
    for (const e of [transport('Connection dropped'), new Error('forwarding stopped')])
      assert.ok(forwardOutcome(e, 0) instanceof ForwardIndeterminateError, e.message);
    // As the client sees them.
    const status = (e: unknown): Status => toStatus(forwardError(e, 'n1', '127.0.0.1:1')).code;
    assert.equal(status(forwardOutcome(transport('Connection dropped'), 0)), Status.ABORTED);
    assert.equal(status(forwardOutcome(refused, 0)), Status.UNAVAILABLE);
    assert.equal(status(leaderSaid(Status.ABORTED, 'RAFT_PROPOSAL_INDETERMINATE')), Status.ABORTED);
    assert.equal(status(leaderSaid(Status.RESOURCE_EXHAUSTED, 'RAFT_PROPOSAL_REJECTED')), Status.RESOURCE_EXHAUSTED);
    assert.equal(status(noConn), Status.UNAVAILABLE);
  });

  describe('a real leader server behind a proxy', () => {
    let pki: TestPki;
    before(async () => {
      pki = await createTestPki();
    });
    after(() => pki.cleanup());

    it('a leader that never acknowledges: every record in flight fails indeterminate (DEADLINE_EXCEEDED) at the bound, and the next forward opens a new stream', async () => {
      let hang = true;
      let received = 0;
      class Hanging extends MemoryBackend {
        override produce(value: Uint8Array): Promise<number> {
          if (!hang) return super.produce(value);
          received++;
          return new Promise<number>(() => {});
        }
      }
      const backend = new Hanging();
      const srv = await startTestServer(pki, backend);
      // The bound runs on a manual clock (forwarder-virtual.test.ts checks it to the
      // millisecond): here the wire is under test — a real gRPC stream cancelled at the bound,
      // then a new stream on the same channel — and no acknowledgement can be late on a loaded
      // machine, as one was at 300 ms of real time (stress run A4, load 23).
      const clock = new ManualLoopClock();
      const forwarder = new LeaderForwarder(credsFor(pki, pki.root), 300, clock);
      try {
        const addr = `localhost:${srv.address.split(':')[1]}`;
        const outcomes = ['a', 'b'].map((v) =>
          forwarder.produce(addr, Buffer.from(v)).then(
            (o) => assert.fail(`the forward succeeded at offset ${o}`),
            (e: unknown) => e as Error,
          ),
        );
        await until(() => received === 2, 'both records at the hung leader', 30_000);
        clock.advance(300);
        // They fail inside advance(): settled before the next turn of the event loop.
        const errs = await Promise.race([
          Promise.all(outcomes),
          new Promise<'pending'>((r) => setImmediate(() => r('pending'))),
        ]);
        if (errs === 'pending') assert.fail('the records in flight did not fail at the bound');
        for (const err of errs) {
          assert.ok(err instanceof ForwardIndeterminateError, `indeterminate, got ${err.message}`);
          assert.equal((err.cause as { code?: number }).code, Status.DEADLINE_EXCEEDED);
        }
        hang = false;
        const offset = await forwarder.produce(addr, Buffer.from('c'));
        assert.equal(
          Buffer.from((await backend.read(offset)).value).toString(),
          'c',
          'a new stream to the same leader works',
        );
      } finally {
        forwarder.close();
        await srv.stop();
      }
    });

    it('a batch is forwarded as ONE request: the leader gets one produceBatch with every record and the producer, the follower every offset in order', async () => {
      const calls: { n: number; seq: number | undefined }[] = [];
      class Recording extends MemoryBackend {
        override produceBatch(values: readonly Uint8Array[], producer?: ProducerRef): Promise<readonly number[]> {
          calls.push({ n: values.length, seq: producer?.seq });
          return super.produceBatch(values);
        }
      }
      const backend = new Recording();
      const srv = await startTestServer(pki, backend);
      const forwarder = new LeaderForwarder(credsFor(pki, pki.root));
      try {
        const addr = `localhost:${srv.port}`;
        const batch = Array.from({ length: 20 }, (_, i) => Buffer.from(`b${i}`));
        const id = Buffer.alloc(8, 7);
        // One ordered stream: a single record, a batch, another single record.
        const [a, offsets, z] = await Promise.all([
          forwarder.produce(addr, Buffer.from('a')),
          forwarder.produceBatch(addr, batch, { id, seq: 5 }),
          forwarder.produce(addr, Buffer.from('z')),
        ]);
        assert.equal(a, 0);
        assert.deepEqual(
          offsets,
          batch.map((_, i) => 1 + i),
        );
        assert.equal(z, 21);
        assert.deepEqual(calls, [{ n: 20, seq: 5 }], 'the batch reached the leader as one request with its producer');
        assert.equal(srv.server.streamStats.produceBatches, 1);
        assert.deepEqual((await backend.read(7)).value, Buffer.from('b6'));
      } finally {
        forwarder.close();
        await srv.stop();
      }
    });

    it('a connection cut after the leader appended the record: ABORTED, and the record is in its log once', async () => {
      let proxy: CuttableProxy | undefined;
      class CutAfterAppend extends MemoryBackend {
        override async produce(value: Uint8Array): Promise<number> {
          const offset = await super.produce(value);
          proxy?.cut();
          return offset;
        }
      }
      const backend = new CutAfterAppend();
      const srv = await startTestServer(pki, backend);
      const forwarder = new LeaderForwarder(credsFor(pki, pki.root));
      try {
        proxy = await startCuttableProxy(srv.address);
        // The test certificate names localhost; the forwarder dials by address, so dial "localhost:<proxy port>".
        const addr = `localhost:${proxy.address.split(':')[1]}`;
        const err = await forwarder.produce(addr, Buffer.from('x')).then(
          (o) => assert.fail(`the forward succeeded at offset ${o}`),
          (e: unknown) => e as Error,
        );
        assert.ok(err instanceof ForwardIndeterminateError, `indeterminate, got ${err.message}`);
        const st = toStatus(forwardError(err, 'test-0', addr));
        assert.equal(st.code, Status.ABORTED, st.details);
        assert.equal(backend.bounds().next, 1);
      } finally {
        forwarder.close();
        await proxy?.close();
        await srv.stop();
      }
    });

    it('a leader change fails the records in flight to the old leader at once, as indeterminate; the same leader keeps them', async () => {
      const held: (() => void)[] = [];
      class Hung extends MemoryBackend {
        override produce(value: Uint8Array): Promise<number> {
          return new Promise((resolve) => held.push(() => void super.produce(value).then(resolve)));
        }
      }
      const srv = await startTestServer(pki, new Hung());
      const forwarder = new LeaderForwarder(credsFor(pki, pki.root));
      try {
        const addr = `localhost:${srv.port}`;
        const first = forwarder.produce(addr, Buffer.from('a')).then(
          (o) => o,
          (e: unknown) => e as Error,
        );
        await until(() => held.length === 1, 'the record reached the leader');
        forwarder.leaderChanged(addr);
        held.shift()?.();
        assert.equal(await first, 0, 'the same leader: the record is answered');
        const second = forwarder.produce(addr, Buffer.from('b')).then(
          (o) => assert.fail(`the forward succeeded at offset ${o}`),
          (e: unknown) => e as Error,
        );
        await until(() => held.length === 1, 'the second record reached the leader');
        // WHEN this node learns that an election began (no leader) THEN the record fails now.
        forwarder.leaderChanged(undefined);
        const err = await second;
        assert.ok(err instanceof ForwardIndeterminateError, `indeterminate, got ${err.message}`);
        assert.equal(toStatus(forwardError(err, 'test-0', addr)).code, Status.ABORTED);
      } finally {
        for (const f of held.splice(0)) f();
        forwarder.close();
        await srv.stop();
      }
    });
  });
});
