import assert from 'node:assert/strict';
import { DenseOffsets } from './dense-offsets.js';
import { Log } from './log.js';
import { RecordType } from './record.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

describe('dense data offsets', () => {
  it('maps both ways around non-data records (pure map)', () => {
    // Log offsets 0..9 where 0, 4 and 5 are non-data: data offsets 0..6 at 1,2,3,6,7,8,9.
    const d = new DenseOffsets(0);
    for (const n of [0, 4, 5]) d.addNonData(n);
    const dataAt = [1, 2, 3, 6, 7, 8, 9];
    dataAt.forEach((logOffset, dataOffset) => {
      assert.equal(d.toDataOffset(logOffset), dataOffset);
      assert.equal(d.toLogOffset(dataOffset), logOffset);
    });
    assert.equal(d.toDataOffset(4), 3, 'a non-data record maps to the next data offset');
    assert.equal(d.toDataOffset(10), 7);
    d.truncateBelow(5);
    assert.equal(d.removedNonData, 2);
    assert.equal(d.toLogOffset(3), 6);
    d.truncateFrom(5);
    assert.equal(d.nonDataCount, 0);
    assert.equal(d.toLogOffset(3), 5);
  });

  describe('in the log', () => {
    let dir: string;
    beforeEach(() => (dir = makeTempDir('dense')));
    afterEach(() => removeTempDir(dir));

    it('users see 0,1,2,… over data records only, across truncations and reopen', async () => {
      const config = { maxStoreBytes: 120 };
      const types = [
        RecordType.noop,
        RecordType.data,
        RecordType.data,
        RecordType.config,
        RecordType.data,
        RecordType.noop,
        RecordType.data,
        RecordType.data,
      ];
      const log = await Log.open(dir, config);
      types.forEach((type, i) => log.append({ value: bytes(`r${i}`), type }));
      assert.equal(log.nextDataOffset, 5);
      assert.deepEqual(
        [0, 1, 2, 3, 4].map((d) => log.toLogOffset(d)),
        [1, 2, 4, 6, 7],
      );
      assert.equal(log.readData(2).offset, 4);
      assert.deepEqual(
        log.readDataRange(0).map((r) => [r.dataOffset, r.offset]),
        [
          [0, 1],
          [1, 2],
          [2, 4],
          [3, 6],
          [4, 7],
        ],
      );
      assert.throws(() => log.toLogOffset(5), { code: 'offset-out-of-range', offset: 5, lowest: 0, next: 5 });
      assert.equal(log.isDataRecord(3), false);

      // GIVEN a prefix truncation and a reopen, the same data offsets name the same records.
      const lowest = await log.truncatePrefix(4);
      assert.ok(lowest > 0, `segments removed, lowest ${lowest}`);
      await log.close();
      const again = await Log.open(dir, config);
      assert.equal(again.nextDataOffset, 5);
      assert.equal(again.lowestDataOffset, again.toDataOffset(again.lowestOffset));
      assert.equal(Buffer.from(again.readData(4).value).toString(), 'r7');
      assert.equal(again.toLogOffset(3), 6);

      // A suffix truncation forgets the non-data record at 5; new data takes its place.
      again.truncateSuffix(5);
      assert.equal(again.nextDataOffset, 3);
      assert.equal(again.append({ value: bytes('x') }), 5);
      assert.equal(again.toDataOffset(5), 3);
      await again.close();
      const third = await Log.open(dir, config);
      try {
        assert.equal(third.toLogOffset(3), 5);
        assert.equal(third.nextDataOffset, 4);
      } finally {
        await third.close();
      }
    });
  });
});
