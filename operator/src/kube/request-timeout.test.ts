/**
 * API request timeouts (issue 14, item 8): every request of {@link HttpKubeClient} (not a
 * watch stream) has a deadline, so an API server that accepts a request and never answers
 * fails the pass, which the work queue retries with backoff, instead of stalling a worker for
 * ever. Against a local HTTP server on 127.0.0.1 that reads each request and never answers.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeClient } from './client.js';
import { KubeConfigTransport } from './http.js';
import { RESOURCES } from './resources.js';

describe('API requests have a deadline', function () {
  this.timeout(20_000);
  let server: Server;
  const hung: IncomingMessage[] = [];
  let kc: KubeConfig;

  beforeEach(async () => {
    // Reads every request, answers none.
    server = createServer((req) => hung.push(req));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterEach(async () => {
    hung.splice(0);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a read and a write to an API server that never answers reject with a timeout, not hang', async () => {
    // GIVEN a client whose requests may take 200 ms
    const client = new HttpKubeClient(new KubeConfigTransport(kc), { requestTimeoutMs: 200 });
    // WHEN it reads and applies while the server holds every request
    // THEN each rejects with the timeout (without the deadline they would hang past the test's timeout)
    const timedOut = (e: unknown): boolean => e instanceof Error && e.name === 'TimeoutError';
    await assert.rejects(client.get(RESOURCES.configMap, 'default', 'x'), timedOut);
    await assert.rejects(
      client.apply(RESOURCES.configMap, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'x', namespace: 'default' },
      }),
      timedOut,
    );
    assert.equal(hung.length, 2, 'both requests reached the server');
  });
});
