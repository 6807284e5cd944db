/**
 * `runAgent(config)`: starts an {@link Agent} and stops it gracefully on SIGINT/SIGTERM.
 * This is what `commitlog agent` and node/src/agent/main.ts call.
 */
import type { Logger } from '../observability/logger.js';
import { Agent } from './agent.js';
import type { ClusterAgentConfig } from './config.js';

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  readonly logger?: Logger;
  /** Called once the agent is up (tests, scripts). */
  readonly onStarted?: (agent: Agent) => void;
}

/**
 * Starts the agent and resolves after the first SIGINT or SIGTERM has stopped it.
 * @throws what {@link Agent.start} throws (nothing is left running then); rejects when
 * the stop itself fails (the caller should exit non-zero).
 */
export async function runAgent(config: ClusterAgentConfig, o: RunAgentOptions = {}): Promise<void> {
  const agent = await Agent.start(config, o.logger);
  o.onStarted?.(agent);
  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    // Handlers stay installed: a second signal (Ctrl-C reaches the whole process group, and
    // `npm start` also sends SIGTERM) must not kill the process in the middle of its stop.
    const onSignal = (signal: NodeJS.Signals): void => {
      agent.logger.info({ signal }, stopping ? 'signal received; already stopping' : 'signal received');
      if (stopping) return;
      stopping = true;
      agent.stop().then(resolve, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
