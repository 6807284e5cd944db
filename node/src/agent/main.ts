/**
 * Standalone entry of the agent: `tsx node/src/agent/main.ts [--flags]` (npm start, the
 * process tests) is `commitlog agent` without the rest of the CLI: the same command
 * definition and action (command.ts), hence the same options, resolution and
 * `--print-config` output. Exit codes: 2 bad configuration, 1 failure to start or to stop
 * cleanly, 0 after a graceful stop.
 */
import { Command } from 'commander';
import { startTracing } from '../observability/tracing.js';
import { quietKnownWarnings } from '../observability/warnings.js';
import { AGENT_EXAMPLES, addAgentCommandOptions, agentAction } from './command.js';
import { AgentConfigError } from './option-reader.js';

async function main(argv: readonly string[]): Promise<void> {
  const cmd = addAgentCommandOptions(
    new Command('commitlog-agent').description('run a commitlog cluster node (log + Raft + gossip + gRPC)'),
  ).addHelpText('after', AGENT_EXAMPLES);
  cmd.parse([...argv]);
  try {
    await agentAction(cmd.opts<Record<string, unknown>>());
  } catch (err) {
    process.stderr.write(`commitlog agent: ${(err as Error).message}\n`);
    process.exitCode = err instanceof AgentConfigError ? 2 : 1;
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
