/**
 * What a node's committed log holds, as the values the simulated clients produced: the
 * records its state machine applied plus the user entries it knows are committed but has not
 * applied yet.
 *
 * The second part matters after a restart. A node persists its applied index lazily (the
 * shell defers commit-only stable-state writes), so a node that comes back from a crash
 * rebuilds its state machine only up to the last applied index it wrote, which may lag its
 * durable commit index; it re-applies the rest with its next Ready. Its state machine alone
 * is then missing committed records that every client could already read.
 */
import { logIndex } from '../core/types.js';
import { decodePdata } from '../shell/pdata.js';
import type { SimMember } from './sim-member.js';

const dec = new TextDecoder();

/**
 * The values of every record `node` holds as committed: applied (its state machine) or
 * committed and not yet applied (its log up to its commit index). A running node only (the
 * commit index comes from its Raft status).
 * @throws Error when the node is down.
 */
export function committedValues(node: SimMember): Set<string> {
  const st = node.raw?.status();
  if (st === undefined) throw new Error(`${node.id} is down: its commit index is unknown`);
  const values = new Set(node.sm.records.map((r) => r.value));
  const lo = Math.max(node.sm.applied + 1, node.storage.firstIndex());
  if (lo > st.commit) return values;
  for (const e of node.storage.entries(logIndex(lo), logIndex(st.commit + 1), Number.MAX_SAFE_INTEGER)) {
    if (e.type === 'data') values.add(dec.decode(e.data));
    else if (e.type === 'pdata') values.add(dec.decode(decodePdata(e.data).value));
  }
  return values;
}

/**
 * The offset of each value in `node`'s committed log (see {@link committedValues}): the
 * applied records at their offsets, then committed data entries not yet applied at the
 * offsets they will get. Left out: a value that occurs twice (at-least-once retries) and
 * anything from the first unapplied `pdata` entry on (its deduplication is decided at apply).
 * @throws Error when the node is down.
 */
export function committedOffsets(node: SimMember): Map<string, number> {
  const st = node.raw?.status();
  if (st === undefined) throw new Error(`${node.id} is down: its commit index is unknown`);
  const at = new Map<string, number>();
  const twice = new Set<string>();
  const put = (value: string, offset: number): void => {
    if (at.has(value)) twice.add(value);
    else at.set(value, offset);
  };
  for (const r of node.sm.records) put(r.value, r.offset);
  const lo = Math.max(node.sm.applied + 1, node.storage.firstIndex());
  let next = node.sm.records.length;
  if (lo <= st.commit)
    for (const e of node.storage.entries(logIndex(lo), logIndex(st.commit + 1), Number.MAX_SAFE_INTEGER)) {
      if (e.type === 'pdata') break;
      if (e.type === 'data') put(dec.decode(e.data), next++);
    }
  for (const v of twice) at.delete(v);
  return at;
}

/**
 * `node`'s committed log as the values of its records in offset order (see
 * {@link committedValues}): the applied records, then the committed data entries not yet
 * applied. Undefined when it is not known in full: the node's state machine does not start at
 * offset 0, or a committed `pdata` entry is not applied yet (whether it appends is decided at
 * apply).
 * @throws Error when the node is down.
 */
export function committedLog(node: SimMember): string[] | undefined {
  const st = node.raw?.status();
  if (st === undefined) throw new Error(`${node.id} is down: its commit index is unknown`);
  if (node.sm.records.some((r, i) => r.offset !== i)) return undefined;
  const log = node.sm.records.map((r) => r.value);
  const lo = Math.max(node.sm.applied + 1, node.storage.firstIndex());
  if (lo > st.commit) return log;
  for (const e of node.storage.entries(logIndex(lo), logIndex(st.commit + 1), Number.MAX_SAFE_INTEGER)) {
    if (e.type === 'pdata') return undefined;
    if (e.type === 'data') log.push(dec.decode(e.data));
  }
  return log;
}
