/**
 * The Admin service over Raft ({@link ClusterAdmin}): status, members with suffrage and
 * lag, and the explicit membership changes (the operator's scale-down and `commitlog
 * members remove` are the ONLY ways a member leaves the configuration). Membership calls
 * must reach the leader; a follower answers FAILED_PRECONDITION naming the leader.
 */
import { RaftNotLeaderError, ProposalRejectedError, nodeId, type NodeId, type RaftNode } from '../raft/index.js';
import { NodeRole, type ClusterAdmin, type MemberInfo, type NodeStatus } from '../server/admin.js';
import type { LogBackend } from '../server/backend.js';
import { ClusterPreconditionError } from './errors.js';
import type { RemovedMembers } from './membership.js';
import type { PeerDirectory } from './peers.js';

/** Options of {@link RaftAdmin}. */
export interface RaftAdminOptions {
  readonly node: RaftNode;
  readonly backend: LogBackend;
  readonly peers: PeerDirectory;
  readonly self: { readonly rpcAddr: string; readonly externalAddr?: string | undefined };
  /** Where explicit removals are recorded so that gossip does not add them back. */
  readonly removed?: RemovedMembers;
}

/** {@link ClusterAdmin} over a RaftNode. */
export class RaftAdmin implements ClusterAdmin {
  constructor(private readonly o: RaftAdminOptions) {}

  status(): NodeStatus {
    const s = this.o.node.status();
    const b = this.o.backend.bounds();
    const isMember = s.members.find((m) => m.id === s.id);
    const role: NodeRole =
      s.role === 'leader'
        ? NodeRole.leader
        : s.role === 'candidate' || s.role === 'preCandidate'
          ? NodeRole.candidate
          : isMember?.suffrage === 'learner'
            ? NodeRole.learner
            : NodeRole.follower;
    return {
      nodeId: s.id,
      clusterId: s.clusterId,
      role,
      leaderId: s.leader ?? '',
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      lowestOffset: b.lowest,
      nextOffset: b.next,
      rpcAddr: this.o.self.rpcAddr,
    };
  }

  members(): Promise<readonly MemberInfo[]> {
    const s = this.o.node.status();
    return Promise.resolve(
      s.members.map((m) => {
        const self = m.id === s.id;
        const p = this.o.peers.get(m.id);
        const ext = self ? this.o.self.externalAddr : p?.externalAddr;
        return {
          id: m.id,
          rpcAddr: self ? this.o.self.rpcAddr : (p?.rpcAddr ?? ''),
          suffrage: m.suffrage,
          isLeader: s.leader === m.id,
          // The leader knows every follower's match; it is its own reference (lag 0).
          matchIndex: self && s.role === 'leader' ? s.lastIndex : (m.match ?? 0),
          lag: self && s.role === 'leader' ? 0 : (m.lag ?? 0),
          ...(ext !== undefined ? { externalRpcAddr: ext } : {}),
        };
      }),
    );
  }

  private requireLeader(call: string): void {
    const n = this.o.node;
    if (n.isLeader) return;
    const leader = n.leaderId;
    const addr = leader !== null ? this.o.peers.get(leader)?.rpcAddr : undefined;
    throw new ClusterPreconditionError(
      `${call} must be sent to the leader: ${leader === null ? 'no leader is known now' : `leader is ${leader}${addr ? ` at ${addr}` : ''}`}`,
    );
  }

  private async change(call: string, run: () => Promise<unknown>): Promise<readonly MemberInfo[]> {
    this.requireLeader(call);
    try {
      await run();
    } catch (err) {
      if (err instanceof RaftNotLeaderError)
        throw new ClusterPreconditionError(
          `${call}: this node lost leadership; retry at the leader (${err.leaderHint ?? 'unknown'})`,
        );
      if (err instanceof ProposalRejectedError) throw new ClusterPreconditionError(`${call}: ${err.message}`);
      throw err;
    }
    return this.members();
  }

  private known(id: string): NodeId {
    return nodeId(id);
  }

  addLearner(id: string, rpcAddr: string): Promise<readonly MemberInfo[]> {
    // With the storage id its gossip advertises (if admitted): recorded in the configuration (issue 12).
    const storage = this.o.peers.get(id)?.storage;
    return this.change('AddLearner', () => this.o.node.addLearner(this.known(id), rpcAddr, storage));
  }

  promote(id: string): Promise<readonly MemberInfo[]> {
    const m = this.o.node.status().members.find((x) => x.id === id);
    if (m === undefined)
      return Promise.reject(
        new ClusterPreconditionError(`PromoteMember: ${id} is not a member; add it as a learner first`),
      );
    if (m.suffrage === 'voter') return this.members();
    return this.change('PromoteMember', () => this.o.node.promote(this.known(id)));
  }

  remove(id: string): Promise<readonly MemberInfo[]> {
    if (!this.o.node.status().members.some((x) => x.id === id))
      return Promise.reject(new ClusterPreconditionError(`RemoveMember: ${id} is not a member`));
    return this.change('RemoveMember', async () => {
      // Recorded first: the reconciler must not re-add the member between commit and our answer.
      this.o.removed?.add(id, this.o.peers.get(id)?.boot);
      await this.o.node.removeMember(this.known(id));
    });
  }

  async transferLeadership(targetId: string | undefined): Promise<string> {
    this.requireLeader('TransferLeadership');
    const target = targetId ?? pickTransferTarget(this.o.node);
    if (target === undefined) throw new ClusterPreconditionError('TransferLeadership: no other voter to transfer to');
    try {
      await this.o.node.transferLeadership(nodeId(target));
    } catch (err) {
      if (err instanceof ProposalRejectedError)
        throw new ClusterPreconditionError(`TransferLeadership: ${err.message}`);
      throw err;
    }
    return target;
  }
}

/** The most caught-up other voter (lowest lag), or undefined when this node is the only voter. */
export function pickTransferTarget(node: RaftNode): string | undefined {
  const s = node.status();
  const others = s.members.filter((m) => m.suffrage === 'voter' && m.id !== s.id);
  others.sort((a, b) => (a.lag ?? Number.MAX_SAFE_INTEGER) - (b.lag ?? Number.MAX_SAFE_INTEGER));
  return others[0]?.id;
}
