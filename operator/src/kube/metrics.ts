/**
 * Prometheus metrics of the operator (prom-client) on a registry of its own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's metrics. */
export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly errors: Counter<'step'>;
  readonly duration: Histogram;
  readonly queueDepth: Gauge;
  readonly isLeader: Gauge;
}

/** Creates the metrics; `defaults` adds process metrics (off in tests). */
export function createMetrics(defaults = false): OperatorMetrics {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'commitlog_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'commitlog_operator_reconciles_total',
      help: 'Reconcile passes by result (success, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'commitlog_operator_reconcile_errors_total',
      help: 'Failed reconcile passes by the step that failed.',
      labelNames: ['step'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'commitlog_operator_reconcile_duration_seconds',
      help: 'Duration of reconcile passes.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'commitlog_operator_queue_depth',
      help: 'Keys waiting in the work queue.',
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: 'commitlog_operator_is_leader',
      help: '1 while this instance holds the leader Lease.',
      registers: [registry],
    }),
  };
}
