/** Logs (pino), metrics (prom-client), the HTTP health/metrics endpoint and tracing (OpenTelemetry). */
export * from './logger.js';
export * from './metrics.js';
export * from './http-server.js';
export * from './tracing.js';
