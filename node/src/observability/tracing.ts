/**
 * OpenTelemetry tracing of gRPC calls, configured only by the standard `OTEL_*`
 * environment variables and off unless one of them asks for it:
 *
 * - `OTEL_TRACES_EXPORTER` set to anything but `none` (e.g. `otlp`, `console`, `zipkin`), or
 * - `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set,
 *
 * and `OTEL_SDK_DISABLED` not `true`. Everything else (service name via
 * `OTEL_SERVICE_NAME`, sampler via `OTEL_TRACES_SAMPLER`, protocol via
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, headers, resource attributes) is read by the
 * OpenTelemetry SDK itself. Metrics and logs exporters of the SDK stay off (metrics are
 * served by Prometheus on the HTTP port).
 *
 * Must run before @grpc/grpc-js is first imported: the gRPC instrumentation patches the
 * module as it loads (through the import-in-the-middle ESM hook registered here).
 */
import { register } from 'node:module';

/** True when the environment turns tracing on (see the file comment). */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return false;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  if (exporter !== '') return exporter !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** A started tracer; `shutdown` flushes pending spans. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK with the gRPC instrumentation when
 * {@link tracingEnabled}; resolves to undefined (and loads nothing) otherwise.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  // The SDK would also start metrics/logs exporters from their own variables; we only
  // want traces (Prometheus serves metrics).
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  env.OTEL_SERVICE_NAME ??= 'commitlog';
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { GrpcInstrumentation } = await import('@opentelemetry/instrumentation-grpc');
  const sdk = new NodeSDK({ instrumentations: [new GrpcInstrumentation()] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
