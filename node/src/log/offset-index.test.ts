import assert from 'node:assert/strict';
import { openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { INDEX_ENTRY_BYTES, OffsetIndex } from './offset-index.js';
import { RecordType } from './record.js';
import { makeTempDir, removeTempDir } from './testing/temp-dir.js';

describe("index (the book's index tests)", () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('index')));
  afterEach(() => removeTempDir(dir));

  it('writes entries, reads them back, reports the end, and rebuilds its state on reopen', () => {
    const path = join(dir, '00000000000000000000.index');
    const idx = new OffsetIndex(path, openSync(path, 'w+'), 0, 64);
    assert.equal(idx.read(-1), undefined);
    assert.equal(idx.name(), path);
    const entries = [
      { rel: 0, pos: 0, term: 1, type: RecordType.noop },
      { rel: 1, pos: 10, term: 2 ** 40, type: RecordType.data },
    ];
    for (const want of entries) {
      idx.write(want.rel, want.pos, want.term, want.type);
      assert.deepEqual(idx.read(want.rel), {
        relativeOffset: want.rel,
        position: want.pos,
        term: want.term,
        type: want.type,
      });
    }
    // Reading past the existing entries is "not there", like the book's io.EOF.
    assert.equal(idx.read(entries.length), undefined);
    idx.close();

    // The file is exactly the entries written: never pre-grown.
    assert.equal(statSync(path).size, entries.length * INDEX_ENTRY_BYTES);
    const again = new OffsetIndex(path, openSync(path, 'r+'), statSync(path).size / INDEX_ENTRY_BYTES, 64);
    assert.equal(again.entries, 2);
    assert.deepEqual(again.read(1), { relativeOffset: 1, position: 10, term: 2 ** 40, type: RecordType.data });
    assert.deepEqual(again.positions(0), { start: 0, end: 10 });
    assert.deepEqual(again.positions(1), { start: 10, end: undefined });
    again.close();
  });

  it('reads buffered and flushed entries alike and truncates a suffix', () => {
    const path = join(dir, 'x.index');
    const idx = new OffsetIndex(path, openSync(path, 'w+'), 0, INDEX_ENTRY_BYTES * 2);
    for (let i = 0; i < 5; i++) idx.write(i, i * 100, 7, RecordType.data);
    assert.equal(idx.entries, 5);
    assert.deepEqual(idx.positions(3), { start: 300, end: 400 });
    idx.truncate(2);
    assert.equal(idx.entries, 2);
    assert.equal(idx.read(2), undefined);
    idx.close();
    assert.equal(statSync(path).size, 2 * INDEX_ENTRY_BYTES);
  });
});
