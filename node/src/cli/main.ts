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
import { enableCompileCache } from 'node:module';
import { startTracing } from '../observability/tracing.js';

enableCompileCache();

// grpc-js passes the dialled host as the TLS servername even when it is an IP address, and
// Node then warns (DEP0123) on every connection to e.g. 127.0.0.1. The certificate is still
// verified against its IP SANs; the warning tells a CLI user nothing, so drop exactly it.
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((...args: unknown[]) => {
  const code = typeof args[1] === 'object' ? (args[1] as { code?: unknown } | null)?.code : args[2];
  if (code !== 'DEP0123') emitWarning(...args);
}) as typeof process.emitWarning;

const tracing = await startTracing();
const { buildProgram } = await import('./program.js');
try {
  await buildProgram().parseAsync(process.argv);
} finally {
  await tracing?.shutdown();
}
