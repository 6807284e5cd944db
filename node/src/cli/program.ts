/**
 * The `commitlog` command line (commander): `agent`, `produce`, `consume`, `servers`,
 * `certs`. Usage errors (unknown flag, bad value, invalid configuration) exit 2, runtime
 * failures exit 1, each with a clear message on stderr.
 */
import { Command, InvalidArgumentError } from 'commander';
import { AgentConfigError } from './agent-config.js';
import { AGENT_EXAMPLES, agentAction, addAgentCommandOptions } from './agent-command.js';
import { certsCa, certsClient, certsInit, certsServer } from './certs-command.js';
import { addClientFlags, type ClientFlags } from './client-options.js';
import { consume, describeError, produce, servers } from './client-commands.js';

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** Runs an async action, printing failures as one line and setting the exit code. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof AgentConfigError) {
        process.stderr.write(`commitlog: ${err.message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`commitlog: ${describeError(err)}\n`);
        process.exitCode = 1;
      }
    }
  };
}

/** Builds the program. */
export function buildProgram(): Command {
  const program = new Command('commitlog').description('A Raft-replicated distributed commit log').showHelpAfterError('(add --help for usage)');
  // Commander exits 1 on a usage error; our convention is 2 (as for a bad configuration).
  // Set before adding commands: subcommands inherit it. Help and --version still exit 0.
  program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  addAgentCommandOptions(
    program
      .command('agent')
      .description('run a commitlog node (log + Raft + gossip + gRPC); a single node is a cluster of one started with --bootstrap'),
  )
    .addHelpText('after', AGENT_EXAMPLES)
    .action(run(async (opts: Record<string, unknown>) => agentAction(opts)));

  addClientFlags(program.command('produce').description('append records: the arguments, or one per line from stdin; prints each offset'))
    .argument('[values...]', 'record values (UTF-8)')
    .option('--json', 'print {"offset": n} lines')
    .action(run(async (values: string[], opts: ClientFlags & { json?: boolean }) => produce(values, opts)));

  addClientFlags(program.command('consume').description('print records from an offset to the end of the log (or tail it with --follow)'))
    .option('--offset <n>', 'first offset', nonNegativeInt, 0)
    .option('-f, --follow', 'keep waiting for new records')
    .option('-n, --max <n>', 'stop after this many records', nonNegativeInt)
    .option('--json', 'print {"offset": n, "value": "..."} lines')
    .action(run(async (opts: ClientFlags & { offset: number; follow?: boolean; max?: number; json?: boolean }) => consume(opts)));

  addClientFlags(program.command('servers').description('list the cluster\'s servers (GetServers)'))
    .option('--json', 'print one JSON object per server')
    .action(run(async (opts: ClientFlags & { json?: boolean }) => servers(opts)));

  const certs = program.command('certs').description('create a CA, server and client certificates (ECDSA P-256, PEM)');
  const common = (c: Command): Command =>
    c.requiredOption('--out-dir <dir>', 'where to write (and find ca.pem/ca-key.pem)').option('--days <n>', 'validity in days', nonNegativeInt);
  const printFiles = (files: string[]): void => void process.stdout.write(`${files.join('\n')}\n`);
  common(certs.command('ca').description('create ca.pem and ca-key.pem'))
    .option('--cn <name>', 'CA common name')
    .action(run(async (o: Parameters<typeof certsCa>[0]) => printFiles(await certsCa(o))));
  common(certs.command('server').description('create a server certificate signed by the CA'))
    .option('--dns <names>', 'DNS SANs, comma-separated or repeated', list)
    .option('--ip <addrs>', 'IP SANs, comma-separated or repeated', list)
    .option('--cn <name>', 'subject CN (default: the first SAN)')
    .option('--name <file-stem>', 'file name stem', 'server')
    .option('--ca-cert <file>', 'CA certificate (default <out-dir>/ca.pem)')
    .option('--ca-key <file>', 'CA key (default <out-dir>/ca-key.pem)')
    .action(run(async (o: Parameters<typeof certsServer>[0]) => printFiles(await certsServer(o))));
  common(certs.command('client').description('create a client certificate; its CN is the ACL subject'))
    .requiredOption('--cn <name>', 'subject CN, e.g. root')
    .option('--name <file-stem>', 'file name stem (default <cn>-client)')
    .option('--ca-cert <file>', 'CA certificate (default <out-dir>/ca.pem)')
    .option('--ca-key <file>', 'CA key (default <out-dir>/ca-key.pem)')
    .action(run(async (o: Parameters<typeof certsClient>[0]) => printFiles(await certsClient(o))));
  common(certs.command('init').description('CA + server certificate + client certificates (default root and nobody)'))
    .option('--dns <names>', 'server DNS SANs (default localhost)', list)
    .option('--ip <addrs>', 'server IP SANs (default 127.0.0.1)', list)
    .option('--client <cn>', 'client CNs, comma-separated or repeated (default root,nobody)', list)
    .action(run(async (o: Parameters<typeof certsInit>[0]) => printFiles(await certsInit(o))));

  return program;
}
