/**
 * Security of the server: mutual TLS (missing, foreign and expired client certificates),
 * certificate rotation on disk while a client streams, and ACL policy changes at run time.
 */
import assert from 'node:assert/strict';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus as Serving } from '../gen/grpc/health/v1/health.js';
import type { ConsumeResponse, ProduceResponse } from '../gen/v1/log.js';
import { createCA, issueClientCert, issueServerCert } from '../tls/certs.js';
import { reloadingClientCredentials } from '../tls/credentials.js';
import { writeFileAtomic, writePemPair } from '../tls/pem-files.js';
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

const rec = (s: string) => ({ record: { value: Buffer.from(s), offset: 0, term: 0, type: 0 } });

async function produceErr(c: ReturnType<typeof clients>): Promise<ServiceError> {
  return call((cb) => c.log.produce(rec('x'), cb)).then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e as ServiceError,
  );
}

describe('server security (mutual TLS, rotation, ACL reload)', function () {
  this.timeout(20_000);
  let pki: TestPki;
  let srv: TestServer;
  let cleanupLog: () => Promise<void>;
  const open: ReturnType<typeof clients>[] = [];
  const client = (c: ReturnType<typeof clients>) => (open.push(c), c);

  before(async () => {
    pki = await createTestPki();
  });
  after(() => pki.cleanup());
  beforeEach(async () => {
    const local = await tempLocalBackend();
    cleanupLog = local.cleanup;
    srv = await startTestServer(pki, local.backend);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) closeAll(c.log, c.admin, c.health);
    await srv.stop();
    await cleanupLog();
  });

  it('a client without a certificate is UNAUTHENTICATED (health still answers)', async () => {
    const anon = client(clients(srv.address, credsFor(pki)));
    const err = await produceErr(anon);
    assert.equal(err.code, Status.UNAUTHENTICATED);
    assert.match(err.details, /client certificate/);
    const health = await call<{ status: Serving }>((cb) => anon.health.check({ service: '' }, cb));
    assert.equal(health.status, Serving.SERVING);
  });

  it('a certificate from another CA is UNAUTHENTICATED', async () => {
    const otherCa = await createCA({ commonName: 'another CA' });
    const impostor = await issueClientCert(otherCa, { commonName: 'root' });
    const c = client(clients(srv.address, credsFor(pki, impostor)));
    assert.equal((await produceErr(c)).code, Status.UNAUTHENTICATED);
  });

  it('an expired certificate is UNAUTHENTICATED', async () => {
    const expired = await issueClientCert(pki.ca, {
      commonName: 'root',
      notBefore: new Date('2020-01-01T00:00:00Z'),
      validDays: 1,
    });
    const c = client(clients(srv.address, credsFor(pki, expired)));
    assert.equal((await produceErr(c)).code, Status.UNAUTHENTICATED);
  });

  it('a server certificate rotated on disk is used by new connections; a running stream keeps going', async () => {
    const root = client(clients(srv.address, credsFor(pki, pki.root)));
    const stream = root.log.consumeStream({ offset: 0 });
    const got: number[] = [];
    stream.on('data', (r: ConsumeResponse) => got.push(r.record?.offset ?? -1));
    stream.on('error', () => {});
    await call<ProduceResponse>((cb) => root.log.produce(rec('before rotation'), cb));
    await until(() => got.length === 1, 'the first record on the stream');

    // GIVEN a new server certificate from a new CA written over the old files.
    const newCa = await createCA({ commonName: 'rotated CA' });
    pki.rotateServer(await issueServerCert(newCa, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
    try {
      await until(() => srv.server.tlsReloads === 1, 'the TLS reload');

      // THEN a new connection that trusts only the new CA succeeds ...
      const fresh = client(clients(srv.address, credsFor(pki, pki.root, newCa)));
      await call<ProduceResponse>((cb) => fresh.log.produce(rec('after rotation'), cb));
      // ... and a new connection that trusts only the old CA fails the handshake.
      const stale = client(clients(srv.address, credsFor(pki, pki.root)));
      assert.equal((await produceErr(stale)).code, Status.UNAVAILABLE);
      // AND the stream opened before the rotation still receives new records.
      await until(() => got.length === 2, 'the second record on the old stream');
      assert.deepEqual(got, [0, 1]);
    } finally {
      stream.cancel();
      pki.rotateServer(pki.server);
    }
  });

  it('a client with reloading credentials follows its files: a CA added to its trust file verifies the next connection', async () => {
    // GIVEN a client whose files (as a mounted Secret) trust the server's CA.
    const caFile = join(pki.dir, 'client-ca.pem');
    writeFileAtomic(caFile, pki.ca.certPem);
    const tls = reloadingClientCredentials({ ...writePemPair(pki.dir, 'client-root', pki.root), caFile });
    try {
      await call<ProduceResponse>((cb) => client(clients(srv.address, tls.credentials)).log.produce(rec('a'), cb));
      // WHEN the server moves to a leaf of a new CA, a new connection is refused ...
      const newCa = await createCA({ commonName: 'rotated CA' });
      pki.rotateServer(await issueServerCert(newCa, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }));
      await until(() => srv.server.tlsReloads === 1, 'the server TLS reload');
      assert.equal((await produceErr(client(clients(srv.address, tls.credentials)))).code, Status.UNAVAILABLE);
      // ... until the client's trust file holds both CAs (the rotation's trust bundle).
      writeFileAtomic(caFile, `${pki.ca.certPem.trim()}\n${newCa.certPem.trim()}\n`);
      await until(() => tls.provider.reloads === 1, 'the client TLS reload');
      // THEN the same credentials verify the new server certificate on the next connection.
      const res = await call<ProduceResponse>((cb) =>
        client(clients(srv.address, tls.credentials)).log.produce(rec('b'), cb),
      );
      assert.equal(res.offset, 1);
    } finally {
      tls.close();
      pki.rotateServer(pki.server);
    }
  });

  it('a policy file changed at run time takes effect without a restart', async () => {
    const nobody = client(clients(srv.address, credsFor(pki, pki.nobody)));
    assert.equal((await produceErr(nobody)).code, Status.PERMISSION_DENIED);
    const tmp = join(pki.dir, 'policy.csv.tmp');
    writeFileSync(tmp, 'p, root, *, produce\np, root, *, consume\np, nobody, *, produce\n');
    renameSync(tmp, pki.aclFiles.policyFile);
    try {
      await until(() => srv.authorizer.reloads === 1, 'the ACL reload');
      await srv.authorizer.settled();
      const res = await call<ProduceResponse>((cb) => nobody.log.produce(rec('now allowed'), cb));
      assert.equal(res.offset, 0);
    } finally {
      writeFileSync(pki.aclFiles.policyFile, 'p, root, *, produce\np, root, *, consume\np, root, *, admin\n');
    }
  });
});
