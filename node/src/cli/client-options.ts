/**
 * Connection flags shared by the client commands (`produce`, `consume`, `servers`) and how
 * they become a gRPC client. Each flag also reads `COMMITLOG_<FLAG>` from the environment.
 */
import type { Command } from 'commander';
import type { ChannelCredentials, ClientOptions } from '@grpc/grpc-js';
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

/** Adds the connection flags to a command. */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .option('--addr <host:port>', 'server address (env COMMITLOG_ADDR)', process.env.COMMITLOG_ADDR ?? '127.0.0.1:8400')
    .option('--ca-file <file>', 'CA that the server certificate chains to (env COMMITLOG_CA_FILE)', process.env.COMMITLOG_CA_FILE)
    .option('--cert-file <file>', 'client certificate for mutual TLS (env COMMITLOG_CERT_FILE)', process.env.COMMITLOG_CERT_FILE)
    .option('--key-file <file>', 'client private key (env COMMITLOG_KEY_FILE)', process.env.COMMITLOG_KEY_FILE)
    .option('--server-name <name>', 'name to verify in the server certificate (default: the host of --addr)', process.env.COMMITLOG_SERVER_NAME)
    .option('--insecure', 'plaintext, no TLS (only against an agent started with --insecure)', process.env.COMMITLOG_INSECURE === 'true');
}

/** Credentials and channel options for the flags. */
export function connection(flags: ClientFlags): { address: string; creds: ChannelCredentials; options: Partial<ClientOptions> } {
  const creds = clientCredentials({ caFile: flags.caFile, certFile: flags.certFile, keyFile: flags.keyFile }, flags.insecure ?? false);
  const options: Partial<ClientOptions> = {
    // Records may be up to the server's --max-record-bytes (64 MiB at most), above grpc-js's 4 MiB default.
    'grpc.max_receive_message_length': 65 * 1024 * 1024,
    'grpc.max_send_message_length': 65 * 1024 * 1024,
    ...(flags.serverName ? { 'grpc.ssl_target_name_override': flags.serverName, 'grpc.default_authority': flags.serverName } : {}),
  };
  return { address: flags.addr, creds, options };
}
