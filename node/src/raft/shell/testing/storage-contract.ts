/**
 * The Storage contract as executable assertions, run against MemoryStorage and LogStorage
 * alike (storage-contract.test.ts). A harness adapts each implementation's write side.
 */
import assert from 'node:assert/strict';
import { StorageRangeError } from '../../core/errors.js';
import type { Storage } from '../../core/storage.js';
import { type Entry, type EntryType, type SnapshotMeta, logIndex, nodeId, term } from '../../core/types.js';

/** The write side of a storage under test. */
export interface StorageHarness {
  readonly storage: Storage;
  append(entries: readonly Entry[]): Promise<void>;
  installSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void>;
}

/** Builds entries [from, from+n) of term `t` with payload "i@t". */
export function ents(from: number, n: number, t: number, type: EntryType = 'data'): Entry[] {
  return Array.from({ length: n }, (_, k) => ({
    index: logIndex(from + k),
    term: term(t),
    type,
    data: new TextEncoder().encode(`${from + k}@${t}`),
  }));
}

const text = (e: Entry): string => new TextDecoder().decode(e.data);

/** A fresh storage has an empty log at index 0 and answers term(0) = 0. */
export function checkFresh(s: Storage): void {
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(logIndex(0)), 0);
  assert.equal(s.term(logIndex(1)), undefined);
  assert.equal(s.snapshot().index, 0);
}

/** Appended entries read back with their terms, types and payloads; byte limits return at least one entry. */
export async function checkAppendAndRead(h: StorageHarness): Promise<void> {
  const s = h.storage;
  await h.append([...ents(1, 5, 1), ...ents(6, 1, 2, 'noop'), ...ents(7, 4, 2)]);
  assert.equal(s.lastIndex(), 10);
  assert.equal(s.term(logIndex(5)), 1);
  assert.equal(s.term(logIndex(6)), 2);
  const all = s.entries(logIndex(1), logIndex(11), Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    all.map((e) => e.index),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(all[5]?.type, 'noop');
  assert.equal(text(all[6] as Entry), '7@2');
  assert.equal(s.entries(logIndex(3), logIndex(11), 1).length, 1, 'at least one entry even over the byte limit');
  assert.equal(s.entries(logIndex(3), logIndex(11), 2 * (24 + 3)).length, 2);
  assert.throws(() => s.entries(logIndex(5), logIndex(12), 1e9), StorageRangeError);
}

/** An entry at an existing index replaces it and every later one (the suffix is cut from the end, Raft §5.3). */
export async function checkConflictTruncatesSuffix(h: StorageHarness): Promise<void> {
  const s = h.storage;
  await h.append(ents(1, 10, 1));
  await h.append(ents(4, 2, 3));
  assert.equal(s.lastIndex(), 5);
  assert.deepEqual(
    s.entries(logIndex(1), logIndex(6), 1e9).map((e) => `${e.index}/${e.term}`),
    ['1/1', '2/1', '3/1', '4/3', '5/3'],
  );
  await h.append(ents(6, 3, 3));
  assert.equal(s.lastIndex(), 8);
  assert.equal(text(s.entries(logIndex(8), logIndex(9), 1e9)[0] as Entry), '8@3');
}

/** Installing a snapshot beyond the log leaves an empty log after it; term(snapshot) is answered and appends continue. */
export async function checkSnapshotInstall(h: StorageHarness, data: Uint8Array): Promise<void> {
  const s = h.storage;
  await h.append(ents(1, 3, 1));
  const meta: SnapshotMeta = {
    index: logIndex(20),
    term: term(4),
    confState: { voters: [nodeId('a'), nodeId('b')], learners: [] },
    size: data.byteLength,
  };
  await h.installSnapshot(meta, data);
  assert.equal(s.firstIndex(), 21);
  assert.equal(s.lastIndex(), 20);
  assert.equal(s.term(logIndex(20)), 4);
  assert.equal(s.term(logIndex(3)), undefined);
  assert.equal(s.snapshot().index, 20);
  assert.deepEqual(s.snapshot().confState.voters, ['a', 'b']);
  assert.throws(() => s.entries(logIndex(3), logIndex(4), 1e9), StorageRangeError);
  assert.deepEqual([...(s.snapshotChunk(s.snapshot(), 0, 1e6) ?? [])], [...data]);
  await h.append(ents(21, 2, 4));
  assert.equal(s.lastIndex(), 22);
  assert.equal(s.entries(logIndex(21), logIndex(23), 1e9).length, 2);
}
