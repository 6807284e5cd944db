/**
 * Test fixtures for the server (used by its tests and by other areas' tests): a PKI in a
 * temp dir (CA, server certificate for 127.0.0.1/localhost, client certificates "root"
 * and "nobody"), the example ACL, a running server and clients.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelCredentials, Client, ClientOptions, ServiceError } from '@grpc/grpc-js';
import { CasbinAuthorizer } from '../../acl/authorizer.js';
import { AdminClient } from '../../gen/v1/admin.js';
import { LogClient } from '../../gen/v1/log.js';
import { HealthClient } from '../../gen/grpc/health/v1/health.js';
import { createCA, issueClientCert, issueServerCert, type PemPair } from '../../tls/certs.js';
import { clientCredentialsFromPem } from '../../tls/credentials.js';
import { writePemPair, writeFileAtomic } from '../../tls/pem-files.js';
import type { LogConfigInput } from '../../log/index.js';
import type { LogBackend } from '../backend.js';
import { LocalLogBackend } from '../local-backend.js';
import { CommitLogServer, type CommitLogServerOptions } from '../server.js';

/** Where the example ACL lives in the repository. */
export const exampleAclDir = join(import.meta.dirname, '..', '..', '..', 'config', 'acl');

/** A PKI written to a temp dir. */
export interface TestPki {
  readonly dir: string;
  readonly ca: PemPair;
  readonly server: PemPair;
  readonly root: PemPair;
  readonly nobody: PemPair;
  readonly serverFiles: { certFile: string; keyFile: string; caFile: string };
  readonly aclFiles: { modelFile: string; policyFile: string };
  /** Overwrites the server certificate/key files atomically (rotation). */
  rotateServer(pair: PemPair): void;
  cleanup(): void;
}

/** Creates the PKI and copies the example ACL next to it. */
export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-pki-'));
  const ca = await createCA({ commonName: 'commitlog test CA' });
  const server = await issueServerCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const root = await issueClientCert(ca, { commonName: 'root' });
  const nobody = await issueClientCert(ca, { commonName: 'nobody' });
  writeFileAtomic(join(dir, 'ca.pem'), ca.certPem);
  const s = writePemPair(dir, 'server', server);
  copyFileSync(join(exampleAclDir, 'model.conf'), join(dir, 'model.conf'));
  copyFileSync(join(exampleAclDir, 'policy.csv'), join(dir, 'policy.csv'));
  return {
    dir,
    ca,
    server,
    root,
    nobody,
    serverFiles: { ...s, caFile: join(dir, 'ca.pem') },
    aclFiles: { modelFile: join(dir, 'model.conf'), policyFile: join(dir, 'policy.csv') },
    rotateServer: (pair) => void writePemPair(dir, 'server', pair),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A running server on 127.0.0.1 with mutual TLS and the example ACL. */
export interface TestServer {
  readonly server: CommitLogServer;
  readonly authorizer: CasbinAuthorizer;
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a server over `backend` with the PKI's files. */
export async function startTestServer(
  pki: TestPki,
  backend: LogBackend,
  extra: Partial<CommitLogServerOptions> = {},
): Promise<TestServer> {
  const authorizer = await CasbinAuthorizer.open(pki.aclFiles);
  const server = new CommitLogServer({
    backend,
    nodeId: 'test-0',
    tls: pki.serverFiles,
    authorizer: () => authorizer,
    ...extra,
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    server,
    authorizer,
    port,
    address: `127.0.0.1:${port}`,
    stop: async () => {
      await server.shutdown();
      authorizer.close();
    },
  };
}

/** Polls `cond` every 10 ms until it holds; fails after `timeoutMs` (for events with no hook). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A LocalLogBackend in a fresh temp dir, removed by `cleanup`. */
export async function tempLocalBackend(
  logConfig: LogConfigInput = {},
): Promise<{ backend: LocalLogBackend; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-log-'));
  const backend = await LocalLogBackend.open(dir, { logConfig, self: { id: 'test-0', rpcAddr: '127.0.0.1:0' } });
  return {
    backend,
    cleanup: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Client credentials trusting the PKI's CA, optionally presenting `pair`. */
export function credsFor(pki: TestPki, pair?: PemPair, ca: PemPair = pki.ca): ChannelCredentials {
  return clientCredentialsFromPem(ca.certPem, pair);
}

/** Options that keep each test's client on its own connection. */
export const isolatedClient: Partial<ClientOptions> = {
  'grpc.use_local_subchannel_pool': 1,
  // Verify the server as "localhost" (a SAN of the test certificate) while dialing 127.0.0.1.
  'grpc.ssl_target_name_override': 'localhost',
  'grpc.default_authority': 'localhost',
};

/** Clients for the three services on one address. */
export function clients(address: string, creds: ChannelCredentials) {
  return {
    log: new LogClient(address, creds, isolatedClient),
    admin: new AdminClient(address, creds, isolatedClient),
    health: new HealthClient(address, creds, isolatedClient),
  };
}

/** Closes clients. */
export function closeAll(...cs: Client[]): void {
  for (const c of cs) c.close();
}

/** Turns a callback-style unary call into a promise: `call<R>((cb) => client.produce(req, cb))`. */
export function call<Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A TCP proxy on 127.0.0.1 whose connections can be cut: a lost connection after a request was sent. */
export interface CuttableProxy {
  /** `127.0.0.1:<port>` of the proxy. */
  readonly address: string;
  /** Destroys every connection through the proxy (both sides), now. */
  cut(): void;
  close(): Promise<void>;
}

/** Starts a {@link CuttableProxy} in front of `upstream` (`host:port`). */
export async function startCuttableProxy(upstream: string): Promise<CuttableProxy> {
  const i = upstream.lastIndexOf(':');
  const [host, port] = [upstream.slice(0, i), Number(upstream.slice(i + 1))];
  const sockets = new Set<Socket>();
  const proxy = createServer((down) => {
    const up = connect(port, host);
    sockets.add(down).add(up);
    down.pipe(up).pipe(down);
    const gone = (): void => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('error', gone).on('close', gone);
    up.on('error', gone).on('close', gone);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const addr = proxy.address();
  if (addr === null || typeof addr === 'string') throw new Error('the proxy has no TCP address');
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    address: `127.0.0.1:${addr.port}`,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        proxy.close(() => resolve());
      }),
  };
}
