/**
 * Message sizes that fit every client: a real `commitlog agent` with its DEFAULT maximum
 * record size, and a grpc-js client with DEFAULT channel options (4 MiB receive limit, as
 * grpc-go, grpc-java and grpcurl have). The record size is not taken from our constants:
 * the test asks the server for its limit (the `commitlog-record-limit` of a refused
 * oversized record), produces a record of exactly that size and reads it back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { ensureLocalPki, localPkiFlags, type LocalPki } from '../agent/local-pki.js';
import { eventually } from '../agent/testing/cluster.js';
import { freePort } from '../agent/testing/processes.js';
import { startCliAgent, type CliAgent } from './testing/fixtures.js';
import {
  ConsumeResponse as ConsumeResponseCodec,
  LogClient,
  type ConsumeResponse,
  type ProduceResponse,
} from '../gen/v1/log.js';
import { defaultLogConfig } from '../log/index.js';
import { clientCredentials } from '../tls/credentials.js';
import { ErrorMetadataKeys } from '../server/errors.js';
import {
  DEFAULT_MAX_RECORD_BYTES,
  GRPC_DEFAULT_MAX_MESSAGE_BYTES,
  maxConsumeResponseBytes,
  readableByDefaultClients,
  serverMessageLimits,
} from '../server/limits.js';
import { call } from '../server/testing/fixtures.js';

describe('message sizes: every record the server accepts fits a default client', function () {
  this.timeout(120_000);
  let dir: string;
  let pki: LocalPki;
  let agent: CliAgent;
  let client: LogClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-limits-'));
    pki = (await ensureLocalPki(dir)).paths;
    const config = join(dir, 'node.yaml');
    writeFileSync(
      config,
      'cluster-id: limits-test\nraft-preset: test\ngossip-preset: local\nrequest-log-level: silent\n',
    );
    agent = await startCliAgent([
      'agent',
      '--bootstrap',
      '--node-name',
      'n0',
      '--data-dir',
      join(dir, 'data'),
      '--config-file',
      config,
      '--bind-addr',
      `127.0.0.1:${await freePort()}`,
      '--rpc-port',
      String(await freePort()),
      '--http-port',
      String(await freePort()),
      ...Object.entries(localPkiFlags(pki)).flatMap(([k, v]) => [`--${k}`, v]),
    ]);
    await eventually(
      'readyz 200',
      async () => (await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`)).status === 200,
      60_000, // a bound for a loaded machine, not a condition
    );
    // DEFAULT channel options: no max message lengths (grpc-js: 4 MiB receive, unlimited send).
    client = new LogClient(
      `127.0.0.1:${agent.rpcPort}`,
      clientCredentials({ caFile: pki.ca, certFile: pki.rootCert, keyFile: pki.rootKey }, false),
      {
        'grpc.ssl_target_name_override': 'localhost', // (a name, not an IP, as TLS servername: no DEP0123)
      },
    );
  });

  after(() => {
    client?.close();
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const produce = (bytes: number, fill: number): Promise<ProduceResponse> =>
    call<ProduceResponse>((cb) =>
      client.produce({ record: { value: Buffer.alloc(bytes, fill), offset: 0, term: 0, type: 0 } }, cb),
    );

  it("a record of the server's maximum size is read back through Consume and ConsumeStream at default limits", async () => {
    // The server's limit, as it states it when refusing a record one byte larger than 4 MiB.
    const refused = await produce(GRPC_DEFAULT_MAX_MESSAGE_BYTES + 1, 0).then(
      () => assert.fail('a record over 4 MiB was accepted'),
      (err: ServiceError) => err,
    );
    assert.equal(refused.code, Status.INVALID_ARGUMENT, refused.details);
    const limit = Number(refused.metadata.get(ErrorMetadataKeys.limit)[0]);
    assert.ok(limit > 0, 'the refusal names the limit');

    const { offset } = await produce(limit, 0xab);
    const unary = await call<ConsumeResponse>((cb) => client.consume({ offset }, cb));
    assert.equal(unary.record?.value.length, limit);
    assert.ok(unary.record?.value.every((b) => b === 0xab));

    const stream = client.consumeStream({ offset });
    const first = await new Promise<ConsumeResponse>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.cancel();
    stream.on('error', () => {}); // the CANCELLED status of our own cancel
    assert.equal(first.record?.offset, offset);
    assert.equal(first.record?.value.length, limit);
  });

  it('the framing bound holds for the largest offsets and terms, and the log and CLI defaults agree', () => {
    const worst = ConsumeResponseCodec.encode({
      record: {
        value: Buffer.alloc(DEFAULT_MAX_RECORD_BYTES),
        offset: Number.MAX_SAFE_INTEGER,
        term: Number.MAX_SAFE_INTEGER,
        type: 0xffff_ffff,
      },
    }).finish();
    assert.ok(
      worst.length <= maxConsumeResponseBytes(DEFAULT_MAX_RECORD_BYTES),
      `${worst.length} > ${maxConsumeResponseBytes(DEFAULT_MAX_RECORD_BYTES)}`,
    );
    assert.ok(worst.length <= GRPC_DEFAULT_MAX_MESSAGE_BYTES);
    assert.equal(defaultLogConfig.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES);
    assert.equal(readableByDefaultClients(GRPC_DEFAULT_MAX_MESSAGE_BYTES), false);
    assert.deepEqual(serverMessageLimits(512, 1024), { receive: 1536, send: GRPC_DEFAULT_MAX_MESSAGE_BYTES });
  });
});
