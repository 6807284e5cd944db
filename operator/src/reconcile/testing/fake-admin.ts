/**
 * An in-memory NodeAdmin: a Raft configuration that membership calls change, with a log of
 * calls. Used by reconcile tests until the node agent exists.
 */
import type { AdminMember, AdminStatus, NodeAdmin, NodeAdminFactory } from '../admin.js';

/** A caught-up voter `id` (RPC address `<id>:8400`), the leader when `isLeader`. */
export const fakeVoter = (id: string, isLeader = false): AdminMember => ({
  id,
  rpcAddr: `${id}:8400`,
  role: 'voter',
  isLeader,
  lag: 0,
});

/** Scripted Admin service of one cluster. */
export class FakeNodeAdmin implements NodeAdmin {
  readonly calls: string[] = [];
  /** Pods that answer; others reject as unreachable. */
  reachable = new Set<string>();

  constructor(public members_: AdminMember[]) {}

  /** A formed cluster: every pod in `ids` a caught-up voter that answers, the first the leader. */
  static formed(ids: readonly string[]): FakeNodeAdmin {
    const admin = new FakeNodeAdmin(ids.map((id, i) => fakeVoter(id, i === 0)));
    admin.reachable = new Set(ids);
    return admin;
  }

  /** A factory that always returns this instance. */
  factory(): NodeAdminFactory {
    return () => this;
  }

  private check(pod: string): void {
    if (!this.reachable.has(pod)) throw new Error(`${pod} unreachable`);
  }

  status(pod: string): Promise<AdminStatus> {
    this.check(pod);
    const leader = this.members_.find((m) => m.isLeader)?.id ?? '';
    return Promise.resolve({
      nodeId: pod,
      clusterId: 'c',
      leaderId: leader,
      role: leader === pod ? 'leader' : 'follower',
    });
  }

  members(pod: string): Promise<readonly AdminMember[]> {
    this.check(pod);
    return Promise.resolve(this.members_.map((m) => ({ ...m })));
  }

  removeMember(leaderPod: string, id: string): Promise<readonly AdminMember[]> {
    this.check(leaderPod);
    this.calls.push(`remove ${id} via ${leaderPod}`);
    if (!this.members_.find((m) => m.id === leaderPod)?.isLeader) return Promise.reject(new Error('not leader'));
    this.members_ = this.members_.filter((m) => m.id !== id);
    return this.members(leaderPod);
  }

  transferLeadership(leaderPod: string, targetId?: string): Promise<string> {
    this.check(leaderPod);
    const target = targetId ?? this.members_.find((m) => !m.isLeader && m.role === 'voter')?.id ?? '';
    this.calls.push(`transfer ${leaderPod} -> ${target}`);
    this.members_ = this.members_.map((m) => ({ ...m, isLeader: m.id === target }));
    return Promise.resolve(target);
  }

  close(): void {
    /* nothing to release */
  }
}
