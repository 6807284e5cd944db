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
      assert.deepEqual(
        [...offsets].sort((a, b) => a - b),
        [...Array(64).keys()],
      );
      assert.ok(log.syncStats.rounds <= 2, `rounds: ${log.syncStats.rounds}`);
      assert.equal(rounds.length, log.syncStats.rounds);
      assert.deepEqual(group.stats, { committed: 64, waiting: 0 });
    } finally {
      await log.close();
    }
  });

  it('commits of one event-loop turn share a round; a commit that arrives while a round runs waits for the next', async () => {
    const log = await Log.open(dir);
    try {
      const group = new GroupCommit(log);
      const first = group.commit({ value: bytes('a') });
      await Promise.resolve();
      const sameTurn = group.commit({ value: bytes('b') });
      // The round starts in this turn's check phase, before this callback: it is running now.
      await new Promise((resolve) => setImmediate(resolve));
      const later = group.commit({ value: bytes('c') });
      assert.deepEqual(await Promise.all([first, sameTurn, later]), [0, 1, 2]);
      assert.equal(log.syncStats.rounds, 2);
      assert.equal(await group.commitBatch([{ value: bytes('d') }, { value: bytes('e') }]), 3);
      await assert.rejects(
        log.sync().then(() => group.commit({ value: new Uint8Array(log.config.maxRecordBytes + 1) })),
        { code: 'record-too-large' },
      );
    } finally {
      await log.close();
    }
  });
});
