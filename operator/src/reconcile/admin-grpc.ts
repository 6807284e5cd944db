/**
 * {@link NodeAdmin} over gRPC: the node's generated Admin client (the one thing operator/ may
 * import from node/), mutual TLS with the operator's client certificate (ACL action admin),
 * one channel per pod for the duration of a reconcile pass, a deadline on every call.
 */
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { AdminClient, Role, Suffrage, type Member } from '../../../node/src/gen/v1/admin.js';
import type { AdminMember, AdminStatus, NodeAdmin, NodeAdminFactory } from './admin.js';

const READ_DEADLINE_MS = 5_000;
// RemoveMember returns after the new configuration commits; give the cluster time.
const CHANGE_DEADLINE_MS = 30_000;

const ROLE_NAMES: Readonly<Record<number, AdminStatus['role']>> = {
  [Role.ROLE_LEADER]: 'leader',
  [Role.ROLE_FOLLOWER]: 'follower',
  [Role.ROLE_CANDIDATE]: 'candidate',
  [Role.ROLE_LEARNER]: 'learner',
  [Role.ROLE_STANDALONE]: 'standalone',
};

function toMember(m: Member): AdminMember {
  return {
    id: m.id,
    rpcAddr: m.rpcAddr,
    role: m.suffrage === Suffrage.SUFFRAGE_LEARNER ? 'learner' : 'voter',
    isLeader: m.isLeader,
    lag: m.lag,
    ...(m.externalRpcAddr ? { externalRpcAddr: m.externalRpcAddr } : {}),
  };
}

type Call<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: Date },
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

function unary<Req, Res>(client: AdminClient, f: Call<Req, Res>, req: Req, ms: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    f.call(client, req, new Metadata(), { deadline: new Date(Date.now() + ms) }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** Admin client of one cluster: pods are dialed at `<pod>.<headless>.<ns>.svc:<rpcPort>`. */
export class GrpcNodeAdmin implements NodeAdmin {
  private readonly clients = new Map<string, AdminClient>();
  private readonly creds: ChannelCredentials;

  constructor(
    private readonly target: Parameters<NodeAdminFactory>[0],
    /** Where to dial a pod; tests point it at 127.0.0.1. */
    private readonly addressOf: (pod: string) => string = (pod) =>
      `${pod}.${target.headlessService}.${target.namespace}.svc:${target.rpcPort}`,
  ) {
    const t = target.tls;
    this.creds = t
      ? credentials.createSsl(Buffer.from(t.caPem), Buffer.from(t.keyPem), Buffer.from(t.certPem))
      : credentials.createInsecure();
  }

  private client(pod: string): AdminClient {
    let c = this.clients.get(pod);
    if (!c) {
      c = new AdminClient(this.addressOf(pod), this.creds);
      this.clients.set(pod, c);
    }
    return c;
  }

  async status(pod: string): Promise<AdminStatus> {
    const c = this.client(pod);
    const r = await unary(
      c,
      c.getStatus as Call<object, { nodeId: string; clusterId: string; leaderId: string; role: number }>,
      {},
      READ_DEADLINE_MS,
    );
    return { nodeId: r.nodeId, clusterId: r.clusterId, leaderId: r.leaderId, role: ROLE_NAMES[r.role] ?? 'unknown' };
  }

  async members(pod: string): Promise<readonly AdminMember[]> {
    const c = this.client(pod);
    const r = await unary(c, c.listMembers as Call<object, { members: Member[] }>, {}, READ_DEADLINE_MS);
    return r.members.map(toMember);
  }

  async removeMember(leaderPod: string, id: string): Promise<readonly AdminMember[]> {
    const c = this.client(leaderPod);
    const r = await unary(c, c.removeMember as Call<{ id: string }, { members: Member[] }>, { id }, CHANGE_DEADLINE_MS);
    return r.members.map(toMember);
  }

  async transferLeadership(leaderPod: string, targetId?: string): Promise<string> {
    const c = this.client(leaderPod);
    const r = await unary(
      c,
      c.transferLeadership as Call<{ targetId: string }, { leaderId: string }>,
      { targetId: targetId ?? '' },
      CHANGE_DEADLINE_MS,
    );
    return r.leaderId;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** The production {@link NodeAdminFactory}. */
export const grpcNodeAdmin: NodeAdminFactory = (target) => new GrpcNodeAdmin(target);
