/**
 * Standalone entry of the cluster agent: `tsx node/src/agent/main.ts [--flags]` takes every
 * option of `commitlog agent` plus the cluster options (node/src/agent/config.ts), each also
 * from `COMMITLOG_<KEY>` or a YAML `--config-file`. Exit codes: 2 bad configuration, 1
 * failure to start or to stop cleanly, 0 after a graceful stop.
 */
import { Command } from 'commander';
import { AgentConfigError, envName } from './base-config.js';
import { startTracing } from '../observability/tracing.js';
import { quietKnownWarnings } from '../observability/warnings.js';
import { readClusterConfigFile, resolveClusterAgentConfig } from './config.js';
import { addAgentOptions, flagsOf } from './options.js';

async function main(argv: readonly string[]): Promise<void> {
  const cmd = addAgentOptions(
    new Command('commitlog-agent').description('run a commitlog cluster node (log + Raft + gossip + gRPC)'),
  );
  cmd.parse([...argv]);
  const opts = cmd.opts<Record<string, unknown>>();
  const configFile = (opts.configFile as string | undefined) ?? process.env[envName('config-file')];
  let config;
  try {
    config = resolveClusterAgentConfig(flagsOf(opts), process.env, configFile ? readClusterConfigFile(configFile) : {});
  } catch (err) {
    if (!(err instanceof AgentConfigError)) throw err;
    process.stderr.write(`commitlog agent: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  const { runAgent } = await import('./run.js');
  try {
    await runAgent(config);
  } catch (err) {
    process.stderr.write(`commitlog agent: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

// Forwarding to the leader at an IP address would print DEP0123 (warnings.ts).
quietKnownWarnings();
// Tracing must patch grpc-js before anything loads it (see node/src/cli/main.ts).
const tracing = await startTracing();
try {
  await main(process.argv);
} finally {
  await tracing?.shutdown();
}
