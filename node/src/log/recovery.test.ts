import assert from 'node:assert/strict';
import {
  appendFileSync,
  openSync,
  closeSync,
  readSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
  readdirSync,
} from 'node:fs';
import { join } from 'node:path';
import { FRAME_HEADER_BYTES } from './frame.js';
import { Log } from './log.js';
import { INDEX_ENTRY_BYTES } from './offset-index.js';
import { writeMetaDurable } from './meta.js';
import { segmentStem } from './segment.js';
import { captureLogger } from './testing/capture-logger.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

const VALUE = 'recovery-record'; // 15 bytes: each frame is 43 bytes
const FRAME = FRAME_HEADER_BYTES + VALUE.length;
const storeOf = (dir: string, base: number): string => join(dir, `${segmentStem(base)}.store`);
const indexOf = (dir: string, base: number): string => join(dir, `${segmentStem(base)}.index`);

function patch(path: string, position: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, data, 0, data.length, position);
  closeSync(fd);
}

function flipBit(path: string, position: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, position);
  b[0] = (b[0] ?? 0) ^ 0x10;
  writeSync(fd, b, 0, 1, position);
  closeSync(fd);
}

describe('log recovery on open', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('recovery')));
  afterEach(() => removeTempDir(dir));

  /** GIVEN a closed log of `count` records in segments of `perSegment` records. */
  async function writeLog(count: number, perSegment = 1000): Promise<void> {
    const log = await Log.open(dir, { maxStoreBytes: FRAME * perSegment });
    for (let i = 0; i < count; i++) log.append({ value: bytes(VALUE), term: 1 + (i >> 2) });
    await log.close();
  }

  async function reopen(perSegment = 1000): Promise<{ log: Log; warnings: string[] }> {
    const logger = captureLogger();
    const log = await Log.open(dir, { maxStoreBytes: FRAME * perSegment }, logger);
    return { log, warnings: logger.warnings() };
  }

  function assertIntact(log: Log, next: number): void {
    assert.equal(log.nextOffset, next);
    for (const r of log.readRange(log.lowestOffset, { maxCount: 10_000 }))
      assert.equal(Buffer.from(r.value).toString(), VALUE);
    assert.equal(log.readRange(log.lowestOffset, { maxCount: 10_000 }).length, next - log.lowestOffset);
  }

  it('cuts a store truncated in the middle of the last frame and rebuilds the index', async () => {
    await writeLog(10);
    truncateSync(storeOf(dir, 0), FRAME * 9 + 20);
    const { log, warnings } = await reopen();
    try {
      assertIntact(log, 9);
      assert.ok(
        warnings.some((w) => w.includes('cutting torn')),
        warnings.join('; '),
      );
      assert.equal(statSync(storeOf(dir, 0)).size, FRAME * 9, 'the torn bytes are cut from the file');
      assert.equal(log.append({ value: bytes(VALUE) }), 9, 'appends continue after the cut');
    } finally {
      await log.close();
    }
  });

  it('cuts a bit flip in the tail: the damaged frame and everything after it', async () => {
    await writeLog(10);
    flipBit(storeOf(dir, 0), FRAME * 7 + FRAME_HEADER_BYTES + 3);
    const { log, warnings } = await reopen();
    try {
      assertIntact(log, 7);
      assert.ok(warnings.some((w) => w.includes('cutting torn')));
    } finally {
      await log.close();
    }
  });

  it('cuts a zero-filled store tail (the file grew but the data never landed)', async () => {
    await writeLog(5);
    appendFileSync(storeOf(dir, 0), Buffer.alloc(4096));
    const { log } = await reopen();
    try {
      assertIntact(log, 5);
    } finally {
      await log.close();
    }
  });

  it('rebuilds an index with a zero-filled tail', async () => {
    await writeLog(6);
    appendFileSync(indexOf(dir, 0), Buffer.alloc(INDEX_ENTRY_BYTES * 3));
    const { log, warnings } = await reopen();
    try {
      assertIntact(log, 6);
      assert.ok(warnings.some((w) => w.includes('rebuilding index')));
      assert.equal(statSync(indexOf(dir, 0)).size, INDEX_ENTRY_BYTES * 6);
    } finally {
      await log.close();
    }
  });

  it('rebuilds an index shorter than the store (frames written, entries lost)', async () => {
    await writeLog(6);
    truncateSync(indexOf(dir, 0), INDEX_ENTRY_BYTES * 2 + 7);
    const { log, warnings } = await reopen();
    try {
      assertIntact(log, 6);
      assert.ok(warnings.some((w) => w.includes('rebuilding index')));
    } finally {
      await log.close();
    }
  });

  it('rebuilds an index longer than the store (entries written, frames lost)', async () => {
    await writeLog(6);
    truncateSync(storeOf(dir, 0), FRAME * 4);
    const { log, warnings } = await reopen();
    try {
      assertIntact(log, 4);
      assert.ok(warnings.some((w) => w.includes('rebuilding index')));
      assert.equal(statSync(indexOf(dir, 0)).size, INDEX_ENTRY_BYTES * 4);
    } finally {
      await log.close();
    }
  });

  it('rebuilds a missing index file', async () => {
    await writeLog(6);
    unlinkSync(indexOf(dir, 0));
    const { log, warnings } = await reopen();
    try {
      assertIntact(log, 6);
      assert.ok(warnings.some((w) => w.includes('index file missing')));
    } finally {
      await log.close();
    }
  });

  it('rebuilds the index of a sealed segment whose index is damaged but whose store is whole', async () => {
    await writeLog(12, 4);
    patch(indexOf(dir, 4), INDEX_ENTRY_BYTES * 2, Buffer.alloc(INDEX_ENTRY_BYTES));
    const { log, warnings } = await reopen(4);
    try {
      assertIntact(log, 12);
      assert.ok(warnings.some((w) => w.includes('rebuilding index')));
    } finally {
      await log.close();
    }
  });

  it('reports corruption in the middle of a sealed segment as CorruptSegmentError, losing nothing silently', async () => {
    await writeLog(12, 4);
    flipBit(storeOf(dir, 4), FRAME * 1 + FRAME_HEADER_BYTES + 1);
    // The sealed segment's index still checks out (its last frame is fine): open succeeds,
    // and reading the damaged record is refused.
    const { log } = await reopen(4);
    try {
      assert.throws(() => log.read(5), { code: 'corrupt-segment', file: storeOf(dir, 4), position: FRAME });
      assert.throws(() => log.readRange(4), { code: 'corrupt-segment', position: FRAME });
      assert.equal(Buffer.from(log.read(6).value).toString(), VALUE);
    } finally {
      await log.close();
    }
    // verify() finds it without a read of that record.
    const { log: scrub } = await reopen(4);
    try {
      const report = await scrub.verify();
      assert.equal(report.records, 12);
      assert.deepEqual(
        report.damage.map((d) => [d.file, d.position]),
        [[storeOf(dir, 4), FRAME]],
      );
    } finally {
      await scrub.close();
    }
    // Once the index check fails too, the scan finds the damage and open refuses.
    patch(indexOf(dir, 4), 0, Buffer.alloc(INDEX_ENTRY_BYTES, 0xff));
    await assert.rejects(reopen(4), { code: 'corrupt-segment', file: storeOf(dir, 4), position: FRAME });
  });

  it('reports a torn tail in a sealed segment, and a missing sealed segment, as CorruptSegmentError', async () => {
    await writeLog(12, 4);
    truncateSync(storeOf(dir, 4), FRAME * 3 + 5);
    await assert.rejects(reopen(4), { code: 'corrupt-segment', file: storeOf(dir, 4) });
    removeTempDir(dir);
    await writeLog(12, 4);
    unlinkSync(storeOf(dir, 4));
    unlinkSync(indexOf(dir, 4));
    await assert.rejects(reopen(4), { code: 'corrupt-segment' });
  });

  it('completes an interrupted prefix truncation and reset from the metadata file', async () => {
    await writeLog(12, 4);
    // Simulate a crash after the meta file moved the lowest offset to 8, before deletion.
    const log = await Log.open(dir, { maxStoreBytes: FRAME * 4 });
    const removed = log.segmentBases();
    await log.truncatePrefix(8);
    await log.close();
    // Put the deleted segment files back, as if unlink never happened.
    assert.deepEqual(removed, [0, 4, 8]);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(storeOf(dir, 0), Buffer.alloc(0));
    writeFileSync(indexOf(dir, 0), Buffer.alloc(0));
    const { log: again, warnings } = await reopen(4);
    try {
      assert.equal(again.lowestOffset, 8);
      assert.ok(warnings.some((w) => w.includes('interrupted prefix truncation')));
      assert.ok(!readdirSync(dir).includes(`${segmentStem(0)}.store`));
    } finally {
      await again.close();
    }
    // A crash after reset() committed its intent, before the old segments were deleted.
    await writeMetaDurable(dir, { anchorOffset: 1000, nonDataBelow: 7, resetPending: true });
    const { log: reset, warnings: resetWarnings } = await reopen(4);
    try {
      assert.ok(resetWarnings.some((w) => w.includes('interrupted reset')));
      assert.equal(reset.lowestOffset, 1000);
      assert.equal(reset.nextOffset, 1000);
      assert.equal(reset.nextDataOffset, 993);
      assert.deepEqual(reset.segmentBases(), [1000]);
    } finally {
      await reset.close();
    }
  });
});
