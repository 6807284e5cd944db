import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveLogConfig } from './config.js';
import { silentLogger } from './logger.js';
import { INDEX_ENTRY_BYTES } from './offset-index.js';
import { RecordType } from './record.js';
import { parseSegmentFile, Segment, segmentStem } from './segment.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

describe("segment (the book's segment test)", () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('segment')));
  afterEach(() => removeTempDir(dir));

  const want = bytes('hello world');

  it('appends and reads until the index is maxed, is maxed by the store on reopen, and is removable', () => {
    const byIndex = resolveLogConfig({ maxStoreBytes: 1024, maxIndexBytes: INDEX_ENTRY_BYTES * 3 });
    const s = Segment.create(dir, 16, byIndex);
    assert.equal(s.nextOffset, 16);
    assert.equal(s.isMaxed(), false);
    for (let i = 0; i < 3; i++) {
      const off = s.append(1, RecordType.data, want);
      assert.equal(off, 16 + i);
      assert.deepEqual(Buffer.from(s.read(off).value), want);
    }
    // maxed index
    assert.equal(s.isMaxed(), true);
    s.close();

    const byStore = resolveLogConfig({ maxStoreBytes: want.length * 3, maxIndexBytes: 1024 });
    const reopened = Segment.open(dir, 16, byStore, true, silentLogger).segment;
    // maxed store
    assert.equal(reopened.nextOffset, 19);
    assert.equal(reopened.isMaxed(), true);
    reopened.remove();
    assert.equal(existsSync(join(dir, `${segmentStem(16)}.store`)), false);

    const fresh = Segment.create(dir, 16, byStore);
    assert.equal(fresh.isMaxed(), false);
    fresh.close();
  });

  it('names files by the zero-padded base offset so that they sort', () => {
    assert.equal(segmentStem(16), '00000000000000000016');
    assert.deepEqual(parseSegmentFile('00000000000000000016.index'), { base: 16, kind: 'index' });
    assert.equal(parseSegmentFile('16.index'), undefined);
    assert.equal(parseSegmentFile('log.meta'), undefined);
    const names = [1000, 16, 2].map((b) => segmentStem(b)).sort();
    assert.deepEqual(names.map(Number), [2, 16, 1000]);
  });
});
