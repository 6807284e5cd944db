/**
 * The book's server tests (proglog internal/server/server_test.go), in TypeScript, against
 * a real TLS server over a real segmented log (fsync on every group commit) on 127.0.0.1 with mutual TLS and the example ACL.
 */
import assert from 'node:assert/strict';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as Serving } from '../gen/grpc/health/v1/health.js';
import type { ConsumeResponse, ProduceResponse } from '../gen/v1/log.js';
import { Role } from '../gen/v1/admin.js';
import { ErrorMetadataKeys, errorInfoOf } from './errors.js';
import {
  call,
  clients,
  closeAll,
  createTestPki,
  credsFor,
  startTestServer,
  tempLocalBackend,
  until,
  type TestPki,
  type TestServer,
} from './testing/fixtures.js';

function md(err: unknown, key: string): string | undefined {
  const v = (err as ServiceError).metadata.get(key)[0];
  return v === undefined ? undefined : String(v);
}

describe("log.v1.Log server (the book's server tests)", function () {
  this.timeout(20_000);
  let pki: TestPki;
  let srv: TestServer;
  let root: ReturnType<typeof clients>;
  let nobody: ReturnType<typeof clients>;
  let cleanupLog: () => Promise<void>;

  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  beforeEach(async () => {
    const local = await tempLocalBackend({ maxRecordBytes: 1024 });
    cleanupLog = local.cleanup;
    srv = await startTestServer(pki, local.backend);
    root = clients(srv.address, credsFor(pki, pki.root));
    nobody = clients(srv.address, credsFor(pki, pki.nobody));
  });
  afterEach(async () => {
    closeAll(root.log, root.admin, root.health, nobody.log, nobody.admin, nobody.health);
    await srv.stop();
    await cleanupLog();
  });

  it('produce/consume: a produced record is consumed back at its offset', async () => {
    const value = Buffer.from('hello world');
    const produced = await call<ProduceResponse>((cb) =>
      root.log.produce({ record: { value, offset: 0, term: 0, type: 0 } }, cb),
    );
    assert.equal(produced.offset, 0);
    const consumed = await call<ConsumeResponse>((cb) => root.log.consume({ offset: produced.offset }, cb));
    assert.deepEqual(consumed.record?.value, value);
    assert.equal(consumed.record?.offset, 0);
  });

  it('consume past the log boundary fails OUT_OF_RANGE with the offset and bounds', async () => {
    const produced = await call<ProduceResponse>((cb) =>
      root.log.produce({ record: { value: Buffer.from('x'), offset: 0, term: 0, type: 0 } }, cb),
    );
    const err = await call((cb) => root.log.consume({ offset: produced.offset + 1 }, cb)).then(
      () => assert.fail('expected OUT_OF_RANGE'),
      (e: unknown) => e,
    );
    assert.equal((err as ServiceError).code, Status.OUT_OF_RANGE);
    assert.equal(md(err, ErrorMetadataKeys.offset), '1');
    assert.equal(md(err, ErrorMetadataKeys.lowestOffset), '0');
    assert.equal(md(err, ErrorMetadataKeys.nextOffset), '1');
    assert.equal(md(err, ErrorMetadataKeys.code), 'offset-out-of-range');
    // The same context in the richer error model (google.rpc.Status → ErrorInfo).
    assert.deepEqual(errorInfoOf((err as ServiceError).metadata), {
      reason: 'OFFSET_OUT_OF_RANGE',
      domain: 'commitlog.dev',
      metadata: { offset: '1', lowest_offset: '0', next_offset: '1' },
    });
  });

  it('produce/consume streams: acknowledgements in order, then the stream replays them', async () => {
    const values = ['first message', 'second message'].map((s) => Buffer.from(s));
    const stream = root.log.produceStream();
    const acks: number[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: ProduceResponse) => acks.push(r.offset));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    for (const value of values) stream.write({ record: { value, offset: 0, term: 0, type: 0 } });
    stream.end();
    await done;
    assert.deepEqual(acks, [0, 1]);

    const consume = root.log.consumeStream({ offset: 0 });
    const got: ConsumeResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      consume.on('data', (r: ConsumeResponse) => {
        got.push(r);
        if (got.length === values.length) resolve();
      });
      consume.on('error', reject);
    });
    consume.cancel();
    assert.deepEqual(
      got.map((r) => [r.record?.offset, r.record?.value.toString()]),
      [
        [0, 'first message'],
        [1, 'second message'],
      ],
    );
  });

  it('ConsumeStream tails: a record produced after the stream started is delivered', async () => {
    const consume = root.log.consumeStream({ offset: 0 });
    const first = new Promise<ConsumeResponse>((resolve, reject) => {
      consume.once('data', resolve);
      consume.on('error', (e: ServiceError) => (e.code === Status.CANCELLED ? undefined : reject(e)));
    });
    await until(
      () => srv.server.openStreams === 1,
      'the stream is open on the server (parked at the end of the log)',
      20_000,
    );
    await call((cb) => root.log.produce({ record: { value: Buffer.from('later'), offset: 0, term: 0, type: 0 } }, cb));
    assert.equal((await first).record?.value.toString(), 'later');
    consume.cancel();
  });

  it('unauthorized: nobody is denied produce and consume with PERMISSION_DENIED', async () => {
    const p = await call((cb) =>
      nobody.log.produce({ record: { value: Buffer.from('x'), offset: 0, term: 0, type: 0 } }, cb),
    ).catch((e: unknown) => e);
    assert.equal((p as ServiceError).code, Status.PERMISSION_DENIED);
    assert.equal((p as ServiceError).details, 'nobody not permitted to produce');
    const c = await call((cb) => nobody.log.consume({ offset: 0 }, cb)).catch((e: unknown) => e);
    assert.equal((c as ServiceError).code, Status.PERMISSION_DENIED);
    assert.equal((c as ServiceError).details, 'nobody not permitted to consume');
    const s = nobody.log.consumeStream({ offset: 0 });
    const streamErr = await new Promise<ServiceError>((resolve) => s.on('error', resolve));
    assert.equal(streamErr.code, Status.PERMISSION_DENIED);
  });

  it('health: Check answers SERVING for the server and each service', async () => {
    for (const service of ['', 'log.v1.Log', 'log.v1.Admin']) {
      const res = await call<{ status: Serving }>((cb) => root.health.check({ service }, cb));
      assert.equal(res.status, Serving.SERVING, `service "${service}"`);
    }
    const unknown = await call((cb) => root.health.check({ service: 'nope' }, cb)).catch((e: unknown) => e);
    assert.equal((unknown as ServiceError).code, Status.NOT_FOUND);
  });

  it('health: Watch sends SERVING, then NOT_SERVING when the server shuts down', async () => {
    const watch = root.health.watch({ service: '' });
    const seen: Serving[] = [];
    const twoSeen = new Promise<void>((resolve) => {
      watch.on('data', (r: { status: Serving }) => {
        seen.push(r.status);
        if (seen.length === 1) void srv.server.shutdown();
        if (seen.length === 2) resolve();
      });
      watch.on('error', () => resolve());
    });
    await twoSeen;
    assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING]);
  });

  it('shutting down ends a tailing ConsumeStream with UNAVAILABLE', async () => {
    const stream = root.log.consumeStream({ offset: 0 });
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => {});
    await until(
      () => srv.server.openStreams === 1,
      'the stream is open on the server (parked at the end of the log)',
      20_000,
    );
    await srv.server.shutdown();
    const err = await ended;
    assert.equal(err.code, Status.UNAVAILABLE);
    assert.equal(err.details, 'the server is shutting down');
  });

  it('GetServers on a single node returns this node as leader', async () => {
    const res = await call<{ servers: { id: string; isLeader: boolean }[] }>((cb) => root.log.getServers({}, cb));
    assert.equal(res.servers.length, 1);
    assert.equal(res.servers[0]?.isLeader, true);
  });

  it('Admin: status is standalone; membership changes are FAILED_PRECONDITION; nobody is denied', async () => {
    const st = await call<{ role: Role; nodeId: string }>((cb) => root.admin.getStatus({}, new Metadata(), cb));
    assert.equal(st.role, Role.ROLE_STANDALONE);
    assert.equal(st.nodeId, 'test-0');
    const add = await call((cb) => root.admin.addLearner({ id: 'n1', rpcAddr: '127.0.0.1:1' }, cb)).catch(
      (e: unknown) => e,
    );
    assert.equal((add as ServiceError).code, Status.FAILED_PRECONDITION);
    const denied = await call((cb) => nobody.admin.listMembers({}, cb)).catch((e: unknown) => e);
    assert.equal((denied as ServiceError).code, Status.PERMISSION_DENIED);
  });
});
