import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigError } from './base-config.js';
import { resolveClusterAgentConfig } from './config.js';
import { ensureLocalPki, localPkiFlags, type LocalPki } from './local-pki.js';

describe('agent config: the CLI options plus the cluster options', function () {
  this.timeout(10_000);
  let dir: string;
  let pki: LocalPki;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-agent-config-'));
    pki = (await ensureLocalPki(dir)).paths;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves flags over env over the config file, with the cluster defaults', () => {
    const c = resolveClusterAgentConfig(
      { 'data-dir': dir, 'node-name': 'n1', 'start-join-addrs': 'a:1, b:2', ...localPkiFlags(pki) },
      { COMMITLOG_CLUSTER_ID: 'from-env', COMMITLOG_BOOTSTRAP: 'true' },
      { 'cluster-id': 'from-file', role: 'learner' },
    );
    assert.equal(c.clusterId, 'from-env');
    assert.equal(c.bootstrap, true);
    assert.equal(c.role, 'learner');
    assert.deepEqual(c.joinAddrs, ['a:1', 'b:2']);
    assert.equal(c.rpcPort, 8400);
    assert.equal(c.linearizableReads, false);
    assert.equal(c.gossipAdvertiseAddr, undefined);
  });

  it('serves the JSON API on 8403 by default, on any free port with 0, and not at all with "off"', () => {
    const base = { 'data-dir': dir, ...localPkiFlags(pki) };
    assert.equal(resolveClusterAgentConfig(base, {}, {}).jsonPort, 8403);
    assert.equal(resolveClusterAgentConfig({ ...base, 'json-port': '0' }, {}, {}).jsonPort, 0);
    assert.equal(resolveClusterAgentConfig(base, { COMMITLOG_JSON_PORT: 'off' }, {}).jsonPort, undefined);
    assert.equal(resolveClusterAgentConfig(base, {}, { 'json-port': 9403 }).jsonPort, 9403);
    assert.throws(
      () => resolveClusterAgentConfig({ ...base, 'json-port': 'none' }, {}, {}),
      /--json-port: expected an integer in \[0, 65535\], got "none"/,
    );
  });

  it('lists every problem at once, base and cluster options together', () => {
    const err = (() => {
      try {
        resolveClusterAgentConfig(
          {
            'data-dir': dir,
            insecure: true,
            role: 'boss',
            'cluster-id': 'bad id',
            'start-join-addrs': 'nohost',
            'gossip-advertise-addr': '10.0.0.1',
          },
          {},
          {},
        );
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof AgentConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /--role: expected one of voter\|learner/);
    assert.match(text, /--cluster-id/);
    assert.match(text, /--start-join-addrs: expected host:port/);
    assert.match(text, /a cluster needs mutual TLS/);
    assert.match(text, /--gossip-advertise-addr: expected host:port/);
  });

  it('every address option applies the same host:port rule (host:99999 is refused by all of them)', () => {
    const options = ['advertise-addr', 'external-addr', 'gossip-advertise-addr', 'start-join-addrs', 'bind-addr'];
    for (const option of options) {
      let err: unknown;
      try {
        resolveClusterAgentConfig(
          { 'data-dir': dir, 'node-name': 'n1', ...localPkiFlags(pki), [option]: 'host:99999' },
          {},
          {},
        );
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof AgentConfigError, `--${option} host:99999 must be refused`);
      assert.match(
        err.problems.join('\n'),
        new RegExp(`--${option}: expected host:port, got "host:99999": the port must be in \\d\\.\\.65535`),
      );
    }
  });

  it('a shared config file lets only the node named by bootstrap-node bootstrap', () => {
    const file = { bootstrap: true, 'bootstrap-node': 'demo-0' };
    const as = (name: string) =>
      resolveClusterAgentConfig({ 'data-dir': dir, 'node-name': name, ...localPkiFlags(pki) }, {}, file);
    assert.equal(as('demo-0').bootstrap, true);
    assert.equal(as('demo-1').bootstrap, false);
    assert.equal(
      resolveClusterAgentConfig(
        { 'data-dir': dir, 'node-name': 'demo-0', ...localPkiFlags(pki) },
        {},
        { bootstrap: false, 'bootstrap-node': 'demo-0' },
      ).bootstrap,
      false,
    );
  });

  it("reads the gossip key from a file and this node's external address from the mapping file", () => {
    const key = randomBytes(32).toString('base64');
    writeFileSync(join(dir, 'gossip-key'), `${key}\n`);
    writeFileSync(join(dir, 'external.yaml'), 'demo-0: 203.0.113.5:30400\n');
    const base = { 'data-dir': dir, ...localPkiFlags(pki) };
    const file = {
      'gossip-key-file': join(dir, 'gossip-key'),
      'external-addr-file': join(dir, 'external.yaml'),
      'segment-bytes': 1048576,
      'retention-hours': 2,
    };
    const c0 = resolveClusterAgentConfig({ ...base, 'node-name': 'demo-0' }, {}, file);
    assert.deepEqual(c0.gossipKeys, [key]);
    assert.equal(c0.externalAddr, '203.0.113.5:30400');
    assert.deepEqual(c0.log, { segmentBytes: 1048576, retentionBytes: 0, retentionMs: 2 * 3_600_000 });
    assert.equal(
      resolveClusterAgentConfig({ ...base, 'node-name': 'demo-1' }, {}, file).externalAddr,
      undefined,
      'no entry yet',
    );
  });

  it('refuses a gossip key file with a short key, a missing file and both key options', () => {
    writeFileSync(join(dir, 'short-key'), 'c2hvcnQ=');
    const problems = (file: Record<string, unknown>): string => {
      try {
        resolveClusterAgentConfig({ 'data-dir': dir, 'node-name': 'n', ...localPkiFlags(pki) }, {}, file);
      } catch (e) {
        if (e instanceof AgentConfigError) return e.problems.join('\n');
        throw e;
      }
      return '';
    };
    assert.match(problems({ 'gossip-key-file': join(dir, 'short-key') }), /gossip-key-file .*32 bytes/);
    assert.match(problems({ 'external-addr-file': join(dir, 'nope.yaml') }), /does not exist/);
    assert.match(
      problems({ 'gossip-key-file': join(dir, 'short-key'), 'gossip-key': randomBytes(32).toString('base64') }),
      /give one or neither/,
    );
    assert.match(problems({ 'segment-bytes': 'big' }), /segment-bytes.*integer/);
  });
});
