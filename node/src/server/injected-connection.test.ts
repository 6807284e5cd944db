/**
 * The server serves connections accepted elsewhere (the port multiplexer's path): a plain
 * TCP listener hands every socket to `handleConnection`, and a TLS client talks to it.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import type { ProduceResponse } from '../gen/v1/log.js';
import { CommitLogServer } from './server.js';
import { MemoryBackend } from './memory-backend.js';
import { call, clients, closeAll, createTestPki, credsFor } from './testing/fixtures.js';

describe('CommitLogServer.handleConnection (connections from a multiplexer)', function () {
  this.timeout(20_000);

  it('serves gRPC over mutual TLS on a socket it did not accept itself', async () => {
    const pki = await createTestPki();
    const server = new CommitLogServer({ backend: new MemoryBackend(), nodeId: 'mux-0', tls: pki.serverFiles });
    const listener = createServer((socket) => server.handleConnection(socket));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const port = (listener.address() as AddressInfo).port;
    const c = clients(`127.0.0.1:${port}`, credsFor(pki, pki.root));
    try {
      const res = await call<ProduceResponse>((cb) =>
        c.log.produce({ record: { value: Buffer.from('via mux'), offset: 0, term: 0, type: 0 } }, cb),
      );
      assert.equal(res.offset, 0);
    } finally {
      closeAll(c.log, c.admin, c.health);
      await server.shutdown();
      await new Promise((r) => listener.close(r));
      pki.cleanup();
    }
  });
});
