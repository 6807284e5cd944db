/**
 * The agent's command-line options on a commander Command: every option of `commitlog
 * agent` plus the cluster options. The CLI's `agent` command and main.ts both use this.
 */
import type { Command } from 'commander';
import { envName } from './base-config.js';
import { allAgentOptions } from './config.js';

const camel = (key: string): string => key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Adds the agent's options to `cmd` (the CLI's `agent` command can call this too). */
export function addAgentOptions(cmd: Command): Command {
  cmd.option('--config-file <file>', `YAML file of option: value (env ${envName('config-file')})`);
  for (const o of allAgentOptions) {
    const def = 'default' in o ? ` (default ${JSON.stringify(o.default)})` : '';
    const desc = `${o.description}${def}; env ${envName(o.key)}`;
    if (o.kind === 'bool') cmd.option(`--${o.key}`, desc);
    else cmd.option(`--${o.key} <${o.kind === 'int' ? 'n' : 'value'}>`, desc);
  }
  return cmd;
}

/** Turns parsed commander options into the flags map `resolveClusterAgentConfig` takes. */
export function flagsOf(opts: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const o of allAgentOptions) if (opts[camel(o.key)] !== undefined) flags[o.key] = opts[camel(o.key)];
  return flags;
}
