/**
 * ProduceStream while the server shuts down: the records it accepted are drained and
 * acknowledged, the ones that arrive later are not appended, and the final UNAVAILABLE
 * ("shutting down") therefore means exactly "not appended" for every unacknowledged record.
 * Before, the stream ended with UNAVAILABLE at once and dropped the acknowledgements of
 * records that then committed: a client (or a follower's forwarder) retried them and the
 * log held them twice.
 */
import assert from 'node:assert/strict';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import type { ProduceResponse } from '../gen/v1/log.js';
import { ErrorMetadataKeys } from './errors.js';
import { MemoryBackend } from './memory-backend.js';
import {
  clients,
  closeAll,
  createTestPki,
  credsFor,
  startTestServer,
  until,
  type TestPki,
} from './testing/fixtures.js';

/** A backend whose appends wait until {@link release}. */
class GatedBackend extends MemoryBackend {
  calls = 0;
  private open!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  override async produce(value: Uint8Array): Promise<number> {
    this.calls++;
    await this.gate;
    return super.produce(value);
  }
  release(): void {
    this.open();
  }
}

describe('ProduceStream during a server shutdown', function () {
  this.timeout(20_000);
  let pki: TestPki;
  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());

  it('acknowledges every record it accepted, appends none that arrive later, then ends UNAVAILABLE', async () => {
    const backend = new GatedBackend();
    const srv = await startTestServer(pki, backend, { config: { shutdownGraceMs: 15_000 } });
    const root = clients(srv.address, credsFor(pki, pki.root));
    let stopping: Promise<void> | undefined;
    try {
      const stream = root.log.produceStream();
      const acks: number[] = [];
      const ended = new Promise<ServiceError | undefined>((resolve) => {
        stream.on('data', (r: ProduceResponse) => acks.push(r.offset));
        stream.on('error', (e: ServiceError) => resolve(e));
        stream.on('end', () => resolve(undefined));
      });
      const record = (v: string) => ({ record: { value: Buffer.from(v), offset: 0, term: 0, type: 0 } });
      stream.write(record('a'));
      stream.write(record('b'));
      await until(() => backend.calls === 2, 'both records handed to the backend');
      // shutdown() closes the streams before its first await: the shutdown has begun here.
      stopping = srv.stop();
      stream.write(record('late'));
      backend.release();
      const err = await ended;
      assert.deepEqual(acks, [0, 1], 'the two accepted records are acknowledged');
      assert.equal(err?.code, Status.UNAVAILABLE, `ends UNAVAILABLE, got ${err?.message ?? 'a normal end'}`);
      assert.equal(err.metadata.get(ErrorMetadataKeys.code)[0], 'shutting-down');
      assert.equal(backend.calls, 2, 'the record sent after the shutdown began was not appended');
      assert.equal(backend.bounds().next, 2);
    } finally {
      closeAll(root.log, root.admin, root.health);
      await (stopping ?? srv.stop());
    }
  });
});
