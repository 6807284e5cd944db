/**
 * Encoding of {@link ConfChange} inside `config` log entries: small JSON, so logs stay
 * readable in dumps. Decoding validates the shape and throws on garbage.
 */
import { RaftInvariantError } from './errors.js';
import { nodeId, type ConfChange } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Serializes a configuration change for a `config` entry. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return enc.encode(JSON.stringify({ type: cc.type, node: cc.node }));
}

/** Parses a `config` entry's data. @throws RaftInvariantError when it is not a valid change. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    throw new RaftInvariantError('config entry is not JSON', { bytes: data.byteLength });
  }
  const o = v as { type?: unknown; node?: unknown };
  if ((o.type === 'addLearner' || o.type === 'promote' || o.type === 'remove') && typeof o.node === 'string' && o.node !== '') {
    return { type: o.type, node: nodeId(o.node) };
  }
  throw new RaftInvariantError('config entry has an invalid shape', { text: dec.decode(data).slice(0, 100) });
}
