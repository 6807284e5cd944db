/**
 * The Grafana dashboard against reality: a Prometheus server built from its Go module
 * (test/tools/build.sh prometheus) scrapes a real 3-node cluster (`commitlog agent`
 * processes on free ports) while a client produces and consumes, and every query of every
 * panel (operator/cdk8s/dashboard.ts, the source of docs/grafana-dashboard.json) must return
 * data through Prometheus' HTTP API. Grafana's variables are replaced as Grafana would:
 * `$namespace` by the "All" value `.*`, `$__rate_interval` by a window of several scrapes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARD_PANELS } from '../../operator/cdk8s/dashboard.js';
import { eventually } from '../../node/src/agent/testing/cluster.js';
import { freePort } from '../../node/src/agent/testing/processes.js';
import { startCliCluster, type CliCluster } from '../../node/src/cli/testing/cli-cluster.js';
import type { CliAgent } from '../../node/src/cli/testing/fixtures.js';
import { CommitLogClient } from '../../node/src/client/index.js';
import { clientCredentials } from '../../node/src/tls/credentials.js';
import { ensurePrometheus, type Tools } from './tools.js';

const SCRAPE_SECONDS = 1;

/** Prometheus' answers change once a scrape: poll it every 250 ms, not at `eventually`'s default. */
const POLL_MS = 250;
const until = (what: string, f: () => Promise<boolean>, ms: number): Promise<boolean> =>
  eventually(what, f, ms, POLL_MS);
const RATE_INTERVAL = '15s';

/** A dashboard expression as Grafana sends it with namespace "All". */
export function grafanaExpr(expr: string): string {
  return expr.replaceAll('$namespace', '.*').replaceAll('$__rate_interval', RATE_INTERVAL);
}

interface QueryResult {
  readonly status: string;
  readonly error?: string;
  readonly data?: { readonly result: readonly { readonly value: readonly [number, string] }[] };
}

describe('the Grafana dashboard: every query returns data from a Prometheus scraping a real 3-node cluster', function () {
  this.timeout(900_000);
  let tools: Tools;
  let cluster: CliCluster | undefined;
  let agents: readonly CliAgent[] = [];
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let client: CommitLogClient | undefined;
  let load: Promise<void> | undefined;
  let stopping = false;

  before(async function () {
    tools = await ensurePrometheus();
    if (!tools.ok) {
      console.log(`    SKIPPED: Prometheus could not be built, so the dashboard cannot be checked: ${tools.reason}`);
      this.skip();
    }
    cluster = await startCliCluster({ size: 3, clusterId: 'dashboard-test' });
    agents = cluster.agents;
    const { dir, pki } = cluster;

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        `  scrape_interval: ${SCRAPE_SECONDS}s`,
        `  scrape_timeout: ${SCRAPE_SECONDS}s`,
        'scrape_configs:',
        '  - job_name: commitlog',
        '    static_configs:',
        `      - targets: [${agents.map((a) => `'127.0.0.1:${a.httpPort}'`).join(', ')}]`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      tools.path('prometheus'),
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let promErr = '';
    prometheus.stderr?.on('data', (d: Buffer) => (promErr = (promErr + d.toString()).slice(-4000)));
    await until(
      'Prometheus ready',
      async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200,
      60_000,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nPrometheus stderr:\n${promErr}`);
    });

    // Load for the rate and latency panels: produce, consume it back, and one read past the
    // end (OUT_OF_RANGE) for the failed-calls panel; until the test ends.
    const a0 = agents[0] as CliAgent;
    client = new CommitLogClient({
      target: `127.0.0.1:${a0.rpcPort}`,
      credentials: clientCredentials({ caFile: pki.ca, certFile: pki.rootCert, keyFile: pki.rootKey }),
      channelOptions: { 'grpc.ssl_target_name_override': 'localhost' },
    });
    const c = client;
    load = (async () => {
      while (!stopping) {
        const offset = await c.produce(Buffer.from(`dashboard-${Date.now()}`));
        await c.consume(offset);
        await c.consume(offset + 1000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });

  after(async () => {
    stopping = true;
    await load?.catch(() => undefined);
    client?.close();
    prometheus?.kill('SIGKILL');
    cluster?.destroy();
  });

  const query = async (expr: string): Promise<QueryResult> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(grafanaExpr(expr))}`);
    return (await res.json()) as QueryResult;
  };

  it('Prometheus scrapes all three nodes', async () => {
    await until(
      'three targets up',
      async () => {
        const r = await query('sum(up{job="commitlog"})');
        return r.data?.result[0]?.value[1] === '3';
      },
      60_000,
    );
  });

  for (const panel of DASHBOARD_PANELS) {
    it(`panel "${panel.title}": every query returns a number`, async () => {
      for (const q of panel.queries) {
        let last: QueryResult | undefined;
        await until(
          `${q.expr} returns a finite value`,
          async () => {
            last = await query(q.expr);
            assert.equal(last.status, 'success', `Prometheus refused ${grafanaExpr(q.expr)}: ${last.error ?? ''}`);
            return (last.data?.result ?? []).some((s) => Number.isFinite(Number(s.value[1])));
          },
          30_000,
        ).catch(async (e: unknown) => {
          // What Prometheus holds of the metrics the query reads, to tell a missing series from an empty window.
          const names = [...new Set(q.expr.match(/commitlog_[a-z_]+/g) ?? [])];
          const held = await Promise.all(
            names.map(
              async (n) =>
                `${n}: ${JSON.stringify((await query(`count_over_time(${n}[1m])`)).data?.result.slice(0, 3))}`,
            ),
          );
          throw new Error(`${(e as Error).message}; last answer: ${JSON.stringify(last)}; held: ${held.join('; ')}`);
        });
      }
    });
  }
});
