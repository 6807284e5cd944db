/**
 * Connection flags shared by the client commands (`produce`, `consume`, `servers`,
 * `status`, `members`, `leader`) and how they become a gRPC channel. Each flag also reads
 * `COMMITLOG_<FLAG>` from the environment.
 *
 * `--addr host:port` dials that server; `--addr commitlog:///host:port,host:port` goes
 * through the client library's resolver and load-balancing policy (node/src/client/
 * grpc-lb.ts): GetServers on the seeds, Produce and membership calls to the leader, reads
 * spread over the followers, re-resolved on leader changes.
 */
import type { Command } from 'commander';
import type { ChannelCredentials, ClientOptions } from '@grpc/grpc-js';
import { loadBalancedChannel } from '../client/grpc-lb.js';
import { clientCredentials } from '../tls/credentials.js';

/** Parsed connection options. */
export interface ClientFlags {
  readonly addr: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly serverName?: string;
  readonly insecure?: boolean;
}

/** The scheme prefix of load-balanced targets. */
export const LB_SCHEME = 'commitlog:';

/** Adds the connection flags to a command. */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .option(
      '--addr <target>',
      'server host:port, or commitlog:///host:port,… for the load-balancing resolver (env COMMITLOG_ADDR)',
      process.env.COMMITLOG_ADDR ?? '127.0.0.1:8400',
    )
    .option(
      '--ca-file <file>',
      'CA that the server certificate chains to (env COMMITLOG_CA_FILE)',
      process.env.COMMITLOG_CA_FILE,
    )
    .option(
      '--cert-file <file>',
      'client certificate for mutual TLS (env COMMITLOG_CERT_FILE)',
      process.env.COMMITLOG_CERT_FILE,
    )
    .option('--key-file <file>', 'client private key (env COMMITLOG_KEY_FILE)', process.env.COMMITLOG_KEY_FILE)
    .option(
      '--server-name <name>',
      'name to verify in the server certificate (default: the host of --addr)',
      process.env.COMMITLOG_SERVER_NAME,
    )
    .option(
      '--insecure',
      'plaintext, no TLS (only against an agent started with --insecure)',
      process.env.COMMITLOG_INSECURE === 'true',
    );
}

/** Credentials of the flags. */
export function credentialsOf(flags: ClientFlags): ChannelCredentials {
  return clientCredentials(
    { caFile: flags.caFile, certFile: flags.certFile, keyFile: flags.keyFile },
    flags.insecure ?? false,
  );
}

/** Channel options every CLI channel uses (message limits, server-name override). */
export function baseOptions(flags: ClientFlags): Partial<ClientOptions> {
  return {
    // Records may be up to the server's --max-record-bytes (64 MiB at most), above gRPC's 4 MiB default.
    'grpc.max_receive_message_length': 65 * 1024 * 1024,
    'grpc.max_send_message_length': 65 * 1024 * 1024,
    ...(flags.serverName
      ? { 'grpc.ssl_target_name_override': flags.serverName, 'grpc.default_authority': flags.serverName }
      : {}),
  };
}

/**
 * Target, credentials and channel options for the flags; `balanced` forces the resolver
 * even for a plain host:port (the Admin commands, so that they reach the leader).
 */
export function connection(
  flags: ClientFlags,
  o: { balanced?: boolean } = {},
): { address: string; creds: ChannelCredentials; options: Partial<ClientOptions> } {
  const creds = credentialsOf(flags);
  const options = baseOptions(flags);
  if (o.balanced || flags.addr.startsWith(LB_SCHEME)) {
    const lb = loadBalancedChannel(flags.addr, creds, { channelOptions: options });
    return { address: lb.target, creds, options: lb.options };
  }
  return { address: flags.addr, creds, options };
}
