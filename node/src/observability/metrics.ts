/**
 * Prometheus metrics of one node (prom-client). Each server owns its own Registry, so
 * several servers in one process (tests, benchmarks) do not collide.
 */
import { Counter, Gauge, Histogram, type LabelValues, Registry, collectDefaultMetrics } from 'prom-client';

/** Bounds of the log, read when Prometheus scrapes. */
export interface LogGaugeSource {
  /** Bytes on disk; lowest and highest readable offsets (-1 when empty). */
  stats(): { readonly sizeBytes: number; readonly lowestOffset: number; readonly highestOffset: number };
}

// Sub-millisecond to seconds: loopback RPCs take ~100 µs, fsyncs ~1–20 ms.
const latencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Default metrics of prom-client left out (see the constructor). */
const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/**
 * The node's metrics. Names are prefixed `commitlog_`, carry their unit (`_seconds`,
 * `_bytes`, `_entries`) and counters end in `_total`: `promtool check metrics` is clean
 * (test/tools/metrics-lint.test.ts).
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'code'>;
  readonly requestSeconds: Histogram<'method' | 'code'>;
  readonly fsyncSeconds: Histogram;
  readonly reloads: Counter<'what' | 'result'>;
  private logSource: LogGaugeSource | undefined;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'commitlog_grpc_requests_total',
      help: 'gRPC calls finished, by method and status code name.',
      labelNames: ['method', 'code'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'commitlog_grpc_request_duration_seconds',
      help: 'gRPC call duration from start to status, by method and status code name.',
      labelNames: ['method', 'code'],
      buckets: latencyBuckets,
      registers,
    });
    this.fsyncSeconds = new Histogram({
      name: 'commitlog_log_fsync_duration_seconds',
      help: 'Duration of one group-commit sync of the log.',
      buckets: latencyBuckets,
      registers,
    });
    this.reloads = new Counter({
      name: 'commitlog_config_reloads_total',
      help: 'Reloads of TLS files and ACL policy, by what and result (ok/error).',
      labelNames: ['what', 'result'],
      registers,
    });
    const source = (): ReturnType<LogGaugeSource['stats']> | undefined => this.logSource?.stats();
    new Gauge({
      name: 'commitlog_log_size_bytes',
      help: 'Bytes the log occupies on disk.',
      registers,
      collect() {
        const s = source();
        if (s) this.set(s.sizeBytes);
      },
    });
    new Gauge({
      name: 'commitlog_log_lowest_offset',
      help: 'Lowest readable offset (-1 when the log is empty).',
      registers,
      collect() {
        const s = source();
        if (s) this.set(s.lowestOffset);
      },
    });
    new Gauge({
      name: 'commitlog_log_highest_offset',
      help: 'Highest readable offset (-1 when the log is empty).',
      registers,
      collect() {
        const s = source();
        if (s) this.set(s.highestOffset);
      },
    });
    if (opts.defaultMetrics ?? true) {
      // The event-loop delay monitor is a timer: at prom-client's default 10 ms it woke an idle
      // node 100 times a second; 100 ms still sees every lag worth alerting on.
      collectDefaultMetrics({ register: this.registry, prefix: 'commitlog_', eventLoopMonitoringPrecision: 100 });
      // prom-client's sums of the per-type gauges are gauges named *_total, which promtool's
      // lint rejects (a _total suffix means counter); sum(commitlog_nodejs_active_handles) etc. give them.
      for (const sum of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(`commitlog_${sum}`);
    }
  }

  /** Sets where the log gauges read from (the backend, once open). */
  setLogSource(source: LogGaugeSource): void {
    this.logSource = source;
  }

  /** Records one finished call. */
  observeCall(method: string, code: string, seconds: number): void {
    this.requests.inc({ method, code });
    this.requestSeconds.observe({ method, code }, seconds);
  }
}

/**
 * A prom-client Counter fed from a monotonic source read at scrape time: each collect adds
 * the growth since the last one per label set. A source that went backwards (it was
 * recreated) restarts the baseline without a negative increment.
 */
export function monotonicCounter<L extends string>(o: {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
  read: () => Iterable<readonly [LabelValues<L>, number]>;
}): Counter<L> {
  const last = new Map<string, number>();
  return new Counter<L>({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames,
    registers: o.registers,
    collect() {
      for (const [labels, value] of o.read()) {
        const key = JSON.stringify(labels);
        const prev = last.get(key) ?? 0;
        last.set(key, value);
        this.inc(labels, Math.max(0, value - prev)); // an increment of 0 still creates the series
      }
    },
  });
}
