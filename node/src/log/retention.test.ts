import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import { Log } from './log.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

describe('retention', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('retention')));
  afterEach(() => removeTempDir(dir));

  async function logOf(records: number, retention: { maxTotalBytes?: number; maxAgeMs?: number }): Promise<Log> {
    const log = await Log.open(dir, { maxStoreBytes: 100, retention });
    for (let i = 0; i < records; i++) log.append({ value: bytes(`value-${i}`) });
    await log.sync();
    return log;
  }

  it('by total bytes removes the oldest sealed segments until the log fits, never the active one', async () => {
    const log = await logOf(30, { maxTotalBytes: 250 });
    try {
      const before = log.segmentCount;
      const result = await log.applyRetention(Infinity);
      assert.ok(result.removedSegments > 0 && result.removedSegments < before);
      assert.ok(log.sizeBytes <= 250, `size ${log.sizeBytes}`);
      assert.equal(result.lowestOffset, log.lowestOffset);
      assert.equal(log.nextOffset, 30);
      const tiny = await Log.open(`${dir}/tiny`, { retention: { maxTotalBytes: 1 } });
      tiny.append({ value: bytes('only the active segment') });
      assert.equal((await tiny.applyRetention(Infinity)).removedSegments, 0);
      await tiny.close();
    } finally {
      await log.close();
    }
  });

  it('never removes a segment holding an offset at or above the floor', async () => {
    const log = await logOf(30, { maxTotalBytes: 1 });
    try {
      const bases = log.segmentBases();
      const floor = (bases[2] ?? 0) + 1;
      await log.applyRetention(floor);
      assert.equal(log.lowestOffset, bases[2]);
      assert.equal(log.read(floor).offset, floor);
    } finally {
      await log.close();
    }
  });

  it('by age removes sealed segments whose last write is older than maxAgeMs', async () => {
    const log = await logOf(30, { maxAgeMs: 60_000 });
    try {
      const bases = log.segmentBases();
      const now = Date.now();
      assert.equal((await log.applyRetention(Infinity, now)).removedSegments, 0, 'nothing is old yet');
      // Age the two oldest segments by moving their mtime two minutes back.
      const old = (now - 120_000) / 1000;
      for (const base of bases.slice(0, 2)) utimesSync(`${dir}/${String(base).padStart(20, '0')}.store`, old, old);
      const result = await log.applyRetention(Infinity, now);
      assert.equal(result.removedSegments, 2);
      assert.equal(log.lowestOffset, bases[2]);
    } finally {
      await log.close();
    }
  });
});
