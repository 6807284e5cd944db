import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigError } from '../cli/agent-config.js';
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

  it('lists every problem at once, base and cluster options together', () => {
    const err = (() => {
      try {
        resolveClusterAgentConfig({ 'data-dir': dir, insecure: true, role: 'boss', 'cluster-id': 'bad id', 'start-join-addrs': 'nohost', 'gossip-advertise-addr': '10.0.0.1' }, {}, {});
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
});
