/**
 * Admin commands over the `log.v1.Admin` service (ACL action `admin`):
 *
 * - `status`: every server GetServers names, each asked for its own GetStatus (role, term,
 *   commit and applied index, offsets) — one line per node, `unreachable` when it does not
 *   answer (the command then exits 1);
 * - `members list`, `members remove <id>`, `leader transfer [--to id]`: membership calls,
 *   sent through the load-balancing resolver (client/grpc-lb.ts), which routes them to the
 *   leader whichever server `--addr` names.
 *
 * Roles print as everywhere in the CLI: leader, voter, learner.
 */
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  AdminClient,
  Role,
  Suffrage,
  type GetStatusResponse,
  type ListMembersResponse,
  type Member,
  type MembershipResponse,
  type TransferLeadershipResponse,
} from '../gen/v1/admin.js';
import { LogClient, type GetServersResponse } from '../gen/v1/log.js';
import { describeError, roleName } from './client-commands.js';
import { baseOptions, connection, credentialsOf, type ClientFlags } from './client-options.js';

type Out = NodeJS.WritableStream;

function unary<T>(fn: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

const deadline = (ms = 10_000): { deadline: number } => ({ deadline: Date.now() + ms });

/** An Admin client on the load-balanced channel (membership calls reach the leader). */
function leaderAdmin(flags: ClientFlags): AdminClient {
  const c = connection(flags, { balanced: true });
  return new AdminClient(c.address, c.creds, c.options);
}

/** The role of a GetStatus answer in the CLI's words. */
function statusRole(s: GetStatusResponse): string {
  switch (s.role) {
    case Role.ROLE_LEADER:
      return 'leader';
    case Role.ROLE_FOLLOWER:
      return 'voter';
    case Role.ROLE_LEARNER:
      return 'learner';
    case Role.ROLE_CANDIDATE:
      return 'candidate';
    case Role.ROLE_STANDALONE:
      return 'standalone';
    default:
      return 'unknown';
  }
}

/** `status`: one line per server with its own view of the cluster. */
export async function status(flags: ClientFlags & { json?: boolean }, out: Out = process.stdout): Promise<void> {
  const c = connection(flags);
  const log = new LogClient(c.address, c.creds, c.options);
  let servers: GetServersResponse['servers'];
  try {
    servers = (await unary<GetServersResponse>((cb) => log.getServers({}, cb))).servers;
  } finally {
    log.close();
  }
  const creds = credentialsOf(flags);
  const rows = await Promise.all(
    servers.map(async (s) => {
      const admin = new AdminClient(s.rpcAddr, creds, baseOptions(flags));
      try {
        return {
          server: s,
          status: await unary<GetStatusResponse>((cb) => admin.getStatus({}, new Metadata(), deadline(5000), cb)),
        };
      } catch (err) {
        return { server: s, error: describeError(err) };
      } finally {
        admin.close();
      }
    }),
  );
  if (!flags.json) out.write('ID\tADDR\tROLE\tTERM\tCOMMIT\tAPPLIED\tOFFSETS\tLEADER\n');
  for (const r of rows) {
    if ('error' in r) {
      out.write(
        flags.json
          ? `${JSON.stringify({ id: r.server.id, rpcAddr: r.server.rpcAddr, error: r.error })}\n`
          : `${r.server.id}\t${r.server.rpcAddr}\tunreachable: ${r.error}\n`,
      );
      continue;
    }
    const s = r.status;
    const offsets = s.hasRecords ? `${s.lowestOffset}-${s.highestOffset}` : 'empty';
    out.write(
      flags.json
        ? `${JSON.stringify({ id: s.nodeId, rpcAddr: r.server.rpcAddr, role: statusRole(s), term: s.term, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, lowestOffset: s.hasRecords ? s.lowestOffset : null, highestOffset: s.hasRecords ? s.highestOffset : null, leaderId: s.leaderId, clusterId: s.clusterId, version: s.version })}\n`
        : `${s.nodeId}\t${r.server.rpcAddr}\t${statusRole(s)}\t${s.term}\t${s.commitIndex}\t${s.appliedIndex}\t${offsets}\t${s.leaderId || '-'}\n`,
    );
  }
  if (rows.some((r) => 'error' in r)) process.exitCode = 1;
}

function printMembers(members: readonly Member[], json: boolean | undefined, out: Out): void {
  if (!json) out.write('ID\tADDR\tROLE\tMATCH\tLAG\n');
  for (const m of members) {
    const role = roleName({ isLeader: m.isLeader, isVoter: m.suffrage === Suffrage.SUFFRAGE_VOTER });
    out.write(
      json
        ? `${JSON.stringify({ id: m.id, rpcAddr: m.rpcAddr, role, matchIndex: m.matchIndex, lag: m.lag, ...(m.externalRpcAddr ? { externalRpcAddr: m.externalRpcAddr } : {}) })}\n`
        : `${m.id}\t${m.rpcAddr}\t${role}\t${m.matchIndex}\t${m.lag}\n`,
    );
  }
}

/** `members list`: the Raft configuration as the leader sees it. */
export async function membersList(flags: ClientFlags & { json?: boolean }, out: Out = process.stdout): Promise<void> {
  const admin = leaderAdmin(flags);
  try {
    printMembers(
      (await unary<ListMembersResponse>((cb) => admin.listMembers({}, new Metadata(), deadline(), cb))).members,
      flags.json,
      out,
    );
  } finally {
    admin.close();
  }
}

/** `members remove <id>`: removes a member from the Raft configuration (committed when this returns); prints the members left. */
export async function membersRemove(
  id: string,
  flags: ClientFlags & { json?: boolean },
  out: Out = process.stdout,
): Promise<void> {
  const admin = leaderAdmin(flags);
  try {
    printMembers(
      (await unary<MembershipResponse>((cb) => admin.removeMember({ id }, new Metadata(), deadline(30_000), cb)))
        .members,
      flags.json,
      out,
    );
  } finally {
    admin.close();
  }
}

/** `leader transfer [--to id]`: hands leadership to `to` (or the most caught-up voter); prints the new leader. */
export async function leaderTransfer(
  flags: ClientFlags & { to?: string; json?: boolean },
  out: Out = process.stdout,
): Promise<void> {
  const admin = leaderAdmin(flags);
  try {
    const r = await unary<TransferLeadershipResponse>((cb) =>
      admin.transferLeadership({ targetId: flags.to ?? '' }, new Metadata(), deadline(30_000), cb),
    );
    out.write(flags.json ? `${JSON.stringify({ leaderId: r.leaderId })}\n` : `${r.leaderId}\n`);
  } finally {
    admin.close();
  }
}
