import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { CasbinAuthorizer } from '../acl/authorizer.js';
import { MemoryBackend } from '../server/memory-backend.js';
import { createTestPki, until, type TestPki } from '../server/testing/fixtures.js';
import { createCA, issueClientCert, issueServerCert } from '../tls/certs.js';
import { ReloadingCertificateProvider } from '../tls/credentials.js';
import { writePemPair } from '../tls/pem-files.js';
import { HttpApiServer } from './api-server.js';
import { httpApiConfigPresets, jsonBodyLimit, resolveHttpApiConfig, type HttpApiConfig } from './config.js';
import { curl, tlsArgs, type CurlTls } from './testing/curl.js';

const MAX_RECORD = 1024;

describe('JSON API over HTTPS (real curl, one node over a memory backend)', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let root: CurlTls;
  let nobody: CurlTls;
  let stranger: CurlTls;
  let noCert: CurlTls;

  before(async () => {
    pki = await createTestPki();
    const r = writePemPair(pki.dir, 'root', pki.root);
    const n = writePemPair(pki.dir, 'nobody', pki.nobody);
    const otherCa = await createCA({ commonName: 'someone else' });
    const s = writePemPair(pki.dir, 'stranger', await issueClientCert(otherCa, { commonName: 'root' }));
    const ca = pki.serverFiles.caFile;
    root = { ca, cert: r.certFile, key: r.keyFile };
    nobody = { ca, cert: n.certFile, key: n.keyFile };
    stranger = { ca, cert: s.certFile, key: s.keyFile };
    noCert = { ca };
  });
  after(() => pki.cleanup());

  interface Running {
    readonly api: HttpApiServer;
    readonly backend: MemoryBackend;
    readonly provider: ReloadingCertificateProvider;
    readonly url: string;
    stop(): Promise<void>;
  }
  let running: Running[] = [];
  async function start(
    config: Partial<HttpApiConfig> = {},
    backend = new MemoryBackend({ maxRecordBytes: MAX_RECORD }),
  ): Promise<Running> {
    const provider = new ReloadingCertificateProvider(pki.serverFiles);
    const authorizer = await CasbinAuthorizer.open(pki.aclFiles);
    const api = await HttpApiServer.listen(
      {
        backend,
        certificates: provider,
        mutual: true,
        authorizer: () => authorizer,
        config: { ...httpApiConfigPresets.test, ...config },
      },
      '127.0.0.1',
      0,
    );
    const r: Running = {
      api,
      backend,
      provider,
      url: `https://127.0.0.1:${api.port}`,
      stop: async () => {
        await api.close();
        provider.close();
        authorizer.close();
        await backend.close();
      },
    };
    running.push(r);
    return r;
  }
  afterEach(async () => {
    await Promise.all(running.map((r) => r.stop()));
    running = [];
  });
  const as = (t: CurlTls, ...args: string[]) => curl([...tlsArgs(t), ...args]);

  it("produces with the book's shapes on / and reads them back (GET with a body, as the book's curl does)", async () => {
    const { url } = await start();
    const p = await as(root, '-X', 'POST', `${url}/`, '-d', '{"record": {"value": "TGV0J3MgR28gIzEK"}}');
    assert.equal(p.status, 200, p.body);
    assert.deepEqual(p.json(), { offset: 0 });
    const g = await as(root, '-X', 'GET', `${url}/`, '-d', '{"offset": 0}');
    assert.equal(g.status, 200, g.body);
    assert.deepEqual(g.json(), { record: { offset: 0, term: 0, value: 'TGV0J3MgR28gIzEK' } });
  });

  it('produces one record, a batch, UTF-8 text and raw bytes under /v1/, and reads one, a range and raw bytes', async () => {
    const { url } = await start();
    assert.deepEqual((await as(root, `${url}/v1/records`, '-d', '{"value": "aGVsbG8="}')).json(), { offset: 0 });
    assert.deepEqual(
      (
        await as(root, `${url}/v1/records?encoding=utf8`, '-d', '{"records": [{"value": "one"}, {"value": "two"}]}')
      ).json(),
      { offsets: [1, 2] },
    );
    const raw = await as(
      root,
      `${url}/v1/records`,
      '-H',
      'content-type: application/octet-stream',
      '--data-binary',
      '@-',
    );
    assert.deepEqual(raw.json(), { offset: 3 }); // empty stdin: an empty record
    const bin = await curl(
      [...tlsArgs(root), `${url}/v1/records`, '-H', 'content-type: application/octet-stream', '--data-binary', '@-'],
      { input: Buffer.from([0, 1, 2, 255]) },
    );
    assert.deepEqual(bin.json(), { offset: 4 });

    assert.deepEqual((await as(root, `${url}/v1/records/1?encoding=utf8`)).json(), {
      record: { offset: 1, term: 0, value: 'one' },
    });
    const range = await as(root, `${url}/v1/records?from=0&max=3&encoding=utf8`);
    assert.deepEqual(range.json(), {
      records: [
        { offset: 0, term: 0, value: 'hello' },
        { offset: 1, term: 0, value: 'one' },
        { offset: 2, term: 0, value: 'two' },
      ],
      next: 3,
    });
    const octets = await as(root, `${url}/v1/records/4`, '-H', 'accept: application/octet-stream', '-o', '-');
    assert.equal(octets.status, 200);
    assert.equal(octets.headers['commitlog-offset'], '4');
    assert.deepEqual(octets.raw, Buffer.from([0, 1, 2, 255]));
    const notText = await as(root, `${url}/v1/records/4?encoding=utf8`);
    assert.equal(notText.status, 400);
    assert.match(notText.json<{ error: { message: string } }>().error.message, /offset 4 is not valid UTF-8/);
    const servers = await as(root, `${url}/v1/servers`);
    assert.deepEqual(servers.json(), { servers: [{ id: 'memory', rpcAddr: '', isLeader: true, isVoter: true }] });
  });

  it('answers an offset outside the log 404 with the bounds in the one error shape', async () => {
    const { url } = await start();
    await as(root, `${url}/v1/records`, '-d', '{"value": ""}');
    const r = await as(root, `${url}/v1/records/7`);
    assert.equal(r.status, 404);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(r.json(), {
      error: {
        code: 'offset-out-of-range',
        message: 'offset 7 is outside the log [0, 1)',
        details: { grpcStatus: 'OUT_OF_RANGE', offset: 7, lowestOffset: 0, nextOffset: 1 },
      },
    });
    const range = await as(root, `${url}/v1/records?from=5`);
    assert.equal(range.status, 404);
    assert.equal(range.json<{ error: { details: { nextOffset: number } } }>().error.details.nextOffset, 1);
  });

  it('answers 400 for input it cannot parse, naming the problem, and appends nothing', async () => {
    const { url, backend } = await start();
    const cases: [string[], RegExp][] = [
      [['-d', '{"value": '], /not valid JSON/],
      [['-d', '{"value": "not base64!"}'], /not valid base64/],
      [['-d', '{"vaule": "aGk="}'], /unknown field\(s\) "vaule"/],
      [['-d', '{"records": []}'], /non-empty array/],
      [['-d', '{"records": [{"value": "aGk="}, {"value": 3}]}'], /records\[1\]\.value must be a string/],
      [['-X', 'POST'], /a JSON body is required/],
    ];
    for (const [args, re] of cases) {
      const r = await as(root, `${url}/v1/records`, ...args);
      assert.equal(r.status, 400, `${args.join(' ')}: ${r.body}`);
      const e = r.json<{ error: { code: string; message: string; details: { grpcStatus: string } } }>().error;
      assert.equal(e.code, 'invalid-argument');
      assert.equal(e.details.grpcStatus, 'INVALID_ARGUMENT');
      assert.match(e.message, re);
    }
    assert.equal((await as(root, `${url}/v1/records/x`)).status, 400);
    assert.equal((await as(root, `${url}/v1/records?encoding=hex`)).status, 400);
    assert.equal(backend.bounds().next, 0);
  });

  it('answers 413 for a record over the limit (JSON or raw) with size and limit', async () => {
    const { url } = await start();
    const big = Buffer.alloc(MAX_RECORD + 1, 7);
    const j = await as(root, `${url}/v1/records`, '-d', JSON.stringify({ value: big.toString('base64') }));
    assert.equal(j.status, 413, j.body);
    assert.deepEqual(j.json<{ error: unknown }>().error, {
      code: 'record-too-large',
      message: `record of ${MAX_RECORD + 1} bytes exceeds the maximum record size of ${MAX_RECORD} bytes`,
      details: { grpcStatus: 'INVALID_ARGUMENT', recordSize: MAX_RECORD + 1, recordLimit: MAX_RECORD },
    });
    const raw = await curl(
      [...tlsArgs(root), `${url}/v1/records`, '-H', 'content-type: application/octet-stream', '--data-binary', '@-'],
      { input: big },
    );
    assert.equal(raw.status, 413, raw.body);
    assert.equal(raw.json<{ error: { code: string } }>().error.code, 'record-too-large');
  });

  it('refuses an oversized body while it streams in: a declared length before reading it, a chunked one after at most the limit', async () => {
    const { url, api } = await start();
    const limit = jsonBodyLimit(MAX_RECORD, resolveHttpApiConfig(httpApiConfigPresets.test));
    // Declared Content-Length (curl asks for 100 Continue first, and waits for it however loaded the machine is): refused unread.
    const declared = await curl(
      [
        ...tlsArgs(root),
        `${url}/v1/records`,
        '-H',
        'expect: 100-continue',
        '--expect100-timeout',
        '60',
        '--data-binary',
        '@-',
      ],
      { input: Buffer.alloc(8 * 1024 * 1024, 0x61) },
    );
    assert.equal(declared.status, 413, declared.body + declared.stderr);
    assert.match(
      declared.json<{ error: { message: string } }>().error.message,
      new RegExp(`request body of ${8 * 1024 * 1024} bytes exceeds the limit of ${limit} bytes`),
    );
    assert.equal(api.stats.body.maxBufferedBytes, 0, 'nothing of the declared body was buffered');
    // Chunked, no length: 64 MiB offered from a stream that ends when curl stops reading it.
    const offered = { bytes: 0 };
    const source = new Readable({
      read() {
        if (offered.bytes >= 64 * 1024 * 1024) this.push(null);
        else {
          offered.bytes += 64 * 1024;
          this.push(Buffer.alloc(64 * 1024, 0x61));
        }
      },
    });
    const chunked = await curl(
      [...tlsArgs(root), `${url}/v1/records`, '-H', 'transfer-encoding: chunked', '--data-binary', '@-'],
      { input: source },
    );
    source.destroy();
    assert.equal(chunked.status, 413, chunked.body + chunked.stderr);
    assert.match(
      chunked.json<{ error: { message: string } }>().error.message,
      /request body of at least \d+ bytes exceeds the limit/,
    );
    assert.ok(api.stats.body.maxBufferedBytes <= limit, `buffered ${api.stats.body.maxBufferedBytes} > limit ${limit}`);
    assert.equal(api.stats.body.refused, 2);
  });

  it('answers 401 without a client certificate or with one from another CA, 403 for a subject the ACL refuses', async () => {
    const { url, backend } = await start();
    for (const [who, t] of [
      ['no certificate', noCert],
      ['a certificate of another CA', stranger],
    ] as const) {
      const r = await as(t, `${url}/v1/records`, '-d', '{"value": "aGk="}');
      assert.equal(r.status, 401, `${who}: ${r.body}`);
      assert.deepEqual(r.json<{ error: unknown }>().error, {
        code: 'unauthenticated',
        message: "a valid client certificate signed by the server's client CA is required",
        details: { grpcStatus: 'UNAUTHENTICATED' },
      });
    }
    const p = await as(nobody, `${url}/v1/records`, '-d', '{"value": "aGk="}');
    assert.equal(p.status, 403);
    assert.deepEqual(p.json<{ error: unknown }>().error, {
      code: 'permission-denied',
      message: 'nobody not permitted to produce',
      details: { grpcStatus: 'PERMISSION_DENIED' },
    });
    const c = await as(nobody, `${url}/v1/records/0`);
    assert.equal(c.status, 403);
    assert.match(c.body, /nobody not permitted to consume/);
    const t = await as(nobody, `${url}/v1/records/tail?from=0`);
    assert.equal(t.status, 403);
    assert.equal(backend.bounds().next, 0);
  });

  it('answers 404 for an unknown path and 405 with Allow for a method the path does not take', async () => {
    const { url } = await start();
    const n = await as(root, `${url}/v2/records`);
    assert.equal(n.status, 404);
    assert.equal(n.json<{ error: { code: string } }>().error.code, 'not-found');
    const m = await as(root, '-X', 'DELETE', `${url}/v1/records`);
    assert.equal(m.status, 405);
    assert.equal(m.headers.allow, 'POST, GET');
  });

  it('answers 503 with Retry-After when the log cannot take writes', async () => {
    const { url, backend } = await start();
    await backend.close();
    const r = await as(root, `${url}/v1/records`, '-d', '{"value": "aGk="}');
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.deepEqual(r.json<{ error: unknown }>().error, {
      code: 'shutting-down',
      message: 'the server is shutting down',
      details: { grpcStatus: 'UNAVAILABLE' },
    });
  });

  it('answers a batch of which one record failed with that error and the offsets of the records that were appended', async () => {
    const backend = new MemoryBackend({ maxRecordBytes: MAX_RECORD });
    const produce = backend.produce.bind(backend);
    // A backend that loses leadership for exactly one record ("b1").
    backend.produce = (v: Uint8Array) =>
      Buffer.from(v).toString() === 'b1'
        ? Promise.reject(Object.assign(new Error('not the leader'), { code: 'no-leader' }))
        : produce(v);
    const { url } = await start({}, backend);
    const r = await as(
      root,
      `${url}/v1/records?encoding=utf8`,
      '-d',
      '{"records": [{"value": "b0"}, {"value": "b1"}, {"value": "b2"}]}',
    );
    assert.equal(r.status, 503);
    assert.deepEqual(r.json<{ error: unknown }>().error, {
      code: 'no-leader',
      message: 'not the leader',
      details: { grpcStatus: 'UNAVAILABLE', offsets: [0, null, 1] },
    });
  });

  it('tails from an offset as NDJSON while records are produced, and ends after max', async () => {
    const { url, backend } = await start();
    await backend.produce(Buffer.from('r0'));
    const tail = as(root, '-N', `${url}/v1/records/tail?from=0&max=50&encoding=utf8`);
    for (let i = 1; i < 50; i++) await backend.produce(Buffer.from(`r${i}`));
    const r = await tail;
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    const lines = r.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: { offset: number; value: string } });
    assert.deepEqual(
      lines.map((l) => l.record.offset),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      lines.map((l) => l.record.value),
      Array.from({ length: 50 }, (_, i) => `r${i}`),
    );
  });

  it('tail back-pressure: a client that stops reading stops the server reading the log, and gets everything once it reads again', async () => {
    const { api, backend } = await start({ tailBatchRecords: 16 });
    const value = Buffer.alloc(MAX_RECORD, 0x62);
    const total = 20_000; // ~27 MB of NDJSON: far more than the kernel's socket buffers
    for (let i = 0; i < total; i += 500) await Promise.all(Array.from({ length: 500 }, () => backend.produce(value)));
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port: api.port,
      ca: pki.ca.certPem,
      cert: pki.root.certPem,
      key: pki.root.keyPem,
      servername: 'localhost',
    });
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    socket.write('GET /v1/records/tail?from=0 HTTP/1.1\r\nhost: localhost\r\n\r\n');
    socket.pause();
    await until(() => api.stats.tail.waitingForDrain === 1, 'the tail to wait for drain', 30_000);
    const read = api.stats.tail.recordsRead;
    assert.ok(read < total, `the tail read all ${total} records although the client reads nothing`);
    // Above the kernel: at most the socket's high-water mark (64 KiB, Node's default since 22) plus one line.
    assert.ok(
      api.stats.tail.maxBufferedBytes <= 64 * 1024 + 2 * MAX_RECORD,
      `buffered ${api.stats.tail.maxBufferedBytes} bytes above the socket`,
    );
    // Resume: every record arrives, in order.
    let received = 0;
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const n = buf.lastIndexOf('\n');
      if (n < 0) return;
      for (const l of buf.slice(0, n).split('\n')) if (l.startsWith('{"record"')) received++;
      buf = buf.slice(n + 1);
    });
    socket.resume();
    await until(() => received === total, `all ${total} records at the client (got ${received})`, 60_000);
    assert.ok(api.stats.tail.pauses >= 1);
    socket.destroy();
  });

  it('disconnects a tail whose client reads nothing for tailStallTimeoutMs while data waits', async () => {
    const { api, backend } = await start({ tailStallTimeoutMs: 300 });
    const value = Buffer.alloc(MAX_RECORD, 0x63);
    for (let i = 0; i < 20_000; i += 500) await Promise.all(Array.from({ length: 500 }, () => backend.produce(value)));
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port: api.port,
      ca: pki.ca.certPem,
      cert: pki.root.certPem,
      key: pki.root.keyPem,
      servername: 'localhost',
    });
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    socket.write('GET /v1/records/tail?from=0 HTTP/1.1\r\nhost: localhost\r\n\r\n');
    socket.pause();
    await until(() => api.stats.tail.stalled === 1, 'the stalled tail to be disconnected', 30_000);
    await until(() => api.openRequests === 0, 'the request to end', 10_000);
    socket.destroy();
  });

  it('ends a tail with a shutting-down error line when the server closes', async () => {
    const r = await start();
    const tail = as(root, '-N', `${r.url}/v1/records/tail?from=0`);
    await until(() => r.api.openRequests === 1, 'the tail to be open', 10_000);
    await r.api.close();
    const out = await tail;
    assert.equal(out.status, 200);
    assert.deepEqual(JSON.parse(out.body.trim()), {
      error: { code: 'shutting-down', message: 'the server is shutting down', details: { grpcStatus: 'UNAVAILABLE' } },
    });
  });

  it('closes a connection whose headers do not arrive in time (408)', async () => {
    const { api } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 50 });
    const socket = connect({
      host: '127.0.0.1',
      port: api.port,
      ca: pki.ca.certPem,
      cert: pki.root.certPem,
      key: pki.root.keyPem,
      servername: 'localhost',
    });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    socket.write('GET /v1/servers HTTP/1.1\r\nhost: local'); // and never the rest
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.match(got, /^HTTP\/1\.1 408/);
  });

  it('serves a rotated server certificate on new connections without a restart', async () => {
    const r = await start();
    const fingerprint = async (): Promise<string> => {
      const s = connect({ host: '127.0.0.1', port: r.api.port, ca: pki.ca.certPem, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => (s.once('secureConnect', resolve), s.once('error', reject)));
      const f = s.getPeerCertificate().fingerprint256;
      s.destroy();
      return f;
    };
    const before = await fingerprint();
    const rotated = await issueServerCert(pki.ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    pki.rotateServer(rotated);
    r.provider.checkNow();
    await until(() => r.api.stats.tlsReloads === 1, 'the JSON API to install the new certificate');
    const after = await fingerprint();
    assert.notEqual(after, before);
    assert.equal((await as(root, `${r.url}/v1/servers`)).status, 200);
  });
});
