/**
 * Metrics that pass lint, on a running node: two real `commitlog agent` processes (so gossip
 * and Raft traffic flow and every labelled series exists), their /metrics piped through
 * `promtool check metrics` (Prometheus' own promtool, built from its Go module by
 * test/tools/build.sh). Plus the OpenMetrics exposition when a scraper asks for it.
 */
import assert from 'node:assert/strict';
import { eventually } from '../../node/src/agent/testing/cluster.js';
import { startCliCluster, type CliCluster } from '../../node/src/cli/testing/cli-cluster.js';
import type { CliAgent } from '../../node/src/cli/testing/fixtures.js';
import { ensureTools, runTool, type Tools } from './tools.js';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

describe("a running node's /metrics pass promtool's lint, and OpenMetrics is served when asked", function () {
  this.timeout(600_000);
  let tools: Tools;
  let cluster: CliCluster | undefined;
  let agents: readonly CliAgent[] = [];

  before(async () => {
    tools = await ensureTools();
    cluster = await startCliCluster({ size: 2, clusterId: 'metrics-test' });
    agents = cluster.agents;
  });

  after(() => cluster?.destroy());

  const scrape = async (a: CliAgent, accept?: string): Promise<{ type: string; text: string }> => {
    const res = await fetch(`http://127.0.0.1:${a.httpPort}/metrics`, accept ? { headers: { accept } } : {});
    assert.equal(res.status, 200);
    return { type: res.headers.get('content-type') ?? '', text: await res.text() };
  };

  it('promtool check metrics finds no problem on either node', async function () {
    if (!tools.ok) {
      console.log(`    SKIPPED: promtool could not be built, so the lint cannot run: ${tools.reason}`);
      this.skip();
    }
    for (const a of agents) {
      const { text } = await scrape(a);
      assert.match(text, /commitlog_gossip_packets_total\{direction="received"\} [1-9]/, 'gossip traffic is counted');
      const r = await runTool(tools.path('promtool'), ['check', 'metrics'], { input: text });
      assert.equal(r.code, 0, `promtool check metrics problems:\n${r.stdout}${r.stderr}`);
    }
  });

  it('gossip and Raft counters are counters (TYPE counter, never decreasing), with units in their names', async () => {
    const { text } = await scrape(agents[0] as CliAgent);
    for (const family of [
      'commitlog_gossip_bytes_total',
      'commitlog_gossip_packets_total',
      'commitlog_gossip_protocol_total',
      'commitlog_gossip_packets_dropped_total',
      'commitlog_produce_total',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${family} counter$`, 'm'), `${family} is a counter`);
    }
    assert.match(text, /^# TYPE commitlog_raft_follower_lag_entries gauge$/m);
    // The agent subscribes to the Raft node's fsync rounds (RaftNode.onFsync): the bootstrap and the
    // join committed entries, each made durable by at least one round.
    assert.match(
      text,
      /^commitlog_log_fsync_duration_seconds_count [1-9]/m,
      "the Raft node's fsync rounds reach the histogram",
    );
    const value = (t: string): number => Number(/commitlog_gossip_bytes_total\{direction="sent"\} (\d+)/.exec(t)?.[1]);
    const before = value(text);
    await eventually(
      'more gossip bytes sent',
      async () => value((await scrape(agents[0] as CliAgent)).text) > before,
      10_000,
    );
  });

  it('answers OpenMetrics to an Accept header that asks for it, and the text format otherwise', async () => {
    const om = await scrape(
      agents[0] as CliAgent,
      'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
    );
    assert.equal(om.type, OPENMETRICS);
    assert.match(
      om.text,
      /^# TYPE commitlog_gossip_bytes counter$/m,
      'OpenMetrics names the counter family without _total',
    );
    assert.match(om.text, /^commitlog_gossip_bytes_total\{direction="sent"\} \d+$/m);
    assert.ok(om.text.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
    const plain = await scrape(agents[0] as CliAgent, 'text/plain');
    assert.match(plain.type, /^text\/plain; version=0\.0\.4/);
    assert.ok(!plain.text.includes('# EOF'));
  });
});
