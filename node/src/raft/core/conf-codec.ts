/**
 * Encoding of `config` log entries: the single-server change *and* the full configuration
 * it produces. Carrying the whole configuration makes the log self-describing: a node
 * that joined with no configuration learns the complete membership from the first config
 * entry it applies, without needing bootstrap entries in the log. Small JSON, so log
 * dumps stay readable; decoding validates the shape and throws on garbage.
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
  return enc.encode(
    JSON.stringify({ type: e.change.type, node: e.change.node, voters: e.conf.voters, learners: e.conf.learners }),
  );
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
  const o = v as { type?: unknown; node?: unknown; voters?: unknown; learners?: unknown };
  const voters = ids(o.voters);
  const learners = ids(o.learners);
  if (
    (o.type === 'addLearner' || o.type === 'promote' || o.type === 'remove') &&
    typeof o.node === 'string' &&
    o.node !== '' &&
    voters !== null &&
    learners !== null
  ) {
    return { change: { type: o.type, node: nodeId(o.node) }, conf: { voters, learners } };
  }
  throw new RaftInvariantError('config entry has an invalid shape', { text: dec.decode(data).slice(0, 100) });
}
