/**
 * The agent's one entry: `commitlog agent` (node/src/cli/program.ts) and the standalone
 * program node/src/agent/main.ts (`npm start`, process tests) both define their command
 * with {@link addAgentCommandOptions} and run {@link agentAction}, so they take the same
 * options and resolve them identically (`--print-config` shows the result).
 *
 * It runs the cluster agent (log + Raft + gossip + gRPC with mutual TLS between nodes).
 * A single node is a cluster of one started with `--bootstrap`; more nodes join it with
 * `--start-join-addrs`.
 *
 * `--standalone` runs the development node of ./standalone.ts instead (no Raft, no gossip,
 * plaintext allowed with `--insecure`), because the cluster agent cannot run without
 * mutual TLS. Cluster options are refused with `--standalone` rather than ignored.
 */
import type { Command } from 'commander';
import { AgentConfigError, readConfigFile, resolveAgentConfig } from './base-config.js';
import { resolveClusterAgentConfig } from './config.js';
import { AGENT_OPTIONS, addAgentOptions, clusterOptions, envName, flagsOf } from './options.js';

const allKeys: readonly string[] = AGENT_OPTIONS.map((o) => o.key);
const clusterKeys: ReadonlySet<string> = new Set(clusterOptions.map((o) => o.key));

/** Added to a configuration error that is about missing mutual TLS. */
export const STANDALONE_HINT =
  'for a plaintext single-node development server use: commitlog agent --standalone --insecure';

/** Examples printed after `commitlog agent --help`. */
export const AGENT_EXAMPLES = `
Examples:
  # a cluster of one (mutual TLS between nodes is required; \`commitlog certs init\` makes dev certificates)
  commitlog agent --bootstrap --node-name n0 --data-dir /tmp/n0 --bind-addr 127.0.0.1:8401 --rpc-port 8400 \\
    --server-tls-cert-file node.pem --server-tls-key-file node-key.pem --server-tls-ca-file ca.pem
  # another node joining it through gossip (added as a learner, promoted to voter once caught up)
  commitlog agent --node-name n1 --data-dir /tmp/n1 --bind-addr 127.0.0.1:8411 --rpc-port 8410 --http-port 8412 \\
    --start-join-addrs 127.0.0.1:8401 --server-tls-cert-file node.pem --server-tls-key-file node-key.pem --server-tls-ca-file ca.pem
  # a plaintext development node without Raft or gossip
  commitlog agent --standalone --insecure --data-dir /tmp/dev
`;

/** Adds the `agent` command's options (every option of options.ts, `--config-file`, `--standalone`, `--print-config`) to `cmd`. */
export function addAgentCommandOptions(cmd: Command): Command {
  return addAgentOptions(cmd)
    .option(
      '--standalone',
      'development only: one node without Raft or gossip (TLS optional, plaintext with --insecure); cluster options are refused',
    )
    .option('--print-config', 'resolve and validate the configuration, print it as JSON and exit (2 when invalid)');
}

/** How {@link agentAction} prints the resolved configuration (`--print-config`). */
export const printConfig = (config: object): string => `${JSON.stringify(config, null, 2)}\n`;

/**
 * The `agent` action: resolves the configuration (flags over `COMMITLOG_*` over the YAML
 * `--config-file` / COMMITLOG_CONFIG_FILE over defaults), runs the agent and resolves after
 * SIGINT/SIGTERM stopped it.
 * @throws AgentConfigError for a bad configuration (the CLI exits 2); anything else when
 * the agent fails to start or to stop cleanly (the CLI exits 1).
 */
export async function agentAction(
  opts: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const flags = flagsOf(opts);
  const path = (opts.configFile as string | undefined) ?? env[envName('config-file')];
  const file = path ? readConfigFile(path, allKeys) : {};
  const print = opts.printConfig === true;
  if (opts.standalone === true) return runStandalone(flags, env, file, print);
  let config;
  try {
    config = resolveClusterAgentConfig(flags, env, file);
  } catch (err) {
    if (err instanceof AgentConfigError && err.problems.some((p) => /TLS/.test(p)))
      throw new AgentConfigError([...err.problems, STANDALONE_HINT]);
    throw err;
  }
  if (print) {
    process.stdout.write(printConfig(config));
    return;
  }
  // Loaded only here: `commitlog produce` and friends need not load Raft and gossip.
  const { runAgent } = await import('./run.js');
  await runAgent(config);
}

async function runStandalone(
  flags: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
  file: Readonly<Record<string, unknown>>,
  print: boolean,
): Promise<void> {
  const refused = [
    ...Object.keys(flags)
      .filter((k) => clusterKeys.has(k))
      .map((k) => `--${k}: not accepted with --standalone (a single node without Raft or gossip)`),
    ...Object.keys(file)
      .filter((k) => clusterKeys.has(k))
      .map((k) => `${k} (config file): not accepted with --standalone (a single node without Raft or gossip)`),
  ];
  if (refused.length > 0) throw new AgentConfigError(refused);
  const config = resolveAgentConfig(flags, env, file);
  if (print) {
    process.stdout.write(printConfig(config));
    return;
  }
  const { startStandaloneAgent } = await import('./standalone.js');
  const running = await startStandaloneAgent(config);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      running.logger.info({ signal: sig }, 'signal received');
      running.stop().then(resolve, (err: unknown) => {
        running.logger.error({ err }, 'unclean stop');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
