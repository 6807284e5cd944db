import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../core/memory-storage.js';
import { type SnapshotMeta, logIndex, nodeId, term } from '../core/types.js';
import { ClusterIdMismatchError, StableStateCorruptError } from './errors.js';
import { LogStorage, encodeSnapshotPayload } from './log-storage.js';
import { STABLE_FILE, StableStore } from './stable-store.js';
import {
  type StorageHarness,
  checkAppendAndRead,
  checkConflictTruncatesSuffix,
  checkFresh,
  checkSnapshotInstall,
  ents,
} from './testing/storage-contract.js';

const conf = { voters: [nodeId('a')], learners: [] };
const tiny = { maxStoreBytes: 200, maxIndexBytes: 12 * 4, writeBufferBytes: 64 };

function memoryHarness(): StorageHarness {
  const m = new MemoryStorage({ confState: conf });
  return {
    storage: m,
    append: (e) => Promise.resolve(m.append(e)),
    installSnapshot: (meta, data) => {
      m.applySnapshotChunk({ meta, offset: 0, data, done: true });
      m.applySnapshot(meta);
      return Promise.resolve();
    },
  };
}

function logHarness(s: LogStorage): StorageHarness {
  return {
    storage: s,
    append: async (e) => {
      s.append(e);
      await s.sync();
    },
    installSnapshot: async (meta, data) => {
      s.stageChunk({ meta, offset: 0, data: data.subarray(0, 5), done: false });
      s.stageChunk({ meta, offset: 5, data: data.subarray(5), done: true });
      await s.installSnapshot(meta);
    },
  };
}

describe('raft shell: LogStorage satisfies the core Storage contract', () => {
  let dir: string;
  const opened: LogStorage[] = [];
  const open = async (d = dir, clusterId = 'c1'): Promise<LogStorage> => {
    const s = await LogStorage.open({ dir: d, clusterId, initialConf: conf, logConfig: tiny });
    opened.push(s);
    return s;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-logstorage-'));
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, (h: StorageHarness) => Promise<void>][] = [
    ['a fresh storage is empty at index 0', (h) => Promise.resolve(checkFresh(h.storage))],
    ['appended entries read back (with byte limits)', checkAppendAndRead],
    ['a conflicting append truncates the suffix', checkConflictTruncatesSuffix],
    ['a snapshot beyond the log is installed', (h) => checkSnapshotInstall(h, encodeSnapshotPayload(17))],
  ];
  for (const [name, check] of cases) {
    it(`MemoryStorage: ${name}`, () => check(memoryHarness()));
    it(`LogStorage: ${name}`, async () => check(logHarness(await open())));
  }

  it('truncates a suffix across segment boundaries and keeps it truncated after reopen', async () => {
    const s = await open();
    s.append(ents(1, 40, 1));
    await s.sync();
    assert.ok(s.log.segmentCount > 3, `tiny segments: ${s.log.segmentCount}`);
    s.append(ents(7, 2, 2));
    await s.sync();
    assert.equal(s.lastIndex(), 8);
    s.setState({ term: term(2), vote: nodeId('a'), commit: logIndex(8) }, undefined);
    await s.flush();
    await s.close();
    const r = await open();
    assert.equal(r.lastIndex(), 8);
    assert.equal(r.term(logIndex(8)), 2);
    assert.equal(r.term(logIndex(6)), 1);
    assert.deepEqual(r.initialState().hardState, { term: 2, vote: 'a', commit: 8 });
    assert.equal(r.log.toDataOffset(1), 0, 'the first Raft index has dense data offset 0');
  });

  it('gives dense data offsets that continue from the snapshot after an install', async () => {
    const s = await open();
    const meta: SnapshotMeta = { index: logIndex(50), term: term(3), confState: conf, size: 12 };
    await logHarness(s).installSnapshot(meta, encodeSnapshotPayload(44));
    s.append([...ents(51, 1, 3, 'noop'), ...ents(52, 2, 3)]);
    await s.sync();
    assert.equal(s.log.toDataOffset(52), 44);
    assert.equal(s.log.toDataOffset(53), 45);
    await s.close();
    const r = await open();
    assert.equal(r.firstIndex(), 51);
    assert.equal(r.term(logIndex(50)), 3);
    assert.equal(r.log.toDataOffset(53), 45);
  });

  it('compaction by retention moves firstIndex and records the snapshot at the new lowest offset - 1', async () => {
    const d = mkdtempSync(join(tmpdir(), 'commitlog-logstorage-'));
    try {
      const s = await LogStorage.open({
        dir: d,
        clusterId: 'c1',
        initialConf: conf,
        logConfig: { ...tiny, retention: { maxTotalBytes: 400 } },
      });
      s.append([...ents(1, 1, 1, 'noop'), ...ents(2, 59, 1)]);
      await s.sync();
      s.noteApplied(ents(1, 30, 1));
      assert.equal(await s.compact(), true);
      const L = s.log.lowestOffset;
      assert.ok(L > 1 && L <= 31, `lowest ${L}`);
      assert.equal(s.firstIndex(), L);
      assert.equal(s.snapshot().index, L - 1);
      assert.equal(s.term(logIndex(L - 1)), 1);
      const payload = s.snapshotChunk(s.snapshot(), 0, 100);
      assert.ok(payload !== undefined);
      await s.close();
      const r = await LogStorage.open({ dir: d, clusterId: 'c1', initialConf: conf, logConfig: tiny });
      assert.equal(r.firstIndex(), L);
      assert.equal(r.log.toDataOffset(L), L - 2, 'one noop below: data offset = index - 2');
      await r.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('refuses a torn stable-state file with a typed error instead of resetting the vote', async () => {
    const s = await open();
    s.setState({ term: term(5), vote: nodeId('a'), commit: logIndex(0) }, undefined);
    await s.flush();
    await s.close();
    const path = join(dir, STABLE_FILE);
    const good = readFileSync(path);
    writeFileSync(path, good.subarray(0, good.length - 3));
    await assert.rejects(open(), StableStateCorruptError);
    const flipped = Buffer.from(good);
    flipped.writeUInt8((flipped.at(-2) ?? 0) ^ 0x20, flipped.length - 2);
    writeFileSync(path, flipped);
    await assert.rejects(
      open(),
      (e: unknown) => e instanceof StableStateCorruptError && e.code === 'RAFT_STABLE_CORRUPT',
    );
  });

  it('refuses a directory that belongs to another cluster', async () => {
    await (await open()).close();
    await assert.rejects(open(dir, 'other'), ClusterIdMismatchError);
  });

  it('a log that lost committed entries (damaged tail) is refused, or with a repair hook emptied: no configuration, term and vote kept', async () => {
    // GIVEN a node of {a, b} that committed 1..10 and voted for b in term 2.
    const two = { voters: [nodeId('a'), nodeId('b')], learners: [] };
    const s = await LogStorage.open({ dir, clusterId: 'c1', initialConf: two, logConfig: tiny });
    s.append(ents(1, 10, 2));
    await s.sync();
    s.setState({ term: term(2), vote: nodeId('b'), commit: logIndex(10) }, undefined);
    await s.flush();
    await s.close();
    // WHEN the tail of the last segment is damaged (overwritten with garbage) while it was down.
    const stores = readdirSync(join(dir, 'log'))
      .filter((f) => f.endsWith('.store'))
      .sort((x, y) => Number.parseInt(x, 10) - Number.parseInt(y, 10));
    const last = join(dir, 'log', stores[stores.length - 1] as string);
    const bytes = readFileSync(last);
    bytes.fill(0xab, Math.floor(bytes.length / 3));
    writeFileSync(last, bytes);
    // THEN without a hook it refuses to start, as before.
    await assert.rejects(
      LogStorage.open({ dir, clusterId: 'c1', initialConf: two, logConfig: tiny }),
      /commit index beyond the durable log/,
    );
    // AND with a hook that accepts, it starts empty, with no configuration, keeping term and vote.
    const asked: unknown[] = [];
    const r = await LogStorage.open({
      dir,
      clusterId: 'c1',
      initialConf: two,
      logConfig: tiny,
      onLostTail: (lost) => {
        asked.push(lost);
        return Promise.resolve(true);
      },
    });
    opened.push(r);
    assert.equal(asked.length, 1);
    assert.ok(
      r.lostTail !== undefined && r.lostTail.commit === 10 && r.lostTail.lastIndex < 10,
      'the loss is reported',
    );
    assert.equal(r.lastIndex(), 0);
    assert.deepEqual(r.initialState(), {
      hardState: { term: 2, vote: 'b', commit: 0 },
      confState: { voters: [], learners: [] },
    });
    await r.close();
    opened.pop();
    // AND the repair is durable: the next open finds nothing to repair.
    const again = await open(dir);
    assert.equal(again.lostTail, undefined);
    assert.equal(again.lastIndex(), 0);
  });

  it('completes a snapshot install interrupted between the stable write and the log reset', async () => {
    const s = await open();
    s.append(ents(1, 5, 1));
    await s.sync();
    await s.close();
    const st = await StableStore.open(dir);
    const cur = st.state;
    assert.ok(cur);
    await st.save({
      ...cur,
      hardState: { ...cur.hardState, commit: logIndex(50) },
      snapshot: { index: logIndex(50), term: term(3), confState: conf, dataOffset: 44 },
    });
    const r = await open();
    assert.equal(r.firstIndex(), 51);
    assert.equal(r.lastIndex(), 50);
    assert.equal(r.term(logIndex(50)), 3);
    assert.equal(r.log.nextDataOffset, 44);
  });

  it('completes a compaction interrupted after retention removed segments but before the snapshot record was written', async () => {
    const logConfig = { ...tiny, retention: { maxTotalBytes: 400 } };
    const s = await LogStorage.open({ dir, clusterId: 'c1', initialConf: conf, logConfig });
    opened.push(s);
    s.append(ents(1, 60, 1));
    await s.sync();
    const bases = s.log.segmentBases().filter((b) => b > 1 && b <= 31);
    const st = await StableStore.open(dir);
    const cur = st.state;
    assert.ok(cur);
    // What compact() writes first: one candidate snapshot record per segment boundary.
    await st.save({
      ...cur,
      compactCandidates: bases.map((b) => ({
        index: logIndex(b - 1),
        term: term(1),
        confState: conf,
        dataOffset: b - 1,
      })),
    });
    const { lowestOffset } = await s.log.applyRetention(31);
    assert.ok(lowestOffset > 1);
    await s.close(); // "crash": the final snapshot record was never written
    const r = await open();
    assert.equal(r.firstIndex(), lowestOffset);
    assert.equal(r.term(logIndex(lowestOffset - 1)), 1);
    assert.equal(r.snapshot().index, lowestOffset - 1);
  });
});
