/**
 * The tools people already use, against a real `commitlog agent` (a cluster of one, mutual
 * TLS, the example ACL): grpcurl and grpc_health_probe built from their Go modules
 * (test/tools/build.sh). grpcurl gets no -proto/-import-path flags: everything it knows
 * comes from server reflection. The commands are the README's, with the test's ports and
 * certificate paths.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalPki, localPkiFlags, type LocalPki } from '../../node/src/agent/local-pki.js';
import { eventually } from '../../node/src/agent/testing/cluster.js';
import { freePort } from '../../node/src/agent/testing/processes.js';
import { startCliAgent, type CliAgent } from '../../node/src/cli/testing/fixtures.js';
import { MemoryBackend } from '../../node/src/server/memory-backend.js';
import { createTestPki, startTestServer } from '../../node/src/server/testing/fixtures.js';
import { ensureTools, runTool, type Tools } from './tools.js';

describe('grpcurl and grpc_health_probe against a real agent (no .proto files)', function () {
  this.timeout(600_000);
  let tools: Tools;
  let dir: string;
  let pki: LocalPki;
  let agent: CliAgent | undefined;
  /** `grpcurl <TLS flags> <flags> <agent address> <verb…>` as the README writes it. */
  let grpcurl: (
    flags: readonly string[],
    verb: readonly string[],
    cn?: 'root' | 'nobody',
  ) => ReturnType<typeof runTool>;

  before(async function () {
    tools = await ensureTools();
    if (!tools.ok) {
      console.log(`    SKIPPED: the tools could not be built, so grpcurl cannot be tested: ${tools.reason}`);
      this.skip();
    }
    const bin = tools.path('grpcurl');
    dir = mkdtempSync(join(tmpdir(), 'commitlog-grpcurl-'));
    pki = (await ensureLocalPki(dir)).paths;
    const config = join(dir, 'node.yaml');
    writeFileSync(config, 'cluster-id: grpcurl-test\nraft-preset: test\ngossip-preset: local\n');
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
    const a = agent;
    await eventually(
      'readyz 200',
      async () => (await fetch(`http://127.0.0.1:${a.httpPort}/readyz`)).status === 200,
      15_000,
    );
    grpcurl = (flags, verb, cn = 'root') =>
      runTool(bin, [
        '-cacert',
        pki.ca,
        '-cert',
        cn === 'root' ? pki.rootCert : pki.nobodyCert,
        '-key',
        cn === 'root' ? pki.rootKey : pki.nobodyKey,
        ...flags,
        `127.0.0.1:${a.rpcPort}`,
        ...verb,
      ]);
  });

  after(() => {
    if (agent && agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('`grpcurl list` lists the Log, Admin and Health services', async () => {
    const r = await grpcurl([], ['list']);
    assert.equal(r.code, 0, r.stderr);
    const services = r.stdout.trim().split('\n');
    for (const s of ['log.v1.Log', 'log.v1.Admin', 'grpc.health.v1.Health'])
      assert.ok(services.includes(s), `${s} missing from:\n${r.stdout}`);
  });

  it("`grpcurl describe` shows the methods and messages, with the protos' comments", async () => {
    const svc = await grpcurl([], ['describe', 'log.v1.Log']);
    assert.equal(svc.code, 0, svc.stderr);
    assert.match(svc.stdout, /rpc Produce \( \.log\.v1\.ProduceRequest \) returns \( \.log\.v1\.ProduceResponse \);/);
    assert.match(
      svc.stdout,
      /rpc ConsumeStream \( \.log\.v1\.ConsumeRequest \) returns \( stream \.log\.v1\.ConsumeResponse \);/,
    );
    const msg = await grpcurl([], ['describe', 'log.v1.Record']);
    assert.equal(msg.code, 0, msg.stderr);
    assert.match(msg.stdout, /bytes value = 1;/);
    assert.match(msg.stdout, /Record is one entry of the log\./, 'comments travel with the descriptors (source info)');
  });

  it('Produce and Consume with JSON bodies, no -proto flags', async () => {
    const p = await grpcurl(['-d', '{"record": {"value": "aGVsbG8="}}'], ['log.v1.Log/Produce']);
    assert.equal(p.code, 0, p.stderr);
    const offset = Number((JSON.parse(p.stdout) as { offset?: string }).offset ?? 0);
    const c = await grpcurl(['-d', JSON.stringify({ offset })], ['log.v1.Log/Consume']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((JSON.parse(c.stdout) as { record: { value: string } }).record.value, 'aGVsbG8=');
  });

  it("an error's google.rpc.ErrorInfo is decoded (reason, domain, bounds)", async () => {
    const r = await grpcurl(['-d', '{"offset": 1000}'], ['log.v1.Log/Consume']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Code: OutOfRange/);
    assert.match(r.stderr, /"@type": "type\.googleapis\.com\/google\.rpc\.ErrorInfo"/);
    assert.match(r.stderr, /"reason": "OFFSET_OUT_OF_RANGE"/);
    assert.match(r.stderr, /"domain": "commitlog\.dev"/);
    assert.match(r.stderr, /"next_offset": "1"/);
  });

  it('reflection is behind the ACL: nobody is refused', async () => {
    const r = await grpcurl([], ['list'], 'nobody');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /nobody not permitted to consume/);
  });

  it('`grpc_health_probe` over TLS (no client certificate) answers SERVING', async () => {
    assert.ok(tools.ok && agent);
    const r = await runTool(tools.path('grpc_health_probe'), [
      '-addr',
      `127.0.0.1:${agent.rpcPort}`,
      '-tls',
      '-tls-ca-cert',
      pki.ca,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /status: SERVING/);
  });

  it("`grpc_health_probe` in plaintext (the kubelet's route) answers SERVING for log.v1.Log (readiness)", async () => {
    assert.ok(tools.ok && agent);
    const r = await runTool(tools.path('grpc_health_probe'), [
      '-addr',
      `127.0.0.1:${agent.rpcPort}`,
      '-service',
      'log.v1.Log',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /status: SERVING/);
  });
});

describe('server reflection can be turned off', function () {
  this.timeout(600_000);

  it('with reflection: false, grpcurl says the server does not support reflection', async function () {
    const tools = await ensureTools();
    if (!tools.ok) {
      console.log(`    SKIPPED: the tools could not be built: ${tools.reason}`);
      this.skip();
    }
    const pki = await createTestPki();
    const s = await startTestServer(pki, new MemoryBackend(), { config: { reflection: false } });
    try {
      const r = await runTool(tools.path('grpcurl'), [
        '-cacert',
        join(pki.dir, 'ca.pem'),
        '-servername',
        'localhost',
        s.address,
        'list',
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /does not support the reflection API/);
    } finally {
      await s.stop();
      pki.cleanup();
    }
  });
});
