import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Log, MemoryFileSystem, PowerCutError } from '../../log/index.js';
import { lcg } from '../../log/memory-fs.js';
import { segmentStem } from '../../log/segment.js';
import { AimedCutFs, STORE_WRITE_OVER_DURABLE } from './aimed-cut-fs.js';
import { InvariantViolation } from './invariant-violation.js';

// The simulator's disk wrapper (aimed-cut-fs.ts): cuts aimed at moments, and the rule that no
// write lands below a store file's durable end.

const DIR = '/node/log';
const STORE = join(DIR, `${segmentStem(0)}.store`);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function disk(): { inner: MemoryFileSystem; fs: AimedCutFs } {
  // rand 0.99: no torn writes and no directory write-back, so what survives is what was synced.
  const inner = new MemoryFileSystem(
    () => 0.99,
    () => 0,
  );
  return { inner, fs: new AimedCutFs(inner, lcg(5)) };
}

/** A file in /d holding `bytes`, synced with its directory entry. */
function syncedFile(fs: AimedCutFs, path: string, bytes: number): number {
  fs.mkdirp('/d');
  const fd = fs.open(path, 'wx+');
  fs.write(fd, Buffer.alloc(bytes, 1), 0, bytes, 0);
  fs.fdatasyncSync(fd);
  fs.fsyncDirSync('/d');
  return fd;
}

describe('aimed power cuts on the simulated disk', () => {
  it('sync-after-truncate: the power fails at the first fdatasync after a truncation, before it runs', async () => {
    const { inner, fs } = disk();
    const fd = syncedFile(fs, '/d/f', 40);
    fs.aimAt('sync-after-truncate');
    fs.truncate(fd, 10);
    fs.write(fd, Buffer.alloc(5, 2), 0, 5, 10);
    await assert.rejects(fs.fdatasync(fd), PowerCutError);
    assert.ok(inner.powerIsOff);
    inner.reboot();
    assert.equal(inner.fileBytes('/d/f')?.length, 40, 'neither the truncation nor the write reached the disk');
  });

  it('after-truncate-sync: the power fails right after the first fdatasync after a truncation: the cut is durable', async () => {
    const { inner, fs } = disk();
    const fd = syncedFile(fs, '/d/f', 40);
    fs.aimAt('after-truncate-sync');
    fs.truncate(fd, 10);
    await assert.rejects(fs.fdatasync(fd), PowerCutError);
    inner.reboot();
    assert.equal(inner.fileBytes('/d/f')?.length, 10, 'the truncation reached the disk before the cut');
    assert.equal(fs.momentCuts['after-truncate-sync'], 1);
  });

  it('after-truncate-sync resurrects a segment whose deletion was not fsynced before the cut (the truncate-no-dir-sync window)', () => {
    // GIVEN a file whose unlink is not yet durable, and a truncation of another, aimed at
    const { inner, fs } = disk();
    const fd = syncedFile(fs, '/d/a', 40);
    fs.close(syncedFile(fs, '/d/b', 8));
    fs.aimAt('after-truncate-sync');
    fs.unlink('/d/b');
    fs.truncate(fd, 10);
    // WHEN the truncation's fdatasync completes and the power fails at once
    assert.throws(() => fs.fdatasyncSync(fd), PowerCutError);
    inner.reboot();
    // THEN the cut survived and so did the deleted file (a log would find a segment past a gap)
    assert.equal(inner.fileBytes('/d/a')?.length, 10);
    assert.equal(inner.fileBytes('/d/b')?.length, 8, 'the unlink was not made durable: the file is back');
  });

  it('after-replace: the power fails right after the directory fsync that made a rename durable', async () => {
    const { inner, fs } = disk();
    fs.close(syncedFile(fs, '/d/f.tmp', 8));
    fs.aimAt('after-replace');
    fs.rename('/d/f.tmp', '/d/f');
    await assert.rejects(fs.fsyncDir('/d'), PowerCutError);
    inner.reboot();
    assert.equal(inner.fileBytes('/d/f')?.length, 8, 'the replace is durable: the cut came after it');
    assert.equal(fs.momentCuts['after-replace'], 1);
  });

  it('a moment that never opens cuts nothing', async () => {
    const { inner, fs } = disk();
    const fd = syncedFile(fs, '/d/f', 8);
    fs.aimAt('sync-after-truncate');
    fs.write(fd, Buffer.alloc(4, 2), 0, 4, 8);
    await fs.fdatasync(fd);
    assert.equal(inner.powerIsOff, false);
  });
});

describe('rule: no write below a store file durable end', () => {
  it('refuses a write into a truncated store before the truncation is synced, allows it after', () => {
    const { fs } = disk();
    const fd = syncedFile(fs, '/d/s.store', 40);
    fs.truncate(fd, 10);
    assert.throws(
      () => fs.write(fd, Buffer.alloc(5, 2), 0, 5, 10),
      (e: unknown) => e instanceof InvariantViolation && e.invariant === STORE_WRITE_OVER_DURABLE,
    );
    fs.fdatasyncSync(fd);
    fs.write(fd, Buffer.alloc(5, 2), 0, 5, 10);
  });

  it('a log suffix truncation is synced before the frames that replace it are written', async () => {
    const { fs } = disk();
    const log = await Log.open(DIR, {}, undefined, fs);
    for (let i = 0; i < 6; i++) log.append({ value: enc(`v${i}`), term: 1 });
    await log.sync();
    log.truncateSuffix(3);
    for (let i = 3; i < 6; i++) log.append({ value: enc(`w${i}`), term: 2 });
    await log.sync();
    assert.equal(log.nextOffset, 6);
    await log.close();
  });

  it('a torn tail that recovery cuts on open is synced before the log appends again', async () => {
    // GIVEN a log whose store ends, on the platter, in half a frame (a torn write)
    const { inner, fs } = disk();
    const log = await Log.open(DIR, {}, undefined, fs);
    for (let i = 0; i < 3; i++) log.append({ value: enc(`v${i}`), term: 1 });
    await log.sync();
    await log.close();
    const bytes = inner.fileBytes(STORE);
    assert.ok(bytes !== undefined);
    inner.setFileBytes(STORE, Buffer.concat([bytes, bytes.subarray(0, 20)]));
    // WHEN it reopens (recovery cuts the half frame) and appends
    const reopened = await Log.open(DIR, {}, undefined, fs);
    assert.equal(reopened.nextOffset, 3);
    reopened.append({ value: enc('v3'), term: 1 });
    // THEN the new frame does not land on the durable half frame (fails if the cut is not synced)
    await reopened.sync();
    assert.equal(reopened.nextOffset, 4);
    await reopened.close();
  });
});
