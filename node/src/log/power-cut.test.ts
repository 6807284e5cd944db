import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FRAME_HEADER_BYTES } from './frame.js';
import { Log } from './log.js';
import { INDEX_ENTRY_BYTES } from './offset-index.js';
import { MemoryFileSystem, PowerCutError } from './memory-fs.js';
import { RecordType } from './record.js';
import { segmentStem } from './segment.js';
import { captureLogger } from './testing/capture-logger.js';
import { seededRandom } from './testing/rng.js';

// Power cuts on the simulated disk (memory-fs.ts): unsynced writes are lost (the last one may
// be torn), directory entries not fsynced vanish. Whatever happens, the log must reopen
// without manual repair and hold every record whose sync() resolved.

const DIR = '/data/log';
const VALUE = 'power-cut-record'; // 16 bytes: each frame is FRAME_HEADER_BYTES + 16
const FRAME = FRAME_HEADER_BYTES + VALUE.length;
const config = { maxStoreBytes: FRAME * 4, writeBufferBytes: 64 };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function values(log: Log): string[] {
  return log.isEmpty ? [] : log.readRange(log.lowestOffset, { maxCount: 100_000 }).map((r) => dec(r.value));
}

describe('log on a disk that loses power', () => {
  it('keeps every synced record across a power cut (fails if Store.sync skips its fdatasync)', async () => {
    const fs = new MemoryFileSystem(() => 0);
    const log = await Log.open(DIR, config, undefined, fs);
    for (let i = 0; i < 10; i++) log.append({ value: enc(`v${i}`), term: 1 });
    await log.sync();
    log.append({ value: enc('unsynced'), term: 1 });
    fs.powerCut();
    const after = await Log.open(DIR, config, undefined, fs);
    assert.deepEqual(
      values(after).slice(0, 10),
      Array.from({ length: 10 }, (_, i) => `v${i}`),
    );
    assert.equal(after.nextOffset, 10, 'the unsynced record is gone (this disk tears nothing)');
    await after.close();
  });

  it('a power cut right after a segment roll keeps the sealed segment whole, even if the new segment survived', async () => {
    // GIVEN a synced log, then appends that roll into a new segment, never synced
    const fs = new MemoryFileSystem(() => 0);
    const log = await Log.open(DIR, config, undefined, fs);
    log.append({ value: enc(VALUE), term: 1 });
    await log.sync();
    for (let i = 0; i < 5; i++) log.append({ value: enc(VALUE), term: 1 });
    assert.equal(log.segmentCount, 2);
    // WHEN the kernel happens to write the directory back (POSIX allows it) and the power fails
    fs.fsyncDirSync(DIR);
    fs.powerCut();
    // THEN the log opens (a sealed segment with a lost tail followed by a live segment was
    // a CorruptSegmentError needing manual repair) and the sealed segment is complete
    const logger = captureLogger();
    const after = await Log.open(DIR, config, logger, fs);
    assert.ok(after.nextOffset >= 4, `the sealed segment's 4 records survive, got ${after.nextOffset}`);
    assert.ok(values(after).every((v) => v === VALUE));
    await after.close();
  });

  it('a power cut at any point of a suffix truncation across segments never resurrects a deleted segment', async () => {
    // GIVEN 3 synced segments (offsets 0..9); WHEN truncateSuffix(2) deletes segments 4 and 8,
    // cuts segment 0, appends, and syncs, with the power cut at the n-th file operation
    let cuts = 0;
    for (let n = 1; ; n++) {
      const fs = new MemoryFileSystem(seededRandom(n));
      const log = await Log.open(DIR, config, undefined, fs);
      for (let i = 0; i < 10; i++) log.append({ value: enc(`old${i}`), term: 1 });
      await log.sync();
      fs.armPowerCut(n);
      let synced = false;
      try {
        log.truncateSuffix(2);
        log.append({ value: enc('new2'), term: 2 });
        await log.sync();
        synced = true;
      } catch (err) {
        if (!(err instanceof PowerCutError)) throw err;
      }
      fs.armPowerCut(null);
      if (synced && !fs.powerIsOff) break; // n is past the last operation: every cut point was tried
      cuts++;
      fs.reboot();
      // THEN the log opens, and holds either the old records or the new ones after offset 1
      const after = await Log.open(DIR, config, undefined, fs).catch((err: Error) => {
        throw new Error(`cut at operation ${n}: the log does not reopen: ${err.message}`);
      });
      const got = values(after);
      const old = Array.from({ length: 10 }, (_, i) => `old${i}`);
      const ok =
        got.every((v, i) => v === old[i]) ||
        (got.slice(0, 2).join() === 'old0,old1' && got.slice(2).every((v) => v === 'new2'));
      assert.ok(ok, `cut at operation ${n}: log holds ${got.join(',')}`);
      await after.close();
    }
    assert.ok(cuts >= 5, `only ${cuts} cut points exercised`);
  });

  it('a segment file recreated on open survives the next power cut (its directory entry is fsynced)', async () => {
    // GIVEN two synced segments (records 0..3 and 4); a suffix truncation to 4 unlinked the
    // last segment's store, the kernel wrote the directory back, and the power failed before
    // the index was unlinked (simulator seed 136: the open recreated the store, never fsynced
    // the directory, and a later power cut took the store and its synced records with it)
    const fs = new MemoryFileSystem(() => 0.99); // no torn writes, no directory write-back
    const log = await Log.open(DIR, config, undefined, fs);
    const v = (i: number): string => `v${i}`.padEnd(VALUE.length, '.'); // one FRAME each
    for (let i = 0; i < 5; i++) log.append({ value: enc(v(i)), term: 1 });
    await log.sync();
    assert.equal(log.segmentCount, 2);
    fs.unlink(join(DIR, `${segmentStem(4)}.store`));
    fs.fsyncDirSync(DIR);
    fs.powerCut();
    // WHEN the log reopens (recreating the missing store), appends, syncs, and the power fails again
    const reopened = await Log.open(DIR, config, undefined, fs);
    assert.equal(reopened.nextOffset, 4);
    reopened.append({ value: enc('synced'), term: 2 });
    await reopened.sync();
    fs.powerCut();
    // THEN the synced record is still there
    const after = await Log.open(DIR, config, undefined, fs);
    assert.deepEqual(values(after), [v(0), v(1), v(2), v(3), 'synced']);
    await after.close();
  });

  it('detects a flipped bit in a sealed index entry term or type and rebuilds the index from the store', async () => {
    for (const [field, at] of [
      ['term', 8],
      ['type', 16],
    ] as const) {
      // GIVEN a log whose first segment is sealed, records 0..3 of terms 1..4, record 2 a noop
      const fs = new MemoryFileSystem(() => 0);
      const log = await Log.open(DIR, config, undefined, fs);
      for (let i = 0; i < 6; i++)
        log.append({ value: enc(VALUE), term: i + 1, type: i === 2 ? RecordType.noop : RecordType.data });
      await log.close();
      // WHEN one bit of entry 1's term (or type) flips on the platter
      const path = join(DIR, `${segmentStem(0)}.index`);
      const bytes = Buffer.from(fs.fileBytes(path) ?? Buffer.alloc(0));
      bytes[INDEX_ENTRY_BYTES * 1 + at] = (bytes[INDEX_ENTRY_BYTES * 1 + at] ?? 0) ^ 0x01;
      fs.setFileBytes(path, bytes);
      const logger = captureLogger();
      const after = await Log.open(DIR, config, logger, fs);
      // THEN the term runs and dense offsets come from the store, not the damaged entry
      assert.equal(after.termAt(1), 2, `${field}: term of record 1`);
      assert.equal(after.isDataRecord(1), true, `${field}: record 1 is a data record`);
      assert.equal(after.toDataOffset(3), 2, `${field}: record 3 has data offset 2 (record 2 is a noop)`);
      assert.ok(
        logger.warnings().some((w) => w.includes('rebuilding index')),
        `${field}: ${logger.warnings().join('; ')}`,
      );
      await after.close();
    }
  });
});
