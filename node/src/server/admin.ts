/**
 * What the Admin service needs from the node: status, members and membership changes.
 * The cluster agent implements {@link ClusterAdmin} over Raft; {@link StandaloneAdmin} is
 * the single node without Raft, which answers membership calls FAILED_PRECONDITION.
 */
import type { LogBackend } from './backend.js';
import { ServerError, ServerErrorCode } from './errors.js';

/** Role of a node, as in admin.proto. */
export const NodeRole = {
  leader: 'leader',
  follower: 'follower',
  candidate: 'candidate',
  learner: 'learner',
  standalone: 'standalone',
} as const;
/** One of {@link NodeRole}. */
export type NodeRole = (typeof NodeRole)[keyof typeof NodeRole];

/** A node's view of itself. Bounds are dense user offsets; `next === lowest` = empty log. */
export interface NodeStatus {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly role: NodeRole;
  readonly leaderId: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lowestOffset: number;
  readonly nextOffset: number;
  readonly rpcAddr: string;
}

/** One member of the Raft configuration. */
export interface MemberInfo {
  readonly id: string;
  readonly rpcAddr: string;
  readonly suffrage: 'voter' | 'learner';
  readonly isLeader: boolean;
  readonly matchIndex: number;
  readonly lag: number;
  readonly externalRpcAddr?: string;
}

/** The operator's view of a node. Membership calls resolve once the change committed. */
export interface ClusterAdmin {
  status(): NodeStatus;
  members(): Promise<readonly MemberInfo[]>;
  addLearner(id: string, rpcAddr: string): Promise<readonly MemberInfo[]>;
  promote(id: string): Promise<readonly MemberInfo[]>;
  remove(id: string): Promise<readonly MemberInfo[]>;
  /** Resolves with the new leader's id. */
  transferLeadership(targetId: string | undefined): Promise<string>;
}

function standaloneOnly(call: string): ServerError {
  return new ServerError(
    ServerErrorCode.failedPrecondition,
    `${call} needs a Raft cluster; this node runs standalone (single node without Raft)`,
  );
}

/** The single node: it is its own only member and leader; membership cannot change. */
export class StandaloneAdmin implements ClusterAdmin {
  constructor(
    private readonly backend: LogBackend,
    private readonly nodeId: string,
    private readonly rpcAddr: string,
  ) {}

  status(): NodeStatus {
    const b = this.backend.bounds();
    return {
      nodeId: this.nodeId,
      clusterId: '',
      role: NodeRole.standalone,
      leaderId: this.nodeId,
      term: 0,
      commitIndex: b.next,
      appliedIndex: b.next,
      lowestOffset: b.lowest,
      nextOffset: b.next,
      rpcAddr: this.rpcAddr,
    };
  }

  members(): Promise<readonly MemberInfo[]> {
    return Promise.resolve([
      {
        id: this.nodeId,
        rpcAddr: this.rpcAddr,
        suffrage: 'voter',
        isLeader: true,
        matchIndex: this.backend.bounds().next,
        lag: 0,
      },
    ]);
  }

  addLearner(): Promise<readonly MemberInfo[]> {
    return Promise.reject(standaloneOnly('AddLearner'));
  }
  promote(): Promise<readonly MemberInfo[]> {
    return Promise.reject(standaloneOnly('PromoteMember'));
  }
  remove(): Promise<readonly MemberInfo[]> {
    return Promise.reject(standaloneOnly('RemoveMember'));
  }
  transferLeadership(): Promise<string> {
    return Promise.reject(standaloneOnly('TransferLeadership'));
  }
}
