/**
 * The stable store: the small piece of Raft state that is not in the log — hard state
 * (term, vote, commit), the configuration, the snapshot record and the cluster id — kept in
 * one file that is replaced atomically (write temp, fsync, rename, fsync directory), so a
 * crash leaves either the old or the new state, never a mix (Raft Figure 2: term and vote
 * must be durable before the node answers).
 *
 * File format: "CLRS" magic, u8 version, 3 reserved bytes, u32 body length, u32 CRC-32 of
 * the body, then the body as UTF-8 JSON. A file that fails any check throws
 * {@link StableStateCorruptError}: forgetting a vote silently could elect two leaders.
 */
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  type ConfState,
  type HardState,
  type LogIndex,
  type NodeId,
  type Term,
  logIndex,
  nodeId,
  term,
} from '../core/types.js';
import { parseStorageIds } from '../core/conf-codec.js';
import { type FileSystem, readWholeFile, realFileSystem, writeFileDurable } from '../../log/index.js';
import { StableStateCorruptError } from './errors.js';
import { ProducerState, type ProducerStateJson } from './producer-state.js';

/** Name of the stable-state file inside a node's data directory. */
export const STABLE_FILE = 'raft-state';
const MAGIC = 0x434c5253; // "CLRS"
const VERSION = 1;
const HEADER = 16;

/**
 * The point the log was compacted to (or a snapshot installed at): Raft index `index` with
 * term `term` and configuration `confState`; `dataOffset` is the dense data offset of the
 * first data record after it (what `Log.reset(index + 1, dataOffset)` needs).
 */
export interface SnapshotRecord {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
  readonly dataOffset: number;
  /**
   * The producer state this snapshot carries (producer-state.ts; taken at or after `index`).
   * Absent in snapshots without idempotent producers and in files written before them.
   */
  readonly producers?: ProducerStateJson;
}

/** A configuration that took effect at a (applied) config entry's index. */
export interface ConfPoint {
  readonly index: LogIndex;
  readonly conf: ConfState;
}

/** Everything the stable store keeps. */
export interface StableState {
  readonly clusterId: string;
  readonly hardState: HardState;
  /** The configuration in force at `hardState.commit`. */
  readonly confState: ConfState;
  readonly snapshot: SnapshotRecord;
  /** Entries up to here were applied when this state was written (the restart's `applied`). */
  readonly applied: LogIndex;
  /** Configurations that took effect at applied indexes above `snapshot.index`, oldest first. */
  readonly confHistory: readonly ConfPoint[];
  /** Snapshot records prepared before a retention pass; used to finish one interrupted by a crash. */
  readonly compactCandidates: readonly SnapshotRecord[];
  /** The producer state at `applied` (absent: none yet, or a file written before producers existed). */
  readonly producers?: ProducerStateJson;
  /** The producer state the compaction candidates carry (one copy for all of them). */
  readonly compactProducers?: ProducerStateJson;
}

/** Serializes a state into the file format. */
export function encodeStableState(s: StableState): Buffer {
  const body = Buffer.from(JSON.stringify(s), 'utf8');
  const out = Buffer.alloc(HEADER + body.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt8(VERSION, 4);
  out.writeUInt32BE(body.length, 8);
  out.writeUInt32BE(crc32(body), 12);
  body.copy(out, HEADER);
  return out;
}

const isIdList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseConf(v: unknown, what: string, fail: (d: string) => never): ConfState {
  const o = v as { voters?: unknown; learners?: unknown; storage?: unknown } | null;
  if (o === null || typeof o !== 'object' || !isIdList(o.voters) || !isIdList(o.learners))
    fail(`${what} is not a configuration`);
  // Members' storage ids (issue 12): absent in files written before them.
  const storage = parseStorageIds(o.storage, [...o.voters, ...o.learners]);
  if (storage === null) fail(`${what}.storage is not a map of member → storage id`);
  return {
    voters: o.voters.map(nodeId),
    learners: o.learners.map(nodeId),
    ...(storage !== undefined && storage !== null ? { storage } : {}),
  };
}

function parseProducers(v: unknown, what: string, fail: (d: string) => never): ProducerStateJson | undefined {
  if (v === undefined) return undefined;
  try {
    return ProducerState.fromJSON(v).toJSON();
  } catch (err) {
    return fail(`${what}: ${(err as Error).message}`);
  }
}

function parseSnap(v: unknown, what: string, fail: (d: string) => never): SnapshotRecord {
  const o = v as {
    index?: unknown;
    term?: unknown;
    confState?: unknown;
    dataOffset?: unknown;
    producers?: unknown;
  } | null;
  if (o === null || typeof o !== 'object' || !isUint(o.index) || !isUint(o.term) || !isUint(o.dataOffset))
    fail(`${what} is not a snapshot record`);
  const producers = parseProducers(o.producers, `${what}.producers`, fail);
  return {
    index: logIndex(o.index),
    term: term(o.term),
    confState: parseConf(o.confState, `${what}.confState`, fail),
    dataOffset: o.dataOffset,
    ...(producers !== undefined ? { producers } : {}),
  };
}

/**
 * Parses and validates the file bytes.
 * @throws StableStateCorruptError naming what is wrong.
 */
export function decodeStableState(buf: Buffer, path: string): StableState {
  const fail = (detail: string): never => {
    throw new StableStateCorruptError(path, detail);
  };
  if (buf.length < HEADER) fail(`file is ${buf.length} bytes, shorter than its header`);
  if (buf.readUInt32BE(0) !== MAGIC) fail('bad magic');
  if (buf.readUInt8(4) !== VERSION) fail(`unsupported version ${buf.readUInt8(4)}`);
  const len = buf.readUInt32BE(8);
  if (len !== buf.length - HEADER) fail(`body length ${len} but ${buf.length - HEADER} bytes present (torn write?)`);
  const body = buf.subarray(HEADER);
  if (crc32(body) !== buf.readUInt32BE(12)) fail('checksum mismatch');
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    fail('body is not JSON');
  }
  const o = v as Record<string, unknown>;
  const hs = o.hardState as { term?: unknown; vote?: unknown; commit?: unknown } | undefined;
  if (typeof o.clusterId !== 'string' || o.clusterId === '') fail('clusterId missing');
  if (
    hs === undefined ||
    !isUint(hs.term) ||
    !isUint(hs.commit) ||
    !(hs.vote === null || (typeof hs.vote === 'string' && hs.vote !== ''))
  )
    fail('hardState invalid');
  if (!isUint(o.applied)) fail('applied invalid');
  if (!Array.isArray(o.confHistory) || !Array.isArray(o.compactCandidates)) fail('lists missing');
  const h = hs as { term: number; vote: string | null; commit: number };
  return {
    clusterId: o.clusterId as string,
    hardState: { term: term(h.term), vote: h.vote === null ? null : nodeId(h.vote), commit: logIndex(h.commit) },
    confState: parseConf(o.confState, 'confState', fail),
    snapshot: parseSnap(o.snapshot, 'snapshot', fail),
    applied: logIndex(o.applied as number),
    confHistory: (o.confHistory as unknown[]).map((p, i) => {
      const q = p as { index?: unknown; conf?: unknown } | null;
      if (q === null || typeof q !== 'object' || !isUint(q.index)) fail(`confHistory[${i}] invalid`);
      return {
        index: logIndex((q as { index: number }).index),
        conf: parseConf((q as { conf: unknown }).conf, `confHistory[${i}]`, fail),
      };
    }),
    compactCandidates: (o.compactCandidates as unknown[]).map((c, i) => parseSnap(c, `compactCandidates[${i}]`, fail)),
    ...optional('producers', parseProducers(o.producers, 'producers', fail)),
    ...optional('compactProducers', parseProducers(o.compactProducers, 'compactProducers', fail)),
  };
}

function optional<K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, V>);
}

/** The initial state of a node that has never run. */
export function freshStableState(clusterId: string, conf: ConfState): StableState {
  return {
    clusterId,
    hardState: { term: term(0), vote: null as NodeId | null, commit: logIndex(0) },
    confState: conf,
    snapshot: { index: logIndex(0), term: term(0), confState: conf, dataOffset: 0 },
    applied: logIndex(0),
    confHistory: [],
    compactCandidates: [],
  };
}

/** Reads and writes the stable-state file of one data directory. */
export class StableStore {
  private writes = 0;
  private constructor(
    readonly dir: string,
    private current: StableState | null,
    private readonly fs: FileSystem,
  ) {}

  /**
   * Opens the store in `dir` (on `fs`, the real disk by default) and reads the file if it exists.
   * @throws StableStateCorruptError when the file exists but is torn or corrupt.
   */
  static open(dir: string, fs: FileSystem = realFileSystem): Promise<StableStore> {
    const path = join(dir, STABLE_FILE);
    try {
      fs.mkdirp(dir);
      const buf = readWholeFile(fs, path);
      return Promise.resolve(new StableStore(dir, buf === undefined ? null : decodeStableState(buf, path), fs));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The state last written or read; null for a directory that never held one. */
  get state(): StableState | null {
    return this.current;
  }

  /** Number of durable writes made by this instance (for metrics and tests). */
  get writeCount(): number {
    return this.writes;
  }

  /** Replaces the state durably: temp file, fsync, rename over the old one, fsync the directory. */
  async save(s: StableState): Promise<void> {
    await writeFileDurable(join(this.dir, STABLE_FILE), encodeStableState(s), this.fs);
    this.current = s;
    this.writes++;
  }
}
