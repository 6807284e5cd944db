import assert from 'node:assert/strict';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { LocalLogBackend } from '../../node/src/server/local-backend.js';
import {
  createTestPki,
  credsFor,
  isolatedClient,
  startTestServer,
  tempLocalBackend,
  type TestPki,
  type TestServer,
} from '../../node/src/server/testing/fixtures.js';
import { readAll } from './read-all.js';

describe('readAll: one member’s whole log, for the end-of-run checks', () => {
  const N = 700; // more than two batches of the stream (256 records each)
  let pki: TestPki;
  let server: TestServer;
  let backend: LocalLogBackend;
  let cleanup: () => Promise<void>;
  let creds: ChannelCredentials;
  const expected = Array.from({ length: N }, (_, i) => `r${i}`);

  before(async function () {
    this.timeout(60_000);
    pki = await createTestPki();
    ({ backend, cleanup } = await tempLocalBackend());
    for (const v of expected) await backend.produce(Buffer.from(v));
    server = await startTestServer(pki, backend);
    creds = credsFor(pki, pki.root);
  });
  after(async () => {
    await server.stop();
    await cleanup();
    pki.cleanup();
  });

  it('reads every record by Consume alone, and the same with a streamed prefix shorter than the log', async () => {
    assert.deepEqual(await readAll(server.address, creds, isolatedClient), expected);
    assert.deepEqual(await readAll(server.address, creds, isolatedClient, { prefix: 300 }), expected);
    assert.deepEqual(await readAll(server.address, creds, isolatedClient, { prefix: N }), expected);
  });

  it('a prefix longer than the log ends the stream at its deadline and still returns exactly the log', async () => {
    const got = await readAll(server.address, creds, isolatedClient, { prefix: N + 50, prefixDeadlineMs: 300 });
    assert.deepEqual(got, expected);
  });
});
