/**
 * Encoding of `config` log entries: the single-server change *and* the full configuration
 * it produces. Carrying the whole configuration makes the log self-describing: a node
 * that joined with no configuration learns the complete membership from the first config
 * entry it applies, without needing bootstrap entries in the log. Small JSON, so log
 * dumps stay readable; decoding validates the shape and throws on garbage.
 *
 * Storage ids (issue 12): an `addLearner` may carry the new member's storage id (`storage`)
 * and the configuration the members' ids (`storageIds`, {@link ConfState.storage}). Both are
 * optional fields: entries written before them decode as before (no storage ids), and nodes
 * that predate them ignore them.
 */
import { RaftInvariantError } from './errors.js';
import { nodeId, type ConfChange, type ConfState, type NodeId } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The payload of a `config` entry. */
export interface ConfEntry {
  readonly change: ConfChange;
  /** The configuration once `change` is applied. */
  readonly conf: ConfState;
}

/** Serializes a configuration change and its resulting configuration. */
export function encodeConfEntry(e: ConfEntry): Uint8Array {
  const c = e.change;
  return enc.encode(
    JSON.stringify({
      type: c.type,
      node: c.node,
      ...(c.type === 'addLearner' && c.storage !== undefined ? { storage: c.storage } : {}),
      voters: e.conf.voters,
      learners: e.conf.learners,
      ...(e.conf.storage !== undefined ? { storageIds: e.conf.storage } : {}),
    }),
  );
}

/** A storage id as the agent makes them: non-empty, at most 256 characters. */
const isStorageId = (v: unknown): v is string => typeof v === 'string' && v !== '' && v.length <= 256;

/**
 * Validates a member → storage id map (undefined when absent); null when malformed. Only
 * members of the configuration may have one.
 */
export function parseStorageIds(
  v: unknown,
  members: readonly string[],
): Readonly<Record<string, string>> | undefined | null {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const entries = Object.entries(v as Record<string, unknown>);
  if (!entries.every(([id, s]) => members.includes(id) && isStorageId(s))) return null;
  return entries.length === 0 ? undefined : (v as Record<string, string>);
}

const ids = (v: unknown): NodeId[] | null =>
  Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '') ? (v as string[]).map(nodeId) : null;

/** Parses a `config` entry's data. @throws RaftInvariantError when it is not a valid config entry. */
export function decodeConfEntry(data: Uint8Array): ConfEntry {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    throw new RaftInvariantError('config entry is not JSON', { bytes: data.byteLength });
  }
  const o = v as {
    type?: unknown;
    node?: unknown;
    storage?: unknown;
    voters?: unknown;
    learners?: unknown;
    storageIds?: unknown;
  };
  const voters = ids(o.voters);
  const learners = ids(o.learners);
  const storage = voters !== null && learners !== null ? parseStorageIds(o.storageIds, [...voters, ...learners]) : null;
  if (
    (o.type === 'addLearner' || o.type === 'promote' || o.type === 'remove') &&
    typeof o.node === 'string' &&
    o.node !== '' &&
    (o.storage === undefined || (o.type === 'addLearner' && isStorageId(o.storage))) &&
    voters !== null &&
    learners !== null &&
    storage !== null
  ) {
    const node = nodeId(o.node);
    const change: ConfChange =
      o.type === 'addLearner' && typeof o.storage === 'string'
        ? { type: o.type, node, storage: o.storage }
        : { type: o.type, node };
    return { change, conf: { voters, learners, ...(storage !== undefined ? { storage } : {}) } };
  }
  throw new RaftInvariantError('config entry has an invalid shape', { text: dec.decode(data).slice(0, 100) });
}
