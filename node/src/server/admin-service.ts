/** The log.v1.Admin service over a {@link ClusterAdmin}. Every call needs the "admin" action (checked by the interceptor). */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { Role, Suffrage, type AdminServer, type Member } from '../gen/v1/admin.js';
import type { ClusterAdmin, MemberInfo, NodeRole } from './admin.js';
import { InvalidRequestError, toStatus } from './errors.js';

const roles: Readonly<Record<NodeRole, Role>> = {
  leader: Role.ROLE_LEADER,
  follower: Role.ROLE_FOLLOWER,
  candidate: Role.ROLE_CANDIDATE,
  learner: Role.ROLE_LEARNER,
  standalone: Role.ROLE_STANDALONE,
};

function member(m: MemberInfo): Member {
  return {
    id: m.id,
    rpcAddr: m.rpcAddr,
    suffrage: m.suffrage === 'voter' ? Suffrage.SUFFRAGE_VOTER : Suffrage.SUFFRAGE_LEARNER,
    isLeader: m.isLeader,
    matchIndex: m.matchIndex,
    lag: m.lag,
    externalRpcAddr: m.externalRpcAddr ?? '',
  };
}

function unary<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
    fn(call.request).then(
      (res) => cb(null, res),
      (err: unknown) => cb(toStatus(err)),
    );
  };
}

function requireId(id: string, field = 'id'): string {
  if (!id) throw new InvalidRequestError(`${field} is required`);
  return id;
}

/** Builds the Admin service implementation. */
export function adminService(admin: ClusterAdmin, version: string): AdminServer {
  return {
    getStatus: unary(() => {
      const s = admin.status();
      return Promise.resolve({
        nodeId: s.nodeId,
        clusterId: s.clusterId,
        role: roles[s.role],
        leaderId: s.leaderId,
        term: s.term,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
        lowestOffset: s.lowestOffset,
        highestOffset: Math.max(s.nextOffset - 1, 0),
        hasRecords: s.nextOffset > s.lowestOffset,
        rpcAddr: s.rpcAddr,
        version,
      });
    }),
    listMembers: unary(async () => ({ members: (await admin.members()).map(member) })),
    addLearner: unary(async (req) => ({
      members: (await admin.addLearner(requireId(req.id), requireId(req.rpcAddr, 'rpc_addr'))).map(member),
    })),
    promoteMember: unary(async (req) => ({ members: (await admin.promote(requireId(req.id))).map(member) })),
    removeMember: unary(async (req) => ({ members: (await admin.remove(requireId(req.id))).map(member) })),
    transferLeadership: unary(async (req) => ({ leaderId: await admin.transferLeadership(req.targetId || undefined) })),
  };
}
