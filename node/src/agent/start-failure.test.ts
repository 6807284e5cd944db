/**
 * The agent's lifecycle (lifecycle.ts) on the real components: a start that fails at its
 * last component (the JSON API's port is taken) stops everything that had started, so
 * the same ports and data dir serve a new start at once.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { silentLogger } from '../observability/logger.js';
import { Agent, PortInUseError } from './agent.js';
import { resolveClusterAgentConfig } from './config.js';
import { TestAgents } from './testing/cluster.js';
import { freePort } from './testing/processes.js';
import { ensureNodeCert, localPkiFlags } from './local-pki.js';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

async function listen(port: number): Promise<Server> {
  const s = createServer();
  s.listen(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

describe('agent lifecycle: a failed start stops what started', function () {
  this.timeout(60_000);
  let agents: TestAgents;
  before(async () => {
    agents = await TestAgents.create();
  });
  after(() => rmSync(agents.root, { recursive: true, force: true }));

  it('a JSON API port in use fails the start with PortInUseError and frees every other port and the data dir', async () => {
    const [rpc, gossip, http, json] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const taken = await listen(json);
    const config = async (jsonPort: number | 'off') =>
      resolveClusterAgentConfig(
        {
          'node-name': 'n0',
          'data-dir': join(agents.root, 'n0'),
          'bind-addr': `127.0.0.1:${gossip}`,
          'rpc-port': rpc,
          'http-port': http,
          'json-port': jsonPort,
          'cluster-id': 'test',
          'raft-preset': 'test',
          'gossip-preset': 'local',
          bootstrap: true,
          'request-log-level': 'silent',
          ...localPkiFlags(agents.pki, await ensureNodeCert(agents.pki, 'n0')),
        },
        {},
        {},
      );
    try {
      await assert.rejects(Agent.start(await config(json), silentLogger()), PortInUseError);
    } finally {
      taken.close();
    }
    // Every port the failed start had bound is free again.
    for (const port of [rpc, http, gossip]) (await listen(port)).close();
    const agent = await Agent.start(await config('off'), silentLogger());
    try {
      assert.equal(agent.rpcPort, rpc);
      assert.equal(agent.httpPort, http);
    } finally {
      await agent.stop();
    }
  });
});
