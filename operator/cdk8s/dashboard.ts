/**
 * The Grafana dashboard of commitlog nodes, synthesized (`npm run synth`) into
 * `docs/grafana-dashboard.json` and the Helm chart (`files/grafana-dashboard.json`, shipped as
 * a ConfigMap labelled `grafana_dashboard` for Grafana's dashboard sidecar).
 *
 * Every query uses only metrics the node exports (node/src/observability/metrics.ts,
 * node/src/agent/metrics.ts, node/src/gossip/shell/prometheus.ts), and
 * test/tools/dashboard.test.ts runs each one against a Prometheus scraping a real 3-node
 * cluster: all of them must return data. Leader changes have no counter of their own; they
 * are the changes of `commitlog_raft_is_leader` (one series per node flips at each change).
 */

/** One query of a panel. */
export interface DashboardQuery {
  readonly expr: string;
  /** Grafana legend template. */
  readonly legend: string;
}

/** One time-series panel. */
export interface DashboardPanel {
  readonly title: string;
  readonly description: string;
  /** Grafana unit id (`s`, `bytes`, `reqps`, `short`, `none`). */
  readonly unit: string;
  readonly queries: readonly DashboardQuery[];
}

/** Label matcher every query carries: the namespace variable (`.*` = all, also series without the label). */
const S = 'namespace=~"$namespace"';
const PRODUCE = 'method=~"/log.v1.Log/Produce(Stream)?"';
const CONSUME = 'method=~"/log.v1.Log/Consume(Stream)?"';
const rate = (selector: string): string => `rate(${selector}[$__rate_interval])`;
const quantile = (q: number, metric: string, by: string): string =>
  `histogram_quantile(${q}, sum by (${by}) (${rate(metric)}))`;

/** The panels, in dashboard order (two per row). */
export const DASHBOARD_PANELS: readonly DashboardPanel[] = [
  {
    title: 'Raft leader',
    description: '1 on the node that is the Raft leader; the term beside it.',
    unit: 'none',
    queries: [
      { expr: `max by (namespace, instance) (commitlog_raft_is_leader{${S}})`, legend: '{{namespace}} {{instance}}' },
      { expr: `max by (namespace) (commitlog_raft_term{${S}})`, legend: 'term {{namespace}}' },
    ],
  },
  {
    title: 'Leader changes',
    description:
      'Leadership changes per interval (flips of commitlog_raft_is_leader: a change moves it on two nodes, counted as two).',
    unit: 'short',
    queries: [
      {
        expr: `sum by (namespace) (changes(commitlog_raft_is_leader{${S}}[$__rate_interval]))`,
        legend: '{{namespace}}',
      },
    ],
  },
  {
    title: 'Commit lag',
    description: 'Entries in each node’s Raft log not yet committed (last index − commit index).',
    unit: 'short',
    queries: [
      {
        expr: `max by (namespace, instance) (commitlog_raft_last_index{${S}} - commitlog_raft_commit_index{${S}})`,
        legend: '{{namespace}} {{instance}}',
      },
    ],
  },
  {
    title: 'Apply lag',
    description: 'Committed entries each node has not applied yet (consumers read up to the applied index).',
    unit: 'short',
    queries: [
      {
        expr: `max by (namespace, instance) (commitlog_raft_commit_index{${S}} - commitlog_raft_applied_index{${S}})`,
        legend: '{{namespace}} {{instance}}',
      },
    ],
  },
  {
    title: 'Replication lag (leader’s view)',
    description: 'Entries each member is behind the leader, as the leader sees it.',
    unit: 'short',
    queries: [
      {
        expr: `max by (namespace, peer) (commitlog_raft_follower_lag_entries{${S}})`,
        legend: '{{namespace}} {{peer}}',
      },
    ],
  },
  {
    title: 'Raft members',
    description: 'Members of the Raft configuration by suffrage (voter, learner).',
    unit: 'short',
    queries: [
      { expr: `max by (namespace, suffrage) (commitlog_raft_members{${S}})`, legend: '{{namespace}} {{suffrage}}' },
    ],
  },
  {
    title: 'Produce and consume rate',
    description: 'Produce and Consume calls per second (unary and streaming), all status codes.',
    unit: 'reqps',
    queries: [
      {
        expr: `sum by (namespace) (${rate(`commitlog_grpc_requests_total{${S}, ${PRODUCE}}`)})`,
        legend: 'produce {{namespace}}',
      },
      {
        expr: `sum by (namespace) (${rate(`commitlog_grpc_requests_total{${S}, ${CONSUME}}`)})`,
        legend: 'consume {{namespace}}',
      },
    ],
  },
  {
    title: 'Failed calls',
    description: 'gRPC calls per second that ended with a status other than OK, by method and status.',
    unit: 'reqps',
    queries: [
      {
        expr: `sum by (namespace, method, code) (${rate(`commitlog_grpc_requests_total{${S}, code!="OK"}`)})`,
        legend: '{{namespace}} {{method}} {{code}}',
      },
    ],
  },
  {
    title: 'Produce latency',
    description: 'Produce call duration quantiles (until the record is committed).',
    unit: 's',
    queries: [
      {
        expr: quantile(0.5, `commitlog_grpc_request_duration_seconds_bucket{${S}, ${PRODUCE}}`, 'namespace, le'),
        legend: 'p50 {{namespace}}',
      },
      {
        expr: quantile(0.99, `commitlog_grpc_request_duration_seconds_bucket{${S}, ${PRODUCE}}`, 'namespace, le'),
        legend: 'p99 {{namespace}}',
      },
    ],
  },
  {
    title: 'Consume latency',
    description: 'Consume call duration quantiles.',
    unit: 's',
    queries: [
      {
        expr: quantile(0.5, `commitlog_grpc_request_duration_seconds_bucket{${S}, ${CONSUME}}`, 'namespace, le'),
        legend: 'p50 {{namespace}}',
      },
      {
        expr: quantile(0.99, `commitlog_grpc_request_duration_seconds_bucket{${S}, ${CONSUME}}`, 'namespace, le'),
        legend: 'p99 {{namespace}}',
      },
    ],
  },
  {
    title: 'Fsync latency',
    description: 'Duration of one group-commit sync of the log, per node.',
    unit: 's',
    queries: [
      {
        expr: quantile(0.99, `commitlog_log_fsync_duration_seconds_bucket{${S}}`, 'namespace, instance, le'),
        legend: 'p99 {{namespace}} {{instance}}',
      },
    ],
  },
  {
    title: 'Log size',
    description: 'Bytes each node’s log occupies on disk.',
    unit: 'bytes',
    queries: [
      { expr: `max by (namespace, instance) (commitlog_log_size_bytes{${S}})`, legend: '{{namespace}} {{instance}}' },
    ],
  },
  {
    title: 'Gossip health score',
    description: 'Lifeguard local health score: 0 is healthy; probe timeouts are scaled by score + 1.',
    unit: 'short',
    queries: [
      {
        expr: `max by (namespace, instance) (commitlog_gossip_health_score{${S}})`,
        legend: '{{namespace}} {{instance}}',
      },
    ],
  },
  {
    title: 'Gossip members and probe failures',
    description: 'Members each node knows by state, and failed probes per second.',
    unit: 'short',
    queries: [
      {
        expr: `sum by (namespace, state) (commitlog_gossip_members{${S}})`,
        legend: '{{namespace}} {{state}}',
      },
      {
        expr: `sum by (namespace) (${rate(`commitlog_gossip_protocol_total{${S}, event="probeFailures"}`)})`,
        legend: 'probe failures/s {{namespace}}',
      },
    ],
  },
];

/** The dashboard as Grafana's JSON model (schemaVersion 39), with a datasource and a namespace variable. */
export function grafanaDashboard(): Record<string, unknown> {
  const ds = { type: 'prometheus', uid: '${datasource}' };
  return {
    title: 'commitlog',
    uid: 'commitlog-nodes',
    description: 'commitlog nodes: Raft leadership and lag, produce/consume rate and latency, fsync, gossip health.',
    tags: ['commitlog'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' },
        {
          name: 'namespace',
          type: 'query',
          label: 'Namespace',
          datasource: ds,
          query: { query: 'label_values(commitlog_raft_term, namespace)', refId: 'namespace' },
          definition: 'label_values(commitlog_raft_term, namespace)',
          includeAll: true,
          allValue: '.*',
          multi: true,
          refresh: 2,
          current: { text: 'All', value: '$__all' },
        },
      ],
    },
    panels: DASHBOARD_PANELS.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      description: p.description,
      datasource: ds,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      targets: p.queries.map((q, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: ds,
        expr: q.expr,
        legendFormat: q.legend,
      })),
    })),
  };
}
