/**
 * What the reconcile needs from the nodes' Admin service (node/api/v1/admin.proto), as a
 * small interface: the gRPC implementation is `admin-grpc.ts`; tests use a scripted fake.
 * Member ids are pod names (the node runs with `--node-id $(POD_NAME)`).
 */

/** One Raft member as the leader reports it. */
export interface AdminMember {
  readonly id: string;
  readonly rpcAddr: string;
  readonly role: 'voter' | 'learner';
  readonly isLeader: boolean;
  readonly lag: number;
  readonly externalRpcAddr?: string;
}

/** A node's own view. */
export interface AdminStatus {
  readonly nodeId: string;
  readonly clusterId: string;
  readonly leaderId: string;
  readonly role: 'leader' | 'follower' | 'candidate' | 'learner' | 'standalone' | 'unknown';
}

/** Admin calls on one cluster; `pod` is the pod whose node answers (any member forwards reads). */
export interface NodeAdmin {
  status(pod: string): Promise<AdminStatus>;
  members(pod: string): Promise<readonly AdminMember[]>;
  /** Removes `id`; resolves with the configuration after the change committed. Leader only. */
  removeMember(leaderPod: string, id: string): Promise<readonly AdminMember[]>;
  /** Hands leadership to `targetId` (or the best voter); resolves with the new leader id. */
  transferLeadership(leaderPod: string, targetId?: string): Promise<string>;
  close(): void;
}

/** Opens a {@link NodeAdmin} for a cluster, given the operator's client certificate. */
export type NodeAdminFactory = (target: {
  readonly namespace: string;
  readonly headlessService: string;
  readonly rpcPort: number;
  readonly tls?: { readonly caPem: string; readonly certPem: string; readonly keyPem: string };
}) => NodeAdmin;
