/**
 * Entry point of the `commitlog` command (`npm run cli -- <command>`).
 *
 * Tracing starts first, when the OTEL_* environment asks for it, because the gRPC
 * instrumentation must patch @grpc/grpc-js before anything imports it; the program is
 * imported only afterwards.
 */
import { startTracing } from '../observability/tracing.js';

const tracing = await startTracing();
const { buildProgram } = await import('./program.js');
try {
  await buildProgram().parseAsync(process.argv);
} finally {
  await tracing?.shutdown();
}
