/**
 * Storage identity (issue 12): every data directory carries a random storage id, written
 * durably when the directory is first used, and advertised in gossip (tag `storage`). A
 * member whose name is unchanged but whose storage id changed has lost its disk (a wiped
 * or replaced data directory): it no longer holds the entries it acknowledged nor the vote
 * it cast, so it must never be counted as the old voter. The membership reconciler
 * replaces such a member — removes it, then adds it again as a learner that catches up
 * from scratch before it is promoted (membership.ts).
 *
 * To notice a change, every node must know the storage id each member of the configuration
 * had when it was added, so a leader elected after the wipe knows the old id too. That id is
 * part of the replicated configuration (`ConfState.storage`, raft/core/types.ts): the leader
 * adds a member with the id its gossip advertises, and every node learns it from the log or
 * a snapshot, whatever it missed meanwhile (a node down while a member was replaced
 * included). {@link MemberStorageIds} (a small durable file in the node's own data dir) is
 * the fallback for members the configuration has no id for (added by a version before it,
 * or bootstrapped): such a member first seen with no record is recorded as it is.
 *
 * Between the wipe and the replacement the wiped node still has the old member's id and
 * certificate, an empty log and no vote recorded: counted as the old voter, it could vote
 * twice in one term or acknowledge entries it will never hold. So the Raft transport carries
 * each sender's storage id in its hello (raft/shell/codec.ts, wire v2) and drops every message
 * whose sender is not heard by {@link storageHeard}.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable } from '../log/index.js';

/** File names inside the data directory. */
const STORAGE_ID_FILE = 'storage-id';
const MEMBER_STORAGE_FILE = 'member-storage.json';

/** This data directory's storage id; `created` when this start made it (a new or wiped directory). */
export interface StorageIdentity {
  readonly id: string;
  readonly created: boolean;
}

/**
 * Reads the data directory's storage id, creating it (durably, before anything else is
 * written there by Raft) when it is missing. A malformed file is an error, not a new id:
 * silently changing identity would make the cluster treat a healthy member as wiped.
 */
export async function openStorageId(dataDir: string): Promise<StorageIdentity> {
  const path = join(dataDir, STORAGE_ID_FILE);
  if (existsSync(path)) {
    const id = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`${path} does not hold a storage id (32 hex digits): '${id}'`);
    return { id, created: false };
  }
  const id = randomBytes(16).toString('hex');
  await writeFileDurable(path, Buffer.from(`${id}\n`));
  return { id, created: true };
}

/**
 * Replaces the data directory's storage id with a new one (durably): the directory lost
 * data it had acknowledged (a damaged log tail), so to the cluster it is a new member.
 */
export async function renewStorageId(dataDir: string): Promise<StorageIdentity> {
  const id = randomBytes(16).toString('hex');
  await writeFileDurable(join(dataDir, STORAGE_ID_FILE), Buffer.from(`${id}\n`));
  return { id, created: true };
}

/**
 * Whether the Raft transport hears a sender (issue 12): `recorded` is the storage id this
 * node knows it by — the configuration's, else the local record (undefined: none — a new
 * member, or one not recorded yet: heard, so a
 * brand-new member can join), `hello` the one its connection's hello carried (undefined: a v1
 * hello), `sendsStorage` whether its gossip tags say it speaks wire v2 (and so would have
 * sent its storage id). A v1 hello from a node older than v2 cannot say: it is heard (rolling
 * upgrades); from a node that speaks v2 it is not — it is re-sent as v2 once the sender
 * sees our `wire` tag.
 */
export function storageHeard(o: {
  readonly recorded: string | undefined;
  readonly hello: string | undefined;
  readonly sendsStorage: boolean;
}): boolean {
  if (o.recorded === undefined) return true;
  if (o.hello === undefined) return !o.sendsStorage;
  return o.hello === o.recorded;
}

/**
 * The storage id last seen for each member of the configuration, kept durably in
 * `member-storage.json`: the id the configuration records for it (mirrored), else the one
 * its gossip showed when first seen. Writes are serialised; a failed write is logged by the
 * caller and retried on the next change (the record is a fallback, the configuration is the
 * truth).
 */
export class MemberStorageIds {
  private readonly ids: Map<string, string>;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string | undefined,
    initial: Iterable<[string, string]>,
  ) {
    this.ids = new Map(initial);
  }

  /** Loads the record from `dataDir` (empty when absent). */
  static open(dataDir: string): MemberStorageIds {
    const path = join(dataDir, MEMBER_STORAGE_FILE);
    if (!existsSync(path)) return new MemberStorageIds(path, []);
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`${path} is not a JSON object of member → storage id`);
    const entries = Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string');
    return new MemberStorageIds(path, entries);
  }

  /** An in-memory record (tests of the reconciler's rules). */
  static inMemory(initial: Iterable<[string, string]> = []): MemberStorageIds {
    return new MemberStorageIds(undefined, initial);
  }

  /** The storage id recorded for `member`. */
  get(member: string): string | undefined {
    return this.ids.get(member);
  }

  /** Records `storage` for `member` (no write when unchanged). */
  set(member: string, storage: string): Promise<void> {
    if (this.ids.get(member) === storage) return this.writing;
    this.ids.set(member, storage);
    return this.persist();
  }

  /** Keeps only the members in `members` (the rest left the configuration). */
  retain(members: ReadonlySet<string>): Promise<void> {
    const gone = [...this.ids.keys()].filter((m) => !members.has(m));
    if (gone.length === 0) return this.writing;
    for (const m of gone) this.ids.delete(m);
    return this.persist();
  }

  private persist(): Promise<void> {
    const path = this.path;
    if (path === undefined) return this.writing;
    const bytes = Buffer.from(`${JSON.stringify(Object.fromEntries(this.ids))}\n`);
    this.writing = this.writing.catch(() => {}).then(() => writeFileDurable(path, bytes));
    return this.writing;
  }
}
