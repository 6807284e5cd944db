/**
 * Gossip → Raft membership (the book's Serf handler, done safely). Level-triggered: each
 * pass re-reads gossip and the Raft configuration and makes at most ONE change:
 *
 *   1. an alive gossip member of our cluster that is not in the configuration → add it as
 *      a learner (it cannot affect quorum while it catches up);
 *   2. a learner that asks to be a voter (tag role=voter) and is nearly caught up (lag at
 *      most {@link PROMOTE_MAX_LAG} entries on the leader) → promote it. The core has the
 *      final word (it refuses a learner whose match is below the commit index), so a
 *      refusal only means "try again on the next pass"; asking for lag 0 exactly would
 *      starve promotion under a steady write load.
 *
 * A member removed through Admin RemoveMember is not re-added while the same process is
 * still alive in gossip (the operator removes it, then deletes its pod): {@link RemovedMembers}
 * remembers it by boot id until gossip reports it left or reaped. Every node (not only the leader that
 * made the change) learns the removal from the configuration it applies — each pass first
 * compares the configuration with the one it saw last — so a leader elected between the
 * removal and the pod's deletion does not add the member back either.
 *
 * Identity (issue 12): a gossip member is admitted — recorded in the peer directory (which
 * GetServers and Produce forwarding read), given to the Raft transport as an address, and
 * considered for the configuration — only once its gossip name equals its Raft id and the
 * certificate served at its advertised RPC address names it (identity.ts). Gossip alone
 * proves nothing: a process that knows the gossip key but has no node certificate for the
 * name it claims never becomes a member and never redirects a member's traffic.
 *
 * Storage identity (issue 12, storage-id.ts): a member of the configuration whose gossip
 * storage id differs from the one it is known by (the configuration's, else the local
 * record) has lost its disk. It is replaced: removed (step 0, before anything else), then —
 * being alive and no longer a member — added again as a learner with its new storage id by
 * step 1, and promoted by step 2 only after it caught up from scratch. Its removal is a
 * replacement, not a scale-down, so {@link RemovedMembers} does not remember it.
 *
 * Only the leader acts. A pass runs on every gossip join/update, on every leader change and
 * every `resyncMs` (so a change interrupted by a leader change is retried by the next
 * leader). Gossip `failed` and `leave` events never remove a member: pods restart; removal
 * is explicit (Admin RemoveMember).
 */
import { nodeId, type RaftNode } from '../raft/index.js';
import { realClock, type ShellClock, type ShellTimer } from '../raft/shell/loop-clock.js';
import type { Gossip, MemberEvent, MemberInfo } from '../gossip/index.js';
import type { VerifiedMembers } from './identity.js';
import type { PeerDirectory, PeerInfo } from './peers.js';
import { MemberStorageIds } from './storage-id.js';

/** Minimal logger. */
interface Log {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  debug(o: object, msg: string): void;
}

/**
 * Members removed from the configuration (through Admin on this node, or seen leaving the
 * configuration this node applies), not to be re-added from gossip while they are the same
 * process: each removal records the member's boot id (a gossip tag, random per process
 * start), and only a member whose boot id differs — a restarted or re-created pod — may be
 * added again. A gossip *failure* does not end the memory: on a busy machine a live member
 * is easily suspected and declared failed, then refutes and is alive again, and re-adding
 * it would undo a scale-down (the operator then shrinks the StatefulSet under a voter that
 * is about to disappear). A graceful leave or a reap ends it. In memory: a node that
 * restarts forgets, and learns removals again only from changes it applies after its start
 * — so the operator still removes a member right before stopping it.
 */
export class RemovedMembers {
  /** Removed id → boot id of the process that was removed (undefined: none known then). */
  private readonly ids = new Map<string, string | undefined>();
  private lastConfig: ReadonlySet<string> | undefined;

  /**
   * Records the current configuration's member ids; every id that was in the previously
   * observed configuration and is not any more counts as removed, with the boot id
   * `bootOf` knows for it now. Returns those ids.
   */
  observe(memberIds: Iterable<string>, bootOf: (id: string) => string | undefined = () => undefined): string[] {
    const now = new Set(memberIds);
    const gone = this.lastConfig === undefined ? [] : [...this.lastConfig].filter((id) => !now.has(id));
    for (const id of gone) if (!this.ids.has(id)) this.ids.set(id, bootOf(id));
    this.lastConfig = now;
    return gone;
  }
  /** Records an explicit removal of the process with boot id `boot`. */
  add(id: string, boot?: string): void {
    this.ids.set(id, boot);
  }
  /** Forgets `id` (it left gossip gracefully or was reaped). */
  forget(id: string): void {
    this.ids.delete(id);
  }
  /** True while `id` with boot id `boot` is the removed process and must not be re-added. */
  has(id: string, boot?: string): boolean {
    return this.ids.has(id) && this.ids.get(id) === boot;
  }
}

/** A learner this close to the leader's last index is worth a promotion attempt. */
export const PROMOTE_MAX_LAG = 64;

/** What one pass decided. */
export type MembershipStep =
  | { readonly type: 'none' }
  /** The member's storage changed (wiped disk): remove it; it is added again as a new learner. */
  | { readonly type: 'replace'; readonly id: string; readonly recorded: string; readonly storage: string }
  /** `storage`: the id its gossip advertises, recorded in the replicated configuration with it. */
  | { readonly type: 'add-learner'; readonly id: string; readonly rpcAddr: string; readonly storage?: string }
  | { readonly type: 'promote'; readonly id: string };

/**
 * Pure decision of one pass from the Raft members, the alive gossip peers and the storage
 * id recorded for each member (`recorded`; undefined: none known, nothing to compare).
 */
export function nextMembershipStep(
  members: readonly {
    readonly id: string;
    readonly suffrage: 'voter' | 'learner';
    readonly lag?: number | undefined;
  }[],
  alivePeers: readonly {
    readonly raftId: string;
    readonly rpcAddr: string;
    readonly role: string;
    readonly storage?: string | undefined;
  }[],
  recorded: (id: string) => string | undefined = () => undefined,
): MembershipStep {
  const byId = new Map(members.map((m) => [m.id, m]));
  for (const p of [...alivePeers].sort((a, b) => a.raftId.localeCompare(b.raftId))) {
    const was = recorded(p.raftId);
    if (byId.has(p.raftId) && p.storage !== undefined && was !== undefined && was !== p.storage)
      return { type: 'replace', id: p.raftId, recorded: was, storage: p.storage };
  }
  for (const p of [...alivePeers].sort((a, b) => a.raftId.localeCompare(b.raftId))) {
    if (!byId.has(p.raftId))
      return {
        type: 'add-learner',
        id: p.raftId,
        rpcAddr: p.rpcAddr,
        ...(p.storage !== undefined ? { storage: p.storage } : {}),
      };
  }
  const wantsVoter = new Set(alivePeers.filter((p) => p.role === 'voter').map((p) => p.raftId));
  for (const m of members) {
    if (m.suffrage === 'learner' && wantsVoter.has(m.id) && m.lag !== undefined && m.lag <= PROMOTE_MAX_LAG)
      return { type: 'promote', id: m.id };
  }
  return { type: 'none' };
}

/** Runs {@link nextMembershipStep} on the leader. Create, then `start()`; `stop()` on shutdown. */
export class MembershipReconciler {
  private timer: ShellTimer | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly node: RaftNode,
    private readonly gossip: Gossip,
    private readonly peers: PeerDirectory,
    private readonly resyncMs: number,
    private readonly log: Log,
    private readonly removed: RemovedMembers = new RemovedMembers(),
    /** Identity checks; undefined admits every gossip member (unit tests of other rules only). */
    private readonly verified?: VerifiedMembers,
    /** Storage ids recorded per member, and a hook told of each replacement (metrics). */
    private readonly storage: {
      readonly ids: MemberStorageIds;
      readonly onReplace?: (id: string) => void;
    } = { ids: MemberStorageIds.inMemory() },
    /** The resync timer's clock (default: real time; tests and the simulator pass a manual one). */
    private readonly clock: ShellClock = realClock,
  ) {}

  /**
   * The member as a peer if it is admitted (verified identity), recording it in the
   * directory and the transport; otherwise undefined, and a check is started — when it
   * passes, a pass runs again.
   */
  private admit(m: MemberInfo): PeerInfo | undefined {
    const p = this.peers.parse(m);
    if (p === undefined || p.raftId === this.node.id) return undefined;
    if (p.raftId !== m.name) {
      this.log.warn({ member: m.name, raftId: p.raftId }, 'membership: gossip name and Raft id differ; not admitted');
      return undefined;
    }
    if (this.verified !== undefined && !this.verified.has(p.raftId, p.rpcAddr)) {
      this.verified.check(p.raftId, p.rpcAddr, (why) => {
        if (why === null) {
          this.log.info(
            { member: p.raftId, rpcAddr: p.rpcAddr },
            'membership: identity verified (its certificate names it)',
          );
          this.kick();
        } else {
          this.log.warn(
            { member: p.raftId, rpcAddr: p.rpcAddr, why },
            'membership: identity not verified; gossip member not admitted',
          );
        }
      });
      return undefined;
    }
    const known = this.peers.get(p.raftId);
    this.peers.update(m);
    // Addresses may change across restarts (new pod IP): keep the transport's view current.
    if (known?.rpcAddr !== p.rpcAddr) this.node.setPeerAddress(nodeId(p.raftId), p.rpcAddr);
    return p;
  }

  /** Subscribes to gossip and leader changes and starts the resync timer. */
  start(): void {
    const onEvent = (e: MemberEvent): void => {
      const p = this.peers.parse(e.member);
      if (p === undefined || p.raftId === this.node.id) return;
      if (e.type === 'join' || e.type === 'update') {
        if (this.admit(e.member) !== undefined) this.kick();
        return;
      }
      // Failed / left / reaped: the state of an admitted member is recorded; no address changes.
      if (this.verified === undefined || this.verified.has(p.raftId, p.rpcAddr)) this.peers.update(e.member);
      // A failure may be a false suspicion of a live process (RemovedMembers): only a leave
      // or a reap ends the memory of a removal.
      if (e.type === 'leave' || e.type === 'reap') this.removed.forget(p.raftId);
      if (e.type === 'failed' || e.type === 'leave')
        this.log.info(
          { member: p.raftId, event: e.type },
          'gossip: member failed or left; it stays a Raft member (remove it explicitly with Admin RemoveMember)',
        );
    };
    this.gossip.on('event', onEvent);
    this.offs.push(() => this.gossip.off('event', onEvent as (x: never) => void));
    for (const m of this.gossip.members()) this.admit(m);
    this.offs.push(this.node.onLeaderChange(() => this.kick()));
    // Every applied batch may carry a configuration change: observe it then, not only at the
    // next pass — a member added and removed between two passes (a busy machine delays the
    // resync timer) would otherwise never be seen leaving, and a later leader re-adds it.
    this.offs.push(this.node.onApplied(() => this.observeConfig()));
    this.resync();
    this.kick();
  }

  /** Arms the next periodic pass (every `resyncMs`, on the injected clock). */
  private resync(): void {
    if (this.stopped) return;
    this.timer = this.clock.after(this.resyncMs, () => {
      this.kick();
      this.resync();
    });
    this.timer.unref();
  }

  /** Runs a pass now (or right after the one in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Records members that left the configuration since the last look (on every node: a future leader must know). */
  private observeConfig(): void {
    const members = this.node.status().members.map((m) => m.id);
    const gone = this.removed.observe(members, (id) => this.peers.get(id)?.boot);
    // A member removed because its storage changed is a replacement: it may (must) be added again.
    const replaced = gone.filter((id) => this.storageChanged(id) !== undefined);
    for (const id of replaced) this.removed.forget(id);
    const removed = gone.filter((id) => !replaced.includes(id));
    if (removed.length > 0)
      this.log.info(
        { members: removed },
        'membership: removed from the configuration; not re-adding them while they are alive in gossip',
      );
    if (replaced.length > 0)
      this.log.info({ members: replaced }, 'membership: replaced members (storage changed) may join again as learners');
    this.recordStorage(members);
  }

  /**
   * The storage id `id` is known by: the one the replicated configuration records (it was
   * added with it), else this node's local record (a member added by an older version).
   */
  private recorded(id: string): string | undefined {
    return this.node.memberStorage(nodeId(id)) ?? this.storage.ids.get(id);
  }

  /** The member's gossip storage id when it differs from the one recorded for it. */
  private storageChanged(id: string): string | undefined {
    const now = this.peers.get(id)?.storage;
    const was = this.recorded(id);
    return now !== undefined && was !== undefined && now !== was ? now : undefined;
  }

  /**
   * Forgets members no longer configured; mirrors the storage id the configuration records
   * for a member, else records the gossip storage id of a configured member that has none yet.
   */
  private recordStorage(members: readonly string[]): void {
    const writes = [this.storage.ids.retain(new Set(members))];
    for (const id of members) {
      const configured = this.node.memberStorage(nodeId(id));
      const now = this.peers.get(id)?.storage;
      if (configured !== undefined) writes.push(this.storage.ids.set(id, configured));
      else if (now !== undefined && this.storage.ids.get(id) === undefined) writes.push(this.storage.ids.set(id, now));
    }
    for (const w of writes)
      w.catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, 'membership: could not persist member storage ids'),
      );
  }

  private async pass(): Promise<void> {
    this.observeConfig();
    // Also on every node: a follower needs its peers' (verified) addresses to answer them.
    const alive = this.gossip
      .aliveMembers()
      .map((m) => this.admit(m))
      .filter((p) => p !== undefined && !this.removed.has(p.raftId, p.boot))
      .map((p) => p as NonNullable<typeof p>);
    this.recordStorage(this.node.status().members.map((m) => m.id));
    if (!this.node.isLeader) return;
    const step = nextMembershipStep(this.node.status().members, alive, (id) => this.recorded(id));
    if (step.type === 'none') return;
    try {
      if (step.type === 'replace') {
        this.log.warn(
          { member: step.id, recordedStorage: step.recorded, storage: step.storage },
          'membership: member came back with a different storage id (wiped or replaced data dir); removing it to re-add it as a new learner',
        );
        await this.node.removeMember(nodeId(step.id));
        this.storage.onReplace?.(step.id);
      } else if (step.type === 'add-learner') {
        this.log.info(
          { member: step.id, rpcAddr: step.rpcAddr, storage: step.storage },
          'membership: adding gossip member as a Raft learner',
        );
        await this.node.addLearner(nodeId(step.id), step.rpcAddr, step.storage);
      } else {
        this.log.info({ member: step.id }, 'membership: promoting caught-up learner to voter');
        await this.node.promote(nodeId(step.id));
      }
      this.log.info({ member: step.id, change: step.type }, 'membership: change committed');
      this.again = true;
    } catch (err) {
      // Refusals (not caught up, change pending, lost leadership) are expected: the next pass retries.
      this.log.debug(
        { member: step.id, change: step.type, err: (err as Error).message },
        'membership: change not made now; will retry',
      );
    }
  }

  /** Stops reacting; waits for a change in flight to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    for (const off of this.offs) off();
    await this.running;
  }
}
