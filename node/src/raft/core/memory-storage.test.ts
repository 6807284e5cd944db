import assert from 'node:assert/strict';
import { RaftInvariantError, StorageRangeError } from './errors.js';
import { MemoryStorage } from './memory-storage.js';
import { logIndex, nodeId, term, type Entry } from './types.js';

const enc = new TextEncoder();
const ent = (i: number, t: number, v = `v${i}`): Entry => ({
  index: logIndex(i),
  term: term(t),
  type: 'data',
  data: enc.encode(v),
});
const conf = { voters: [nodeId('n1')], learners: [] };

describe('MemoryStorage', () => {
  it('cuts a conflicting suffix from the end and keeps the prefix (Raft §5.3)', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1), ent(4, 1)]);
    s.append([ent(3, 2, 'new3')]);
    assert.equal(s.lastIndex(), 3);
    assert.deepEqual(
      s.entries(logIndex(1), logIndex(4), Infinity).map((e) => [e.index, e.term]),
      [
        [1, 1],
        [2, 1],
        [3, 2],
      ],
    );
  });

  it('refuses an append that would leave a gap', () => {
    const s = new MemoryStorage();
    assert.throws(() => s.append([ent(2, 1)]), RaftInvariantError);
  });

  it('answers ranges it has and refuses compacted or missing ones with typed errors', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    s.createSnapshot(logIndex(2), conf, enc.encode('state'));
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.term(logIndex(2)), 1, 'the snapshot index keeps its term');
    assert.equal(s.term(logIndex(1)), undefined);
    assert.throws(
      () => s.entries(logIndex(2), logIndex(4), Infinity),
      (e: unknown) => e instanceof StorageRangeError && e.code === 'RAFT_STORAGE_COMPACTED',
    );
    assert.throws(
      () => s.entries(logIndex(3), logIndex(5), Infinity),
      (e: unknown) => e instanceof StorageRangeError && e.code === 'RAFT_STORAGE_UNAVAILABLE',
    );
  });

  it('limits entries by bytes but always returns at least one', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 'x'.repeat(100)), ent(2, 1), ent(3, 1)]);
    assert.equal(s.entries(logIndex(1), logIndex(4), 10).length, 1);
    assert.equal(s.entries(logIndex(1), logIndex(4), Infinity).length, 3);
  });

  it('installs a snapshot only after all its chunks are staged', () => {
    const src = new MemoryStorage();
    src.append([ent(1, 1), ent(2, 1)]);
    const meta = src.createSnapshot(logIndex(2), conf, enc.encode('0123456789'));
    const dst = new MemoryStorage();
    const first = src.snapshotChunk(meta, 0, 4) as Uint8Array;
    dst.applySnapshotChunk({ meta, offset: 0, data: first, done: false });
    assert.throws(() => dst.applySnapshot(meta), /before all its chunks/);
    dst.applySnapshotChunk({ meta, offset: 4, data: src.snapshotChunk(meta, 4, 100) as Uint8Array, done: true });
    dst.applySnapshot(meta);
    assert.equal(new TextDecoder().decode(dst.snapshotData()), '0123456789');
    assert.equal(dst.firstIndex(), 3);
    assert.deepEqual(dst.initialState().confState, conf);
  });

  it('reports a replaced snapshot so the sender restarts its stream', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    const old = s.createSnapshot(logIndex(1), conf, enc.encode('a'));
    s.createSnapshot(logIndex(3), conf, enc.encode('b'));
    assert.equal(s.snapshotChunk(old, 0, 10), undefined);
  });
});
