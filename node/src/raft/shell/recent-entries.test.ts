import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Entry, logIndex, nodeId, term } from '../core/types.js';
import { LogStorage } from './log-storage.js';
import { RecentEntries } from './recent-entries.js';

const entry = (index: number, t = 1, bytes = 10): Entry =>
  ({ index: logIndex(index), term: term(t), type: 'data', data: new Uint8Array(bytes).fill(index % 256) }) as Entry;
const run = (from: number, to: number, t = 1, bytes = 10): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, t, bytes));
const indexes = (es: readonly Entry[] | undefined): number[] | undefined => es?.map((e) => e.index);

describe('raft shell: RecentEntries, the in-memory tail of the appended entries', () => {
  it('serves a range only when it holds all of it', () => {
    const r = new RecentEntries(1 << 20, 1000);
    r.append(run(5, 9));
    r.append(run(10, 12));
    assert.deepEqual(indexes(r.range(5, 13)), [5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(indexes(r.range(7, 9)), [7, 8]);
    assert.equal(r.range(4, 6), undefined, 'starts before the oldest held');
    assert.equal(r.range(12, 14), undefined, 'ends after the newest held');
    assert.equal(r.range(8, 8), undefined, 'empty');
  });

  it('an append inside the run replaces the suffix from there on (Raft §5.3), as the log truncates it', () => {
    const r = new RecentEntries(1 << 20, 1000);
    r.append(run(1, 10, 1));
    r.append(run(6, 7, 2));
    assert.deepEqual(indexes(r.range(1, 8)), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(
      r.range(5, 8)?.map((e) => e.term),
      [1, 2, 2],
    );
    assert.equal(r.range(8, 9), undefined, 'the replaced tail is gone');
  });

  it('an append after a gap or before the run restarts it', () => {
    const r = new RecentEntries(1 << 20, 1000);
    r.append(run(10, 12));
    r.append(run(20, 21));
    assert.equal(r.range(10, 11), undefined);
    assert.deepEqual(indexes(r.range(20, 22)), [20, 21]);
    r.append(run(3, 4));
    assert.equal(r.range(20, 21), undefined);
    assert.deepEqual(indexes(r.range(3, 5)), [3, 4]);
  });

  it('keeps at most maxBytes of data and maxCount entries, dropping the oldest', () => {
    const byBytes = new RecentEntries(100, 1000);
    byBytes.append(run(1, 30, 1, 10));
    assert.equal(byBytes.size, 10);
    assert.deepEqual(indexes(byBytes.range(21, 31))?.length, 10);
    assert.equal(byBytes.range(20, 21), undefined);
    const byCount = new RecentEntries(1 << 20, 4);
    for (let i = 1; i <= 3000; i++) byCount.append([entry(i)]);
    assert.equal(byCount.size, 4);
    assert.deepEqual(indexes(byCount.range(2997, 3001)), [2997, 2998, 2999, 3000]);
  });

  it('holds one entry larger than maxBytes rather than nothing', () => {
    const r = new RecentEntries(5, 10);
    r.append([entry(1, 1, 50)]);
    assert.deepEqual(indexes(r.range(1, 2)), [1]);
  });
});

describe('raft shell: LogStorage reads just-appended entries from memory, older ones from the log', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-recent-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (): Promise<LogStorage> =>
    LogStorage.open({ dir, clusterId: 'c1', initialConf: { voters: [nodeId('a')], learners: [] } });

  it('the same entries either way; the log is not read for the entries just persisted', async () => {
    const s = await open();
    const appended = [...run(1, 40, 1, 300), ...run(41, 45, 2, 7)];
    s.append(appended.slice(0, 30));
    s.append(appended.slice(30));
    await s.sync();
    let logReads = 0;
    const readRange = s.log.readRange.bind(s.log);
    s.log.readRange = (...a) => {
      logReads++;
      return readRange(...a);
    };
    assert.deepEqual(s.entries(logIndex(1), logIndex(46), 1 << 20), appended);
    assert.deepEqual(s.entries(logIndex(10), logIndex(20), 1000).length, 3, 'bounded by maxBytes, at least one');
    assert.equal(logReads, 0);
    await s.close();
    const reopened = await open();
    try {
      const fromLog = reopened.entries(logIndex(1), logIndex(46), 1 << 20);
      assert.deepEqual(
        fromLog.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString('hex')]),
        appended.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString('hex')]),
      );
      assert.deepEqual(reopened.entries(logIndex(10), logIndex(20), 1000).length, 3);
    } finally {
      await reopened.close();
    }
  });

  it('after a conflicting append the new suffix is read, not the replaced one', async () => {
    const s = await open();
    try {
      s.append(run(1, 10, 1));
      await s.sync();
      s.append(run(6, 8, 2));
      await s.sync();
      assert.deepEqual(
        s.entries(logIndex(1), logIndex(9), 1 << 20).map((e) => [e.index, e.term]),
        [
          [1, 1],
          [2, 1],
          [3, 1],
          [4, 1],
          [5, 1],
          [6, 2],
          [7, 2],
          [8, 2],
        ],
      );
    } finally {
      await s.close();
    }
  });
});
