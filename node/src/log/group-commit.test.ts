import assert from 'node:assert/strict';
import { GroupCommit } from './group-commit.js';
import { Log } from './log.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

describe('group commit', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('group')));
  afterEach(() => removeTempDir(dir));

  it('64 concurrent committers share a few fsync rounds and each gets its own offset once durable', async () => {
    const log = await Log.open(dir);
    try {
      const group = new GroupCommit(log);
      const rounds: number[] = [];
      const unsubscribe = log.onSync((e) => rounds.push(e.durationMs));
      const offsets = await Promise.all(Array.from({ length: 64 }, (_, i) => group.commit({ value: bytes(`c${i}`) })));
      unsubscribe();
      assert.deepEqual([...offsets].sort((a, b) => a - b), [...Array(64).keys()]);
      assert.ok(log.syncStats.rounds <= 2, `rounds: ${log.syncStats.rounds}`);
      assert.equal(rounds.length, log.syncStats.rounds);
      assert.deepEqual(group.stats, { committed: 64, waiting: 0 });
    } finally {
      await log.close();
    }
  });

  it('a commit that arrives during a round waits for the next round', async () => {
    const log = await Log.open(dir);
    try {
      const group = new GroupCommit(log);
      const first = group.commit({ value: bytes('a') });
      await Promise.resolve();
      const second = group.commit({ value: bytes('b') });
      assert.deepEqual(await Promise.all([first, second]), [0, 1]);
      assert.equal(log.syncStats.rounds, 2);
      assert.equal(await group.commitBatch([{ value: bytes('c') }, { value: bytes('d') }]), 2);
      await assert.rejects(log.sync().then(() => group.commit({ value: new Uint8Array(log.config.maxRecordBytes + 1) })), { code: 'record-too-large' });
    } finally {
      await log.close();
    }
  });
});
