import assert from 'node:assert/strict';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { ErrorMetadataKeys } from '../server/errors.js';
import type { ProducerRef, ServerInfo } from '../server/backend.js';
import { MemoryBackend } from '../server/memory-backend.js';
import {
  createTestPki,
  credsFor,
  isolatedClient,
  startCuttableProxy,
  startTestServer,
  type CuttableProxy,
  type TestPki,
  type TestServer,
} from '../server/testing/fixtures.js';
import { CommitLogClient, isRetryable } from './client.js';
import { CallKind } from './picker.js';

/** A Raft outcome as the agent's backend raises it (node/src/agent/errors.ts RaftOutcomeError). */
const outcome = (code: string, reason?: string): Error =>
  Object.assign(new Error(`raft: ${code}`), { code, reason, leaderId: 'memory' });

/** A one-node backend whose first produce calls fail with the given errors, then succeed. */
class FlakyBackend extends MemoryBackend {
  calls = 0;
  /** The producer id (hex) and sequence of every attempt, "-" for a plain produce. */
  readonly producers: string[] = [];
  constructor(
    private readonly failures: Error[],
    private readonly info: { rpcAddr: string },
  ) {
    super();
  }
  override produce(value: Uint8Array, producer?: ProducerRef): Promise<number> {
    this.calls++;
    this.producers.push(producer ? `${Buffer.from(producer.id).toString('hex')}/${producer.seq}` : '-');
    const f = this.failures.shift();
    return f !== undefined ? Promise.reject(f) : super.produce(value);
  }
  override servers(): readonly ServerInfo[] {
    return [{ id: 'memory', rpcAddr: this.info.rpcAddr, isLeader: true, isVoter: true }];
  }
}

describe('client retry policy: it retries exactly the outcomes known not to have written (issue 12)', function () {
  this.timeout(20_000);
  let pki: TestPki;
  let srv: TestServer | undefined;
  let client: CommitLogClient | undefined;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  afterEach(async () => {
    client?.close();
    await srv?.stop();
  });

  let backend: FlakyBackend;
  async function produceWith(
    failures: Error[],
    idempotent?: boolean,
  ): Promise<{ result: number | ServiceError; calls: number }> {
    const info = { rpcAddr: '' };
    backend = new FlakyBackend(failures, info);
    srv = await startTestServer(pki, backend);
    info.rpcAddr = srv.address;
    client = new CommitLogClient({
      target: srv.address,
      credentials: credsFor(pki, pki.root),
      channelOptions: isolatedClient,
      deadlineMs: 10_000,
      // These tests count attempts: one that hit the default 1 s attempt deadline on a loaded
      // machine would add a retry the table did not ask for.
      writeAttemptMs: 10_000,
      ...(idempotent !== undefined ? { idempotent } : {}),
    });
    const result = await client.produce(Buffer.from('x')).catch((e: unknown) => e as ServiceError);
    return { result, calls: backend.calls };
  }

  it('an overloaded leader (RESOURCE_EXHAUSTED) is retried after a backoff and the record is written once', async () => {
    const r = await produceWith([
      outcome('RAFT_PROPOSAL_REJECTED', 'overloaded'),
      outcome('RAFT_PROPOSAL_REJECTED', 'overloaded'),
    ]);
    assert.deepEqual(r, { result: 0, calls: 3 });
  });

  it('a lost proposal and a Raft timeout (UNAVAILABLE: nothing written) are retried', async () => {
    const r = await produceWith([outcome('RAFT_PROPOSAL_LOST'), outcome('RAFT_TIMEOUT')]);
    assert.deepEqual(r, { result: 0, calls: 3 });
  });

  it('without a producer id (idempotent: false), an indeterminate proposal (ABORTED) is not retried: the caller gets it with its reason', async () => {
    const r = await produceWith([outcome('RAFT_PROPOSAL_INDETERMINATE')], false);
    assert.equal(r.calls, 1, 'exactly one attempt');
    assert.equal((r.result as ServiceError).code, Status.ABORTED);
    assert.deepEqual(backend.producers, ['-'], 'the book wire format: no producer id');
  });

  it('an idempotent produce (the default) retries an indeterminate proposal with the same producer id and sequence', async () => {
    const r = await produceWith([outcome('RAFT_PROPOSAL_INDETERMINATE')]);
    assert.deepEqual(r, { result: 0, calls: 2 });
    const [a, b] = backend.producers;
    assert.match(a ?? '', /^[0-9a-f]{32}\/0$/, 'a 128-bit producer id, sequence 0');
    assert.equal(b, a, 'the retry is the same (producer, sequence): the cluster dedups it');
    await (client as CommitLogClient).produce(Buffer.from('y'));
    assert.equal(backend.producers[2], (a ?? '').replace(/0$/, '1'), 'the next produce takes the next sequence');
  });

  it('the table: reads retry every transient status; writes only UNAVAILABLE and RESOURCE_EXHAUSTED the server answered', () => {
    const md = new Metadata();
    md.set(ErrorMetadataKeys.code, 'not-leader');
    const e = (code: Status): Partial<ServiceError> => ({ code, metadata: md });
    for (const code of [
      Status.UNAVAILABLE,
      Status.RESOURCE_EXHAUSTED,
      Status.ABORTED,
      Status.DEADLINE_EXCEEDED,
      Status.CANCELLED,
    ])
      assert.ok(isRetryable(CallKind.read, e(code)), `read ${Status[code]}`);
    for (const code of [Status.UNAVAILABLE, Status.RESOURCE_EXHAUSTED])
      assert.ok(isRetryable(CallKind.write, e(code)), `write ${Status[code]}`);
    for (const code of [
      Status.ABORTED,
      Status.DEADLINE_EXCEEDED,
      Status.CANCELLED,
      Status.INTERNAL,
      Status.OUT_OF_RANGE,
    ])
      assert.ok(!isRetryable(CallKind.write, e(code)), `write ${Status[code]}`);
    assert.ok(!isRetryable(CallKind.read, e(Status.INTERNAL)));
    // grpc-js's own UNAVAILABLE: before sending (its picker had no connection) or after (the connection dropped).
    const transport = (details: string): Partial<ServiceError> => ({
      code: Status.UNAVAILABLE,
      details,
      metadata: new Metadata(),
    });
    assert.ok(isRetryable(CallKind.write, transport('No connection established. Last error: connect ECONNREFUSED')));
    assert.ok(!isRetryable(CallKind.write, transport('Connection dropped')), 'sent, then the connection dropped');
    assert.ok(isRetryable(CallKind.read, transport('Connection dropped')));
  });

  it('without a producer id, a connection cut after the record was appended is not retried: the record is in the log once (e2e: w-350 twice)', async () => {
    // A TCP proxy in front of the server; the backend cuts it right after appending, so the
    // append happened and its answer never arrives: the client's UNAVAILABLE is grpc-js's.
    let proxy: CuttableProxy | undefined;
    const info = { rpcAddr: '' };
    class CutAfterAppend extends MemoryBackend {
      calls = 0;
      override async produce(value: Uint8Array): Promise<number> {
        this.calls++;
        const offset = await super.produce(value);
        if (this.calls === 1) proxy?.cut();
        return offset;
      }
      override servers(): readonly ServerInfo[] {
        return [{ id: 'memory', rpcAddr: info.rpcAddr, isLeader: true, isVoter: true }];
      }
    }
    try {
      const backend = new CutAfterAppend();
      srv = await startTestServer(pki, backend);
      proxy = await startCuttableProxy(srv.address);
      info.rpcAddr = proxy.address;
      client = new CommitLogClient({
        target: proxy.address,
        credentials: credsFor(pki, pki.root),
        channelOptions: isolatedClient,
        deadlineMs: 10_000,
        idempotent: false, // the plain (book) producer: the rule for writes without a producer id
      });
      const result = await client.produce(Buffer.from('once')).catch((err: unknown) => err as ServiceError);
      assert.equal(typeof result, 'object', `the produce failed (its outcome is unknown), got ${String(result)}`);
      assert.equal((result as ServiceError).code, Status.UNAVAILABLE, (result as ServiceError).message);
      assert.equal(backend.calls, 1, 'the client retried a write the server had appended');
      assert.equal(backend.bounds().next, 1, 'one record in the log');
    } finally {
      await proxy?.close();
    }
  });

  it('the table: an idempotent write (producer id + sequence) also retries the indeterminate statuses, nothing else', () => {
    const e = (code: Status): Partial<ServiceError> => ({ code });
    for (const code of [
      Status.UNAVAILABLE,
      Status.RESOURCE_EXHAUSTED,
      Status.ABORTED,
      Status.DEADLINE_EXCEEDED,
      Status.CANCELLED,
    ])
      assert.ok(isRetryable(CallKind.write, e(code), true), `idempotent write ${Status[code]}`);
    for (const code of [Status.FAILED_PRECONDITION, Status.INTERNAL, Status.OUT_OF_RANGE, Status.INVALID_ARGUMENT])
      assert.ok(!isRetryable(CallKind.write, e(code), true), `idempotent write ${Status[code]}`);
  });
});
