/**
 * The REST transport's connections (issue 10: the 8.3 GB runaway of the stress series). The
 * API server speaks HTTP/2 when the client offers it, and undici 8 offers it by default; the
 * KubeConfig's RequestContext hands out a new undici Agent for every request, and undici never
 * reaps an idle HTTP/2 session (nodejs/undici#5381). So every request left one TLS connection
 * and one HTTP/2 session open for good: hundreds per test file, one per request in a running
 * operator. In one of them Node's HTTP/2 session then looped in native code
 * (Http2Session::SendPendingData → CopyDataIntoOutgoing, seen with gdb on a reproduction of
 * `apiserver.test.ts` "runs two operator instances", 2026-12-03), growing by gigabytes with
 * the event loop never coming back. The transport now keeps one HTTP/1.1 pool.
 */
import assert from 'node:assert/strict';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createCa, issueLeaf } from '../certs/pki.js';
import { KubeConfigTransport } from './http.js';

describe('KubeConfigTransport connections', function () {
  let server: Http2SecureServer;
  let connections = 0;
  let kc: KubeConfig;

  before(async () => {
    const now = new Date();
    const ca = await createCa('http-test-ca', now, 1);
    const leaf = await issueLeaf(
      ca,
      { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], usage: 'server' },
      now,
      1,
    );
    // Like kube-apiserver: HTTP/2 to a client that offers it (ALPN h2), HTTP/1.1 otherwise.
    server = createSecureServer({ key: leaf.keyPem, cert: leaf.certPem, allowHTTP1: true }, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ httpVersion: req.httpVersion, authorization: req.headers.authorization ?? null }));
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: 'c', server: `https://127.0.0.1:${port}`, caData: Buffer.from(ca.certPem).toString('base64') },
      ],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(async () => {
    // Close every session the client left open, then the listener.
    await new Promise<void>((r) => {
      server.close(() => r());
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  });

  it('sends 20 requests over reused HTTP/1.1 connections, each with the kubeconfig credentials', async () => {
    const t = new KubeConfigTransport(kc);
    connections = 0;
    const seen: { httpVersion: string; authorization: string | null }[] = [];
    for (let i = 0; i < 20; i++) seen.push(await t.request('GET', '/api/v1/namespaces'));
    assert.deepEqual(
      [...new Set(seen.map((s) => s.httpVersion))],
      ['1.1'],
      'HTTP/1.1 (undici never reaps an idle HTTP/2 session)',
    );
    assert.ok(
      seen.every((s) => s.authorization === 'Bearer secret-token'),
      JSON.stringify(seen[0]),
    );
    // Reused, not one per request (the old transport: 20). Not exactly one: undici may open a
    // second while the first is being released after its response (seen: 2, alternating).
    assert.ok(connections <= 10, `${connections} connections for 20 requests: not reused`);
  });
});
