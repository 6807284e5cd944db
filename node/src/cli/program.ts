/**
 * The `commitlog` command line (commander): `agent`, `produce`, `consume`, `servers`, `status`,
 * `members list|remove`, `leader transfer`,
 * `certs`. Usage errors (unknown flag, bad value, invalid configuration) exit 2, runtime
 * failures exit 1, each with a clear message on stderr.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { AGENT_EXAMPLES, addAgentCommandOptions } from '../agent/command.js';
import { addClientFlags, type ClientFlags } from './client-options.js';
import type * as CertsCommands from './certs-command.js';
import { encodings, type Encoding } from './encoding.js';
import { VERSION } from '../version.js';

// Only what defines the commands is imported up front; each action loads its module when it
// runs (gRPC, certificates, the agent), so `commitlog <cmd>` starts fast (docs/benchmarks.md).

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

const list = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

/** Error codes that are usage errors (exit 2), like a bad flag. */
const USAGE_ERRORS: ReadonlySet<unknown> = new Set(['invalid-agent-config', 'invalid-encoding']);

/** Runs an async action, printing failures as one line and setting the exit code. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (USAGE_ERRORS.has((err as { code?: unknown } | null)?.code)) {
        process.stderr.write(`commitlog: ${(err as Error).message}\n`);
        process.exitCode = 2;
      } else {
        const [{ describeError }, { exitCodeOf }] = await Promise.all([
          import('./client-commands.js'),
          import('../server/errors.js'),
        ]);
        process.stderr.write(`commitlog: ${describeError(err)}\n`);
        process.exitCode = exitCodeOf(err); // the error table's exit code (README "Exit codes")
      }
    }
  };
}

const encodingOption = (): Option =>
  new Option('--encoding <encoding>', 'how values are written and printed: utf8, or base64/hex for binary values')
    .choices(encodings)
    .default('utf8');

type ValueOpts = ClientFlags & { encoding: Encoding; json?: boolean };
type CertsOpts<F extends keyof typeof CertsCommands> = Parameters<(typeof CertsCommands)[F]>[0];

/** Builds the program. */
export function buildProgram(): Command {
  const program = new Command('commitlog')
    .description('A Raft-replicated distributed commit log')
    .version(VERSION)
    .showHelpAfterError('(add --help for usage)');
  // Commander exits 1 on a usage error; our convention is 2 (as for a bad configuration).
  // Set before adding commands: subcommands inherit it. Help and --version still exit 0.
  program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  addAgentCommandOptions(
    program
      .command('agent')
      .description(
        'run a commitlog node (log + Raft + gossip + gRPC); a single node is a cluster of one started with --bootstrap',
      ),
  )
    .addHelpText('after', AGENT_EXAMPLES)
    .action(run(async (opts: Record<string, unknown>) => (await import('../agent/command.js')).agentAction(opts)));

  addClientFlags(
    program
      .command('produce')
      .description('append records: the arguments, or one per line from stdin; prints each offset'),
  )
    .argument('[values...]', 'record values (in --encoding)')
    .addOption(encodingOption())
    .option('--json', 'print {"offset": n} lines')
    .action(
      run(async (values: string[], opts: ValueOpts) => (await import('./client-commands.js')).produce(values, opts)),
    );

  addClientFlags(
    program
      .command('consume')
      .description(
        'print records from an offset to the end of the log (or tail it with --follow): <offset> TAB <value> lines',
      ),
  )
    .option('--offset <n>', 'first offset', nonNegativeInt, 0)
    .option('-f, --follow', 'keep waiting for new records')
    .option('-n, --max <n>', 'stop after this many records', nonNegativeInt)
    .addOption(encodingOption())
    .option('--json', 'print {"offset": n, "value": "..."} lines (value in --encoding)')
    .action(
      run(async (opts: ValueOpts & { offset: number; follow?: boolean; max?: number }) =>
        (await import('./client-commands.js')).consume(opts),
      ),
    );

  addClientFlags(
    program
      .command('servers')
      .description("list the cluster's servers (GetServers): id, address, role (leader|voter|learner)"),
  )
    .option('--json', 'print one JSON object per server')
    .action(
      run(async (opts: ClientFlags & { json?: boolean }) => (await import('./client-commands.js')).servers(opts)),
    );

  addClientFlags(
    program
      .command('status')
      .description(
        "every server's own status (Admin.GetStatus): role, term, commit and applied index, offsets, leader",
      ),
  )
    .option('--json', 'print one JSON object per server')
    .action(run(async (opts: ClientFlags & { json?: boolean }) => (await import('./admin-commands.js')).status(opts)));

  const members = program.command('members').description('the Raft configuration (Admin service, sent to the leader)');
  addClientFlags(members.command('list').description('members with role, match index and lag'))
    .option('--json', 'print one JSON object per member')
    .action(
      run(async (opts: ClientFlags & { json?: boolean }) => (await import('./admin-commands.js')).membersList(opts)),
    );
  addClientFlags(
    members.command('remove').description('remove a member from the configuration (the only way a member leaves)'),
  )
    .argument('<id>', 'node name of the member')
    .option('--json', 'print the remaining members as JSON lines')
    .action(
      run(async (id: string, opts: ClientFlags & { json?: boolean }) =>
        (await import('./admin-commands.js')).membersRemove(id, opts),
      ),
    );

  const leader = program.command('leader').description('Raft leadership (Admin service)');
  addClientFlags(leader.command('transfer').description('hand leadership to another voter; prints the new leader'))
    .option('--to <id>', 'the voter to transfer to (default: the most caught-up one)')
    .option('--json', 'print {"leaderId": ...}')
    .action(
      run(async (opts: ClientFlags & { to?: string; json?: boolean }) =>
        (await import('./admin-commands.js')).leaderTransfer(opts),
      ),
    );

  const certs = program.command('certs').description('create a CA, server and client certificates (ECDSA P-256, PEM)');
  const common = (c: Command): Command =>
    c
      .requiredOption('--out-dir <dir>', 'where to write (and find ca.pem/ca-key.pem)')
      .option('--days <n>', 'validity in days', nonNegativeInt);
  const printFiles = (files: string[]): void => void process.stdout.write(`${files.join('\n')}\n`);
  common(certs.command('ca').description('create ca.pem and ca-key.pem'))
    .option('--cn <name>', 'CA common name')
    .action(run(async (o: CertsOpts<'certsCa'>) => printFiles(await (await import('./certs-command.js')).certsCa(o))));
  common(certs.command('server').description('create a server certificate signed by the CA'))
    .option('--dns <names>', 'DNS SANs, comma-separated or repeated', list)
    .option('--ip <addrs>', 'IP SANs, comma-separated or repeated', list)
    .option('--cn <name>', 'subject CN (default: the first SAN)')
    .option('--name <file-stem>', 'file name stem', 'server')
    .option('--ca-cert <file>', 'CA certificate (default <out-dir>/ca.pem)')
    .option('--ca-key <file>', 'CA key (default <out-dir>/ca-key.pem)')
    .action(
      run(async (o: CertsOpts<'certsServer'>) => printFiles(await (await import('./certs-command.js')).certsServer(o))),
    );
  common(certs.command('client').description('create a client certificate; its CN is the ACL subject'))
    .requiredOption('--cn <name>', 'subject CN, e.g. root')
    .option('--name <file-stem>', 'file name stem (default <cn>-client)')
    .option('--ca-cert <file>', 'CA certificate (default <out-dir>/ca.pem)')
    .option('--ca-key <file>', 'CA key (default <out-dir>/ca-key.pem)')
    .action(
      run(async (o: CertsOpts<'certsClient'>) => printFiles(await (await import('./certs-command.js')).certsClient(o))),
    );
  common(certs.command('init').description('CA + server certificate + client certificates (default root and nobody)'))
    .option('--dns <names>', 'server DNS SANs (default localhost)', list)
    .option('--ip <addrs>', 'server IP SANs (default 127.0.0.1)', list)
    .option('--client <cn>', 'client CNs, comma-separated or repeated (default root,nobody)', list)
    .action(
      run(async (o: CertsOpts<'certsInit'>) => printFiles(await (await import('./certs-command.js')).certsInit(o))),
    );

  return program;
}
