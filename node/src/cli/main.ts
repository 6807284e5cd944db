#!/usr/bin/env node
/**
 * Entry point of the `commitlog` command: the package's bin once compiled (`npm run build`
 * → build/node/src/cli/main.js; `npx commitlog`, `npm i -g .`), or from the TypeScript
 * sources with `npm run cli -- <command>`.
 *
 * Node's module compile cache is turned on first (it keeps V8's compiled code of every
 * module loaded afterwards in the OS temp dir), then program.ts loads each command's
 * implementation only when it runs: start-up is measured in docs/benchmarks.md.
 *
 * Tracing starts first, when the OTEL_* environment asks for it, because the gRPC
 * instrumentation must patch @grpc/grpc-js before anything imports it; the program is
 * imported only afterwards.
 */
import module from 'node:module';
import { startTracing } from '../observability/tracing.js';
import { quietKnownWarnings } from '../observability/warnings.js';

// (Node ≥ 22.1; on older Node the program still runs, only without the cache.)
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

// DEP0123 on every connection to an IP address tells a CLI user nothing (warnings.ts).
quietKnownWarnings();

const tracing = await startTracing();
const { buildProgram } = await import('./program.js');
try {
  await buildProgram().parseAsync(process.argv);
} finally {
  await tracing?.shutdown();
}
