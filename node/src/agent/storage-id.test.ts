import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberStorageIds, openStorageId } from './storage-id.js';

describe('storage id: every data directory has its own identity', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'commitlog-storage-id-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created once and read back unchanged; a wiped directory gets a new one', async () => {
    const first = await openStorageId(dir);
    assert.equal(first.created, true);
    assert.match(first.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(await openStorageId(dir), { id: first.id, created: false });
    rmSync(dir, { recursive: true, force: true });
    const again = mkdtempSync(join(tmpdir(), 'commitlog-storage-id-'));
    try {
      const wiped = await openStorageId(again);
      assert.equal(wiped.created, true);
      assert.notEqual(wiped.id, first.id);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('refuses a malformed storage id file instead of silently taking a new identity', async () => {
    writeFileSync(join(dir, 'storage-id'), 'garbage\n');
    await assert.rejects(openStorageId(dir), /does not hold a storage id/);
  });

  it("the members' recorded storage ids survive a restart; members that left are forgotten", async () => {
    const ids = MemberStorageIds.open(dir);
    await ids.set('a', 'sa');
    await ids.set('b', 'sb');
    await ids.retain(new Set(['a']));
    const reopened = MemberStorageIds.open(dir);
    assert.equal(reopened.get('a'), 'sa');
    assert.equal(reopened.get('b'), undefined);
  });
});
