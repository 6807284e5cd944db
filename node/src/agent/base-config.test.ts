import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigError, readConfigFile, resolveAgentConfig } from './base-config.js';

describe('agent configuration (flags, env, YAML)', () => {
  let dir: string;
  let tls: Record<string, string>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-cfg-'));
    for (const f of ['cert.pem', 'key.pem', 'ca.pem', 'model.conf', 'policy.csv']) writeFileSync(join(dir, f), '');
    tls = {
      'server-tls-cert-file': join(dir, 'cert.pem'),
      'server-tls-key-file': join(dir, 'key.pem'),
      'server-tls-ca-file': join(dir, 'ca.pem'),
    };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const problems = (fn: () => unknown): readonly string[] => {
    try {
      fn();
    } catch (err) {
      if (err instanceof AgentConfigError) return err.problems;
      throw err;
    }
    return assert.fail('expected AgentConfigError');
  };

  it("uses the book's defaults: RPC 8400, gossip 8401, HTTP 8402", () => {
    const c = resolveAgentConfig({ 'data-dir': dir, insecure: true }, {}, {});
    assert.equal(c.rpcPort, 8400);
    assert.equal(c.gossipPort, 8401);
    assert.equal(c.httpPort, 8402);
    assert.equal(c.advertiseAddr, '127.0.0.1:8400');
  });

  it('keeps the per-request log line off at the default log level (request lines at debug, logs at info)', () => {
    const c = resolveAgentConfig({ 'data-dir': dir, insecure: true }, {}, {});
    assert.deepEqual([c.logLevel, c.requestLogLevel], ['info', 'debug']);
    assert.equal(
      resolveAgentConfig({ 'data-dir': dir, insecure: true, 'request-log-level': 'info' }, {}, {}).requestLogLevel,
      'info',
    );
  });

  it('takes a flag over the environment over the config file', () => {
    const file = { 'rpc-port': 1, 'http-port': 2, 'node-name': 'from-file', 'data-dir': dir, ...tls };
    const env = { COMMITLOG_RPC_PORT: '10', COMMITLOG_HTTP_PORT: '20' };
    const c = resolveAgentConfig({ 'rpc-port': '100' }, env, file);
    assert.equal(c.rpcPort, 100);
    assert.equal(c.httpPort, 20);
    assert.equal(c.nodeName, 'from-file');
    assert.equal(c.serverTls?.caFile, join(dir, 'ca.pem'));
  });

  it('requires TLS unless --insecure, and names every problem with its source', () => {
    const p = problems(() =>
      resolveAgentConfig(
        { 'data-dir': dir, 'acl-model-file': join(dir, 'model.conf') },
        { COMMITLOG_RPC_PORT: 'abc' },
        {},
      ),
    );
    assert.ok(
      p.some((s) => s.startsWith('TLS is required')),
      p.join('\n'),
    );
    assert.ok(
      p.some((s) => s.startsWith('COMMITLOG_RPC_PORT: expected an integer')),
      p.join('\n'),
    );
    assert.ok(
      p.some((s) => s.includes('--acl-model-file and --acl-policy-file: give both')),
      p.join('\n'),
    );
  });

  it('reports missing files and a cert without its key', () => {
    const p = problems(() =>
      resolveAgentConfig({ 'data-dir': dir, 'server-tls-cert-file': join(dir, 'nope.pem') }, {}, {}),
    );
    assert.ok(p.some((s) => s.includes('nope.pem does not exist')));
    assert.ok(p.some((s) => s.includes('give both or neither')));
  });

  it('reads a YAML config file and rejects unknown keys', () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, `data-dir: ${dir}\nrpc-port: 9400\ninsecure: true\n`);
    assert.equal(resolveAgentConfig({}, {}, readConfigFile(good)).rpcPort, 9400);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'data-dirr: /x\n');
    assert.throws(() => readConfigFile(bad), /unknown option "data-dirr"/);
  });

  it("reads a config file against the caller's list of known keys (the cluster agent adds its own)", () => {
    const f = join(dir, 'cluster.yaml');
    writeFileSync(f, 'data-dir: /x\ncluster-id: c1\n');
    assert.throws(() => readConfigFile(f), /unknown option "cluster-id"/);
    assert.deepEqual(readConfigFile(f, ['data-dir', 'cluster-id']), { 'data-dir': '/x', 'cluster-id': 'c1' });
    assert.throws(
      () => readConfigFile(f, ['data-dir']),
      (err: unknown) => err instanceof AgentConfigError && err.problems.length === 1,
    );
  });

  it('refuses a file that is not a YAML mapping, naming the file', () => {
    const f = join(dir, 'list.yaml');
    writeFileSync(f, '- a\n- b\n');
    assert.throws(() => readConfigFile(f), /list\.yaml: must be a YAML mapping/);
    assert.throws(() => readConfigFile(join(dir, 'missing.yaml')), /--config-file .*missing\.yaml: /);
  });
});
