import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { freePort } from '../../agent/testing/processes.js';
import { startCliCluster, type CliCluster } from './cli-cluster.js';

describe('startCliCluster (the real-agent fixture of the metrics and dashboard tests)', function () {
  this.timeout(120_000);
  let cluster: CliCluster | undefined;
  let squatter: Server | undefined;
  afterEach(async () => {
    cluster?.destroy();
    cluster = undefined;
    await new Promise<void>((r) => (squatter ? squatter.close(() => r()) : r()));
    squatter = undefined;
  });

  it('starts a node again on new ports when a port it was given is taken before it binds', async () => {
    // GIVEN the first port handed out (n0's gossip port) is taken by another socket between
    // the check and the agent's bind, as the kernel can do on a busy machine.
    const taken = await freePort();
    const s = createServer();
    await new Promise<void>((r) => s.listen(taken, '127.0.0.1', () => r()));
    squatter = s;
    let handedOut = 0;
    const port = async (): Promise<number> => (handedOut++ === 0 ? taken : freePort());
    // WHEN the cluster starts THEN n0 is retried on new ports, bootstraps, and both nodes are ready.
    cluster = await startCliCluster({ size: 2, clusterId: 'cli-cluster-test', freePort: port });
    assert.equal(cluster.agents.length, 2);
    assert.ok(handedOut > 6, `ports of the retried start were handed out too (${handedOut})`);
  });
});
