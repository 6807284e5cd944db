import assert from 'node:assert/strict';
import { FRAME_HEADER_BYTES } from './frame.js';
import { Log } from './log.js';
import { RecordType } from './record.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

const hello = { value: bytes('hello world') };

describe("log (the book's log tests)", () => {
  let dir: string;
  let log: Log;
  beforeEach(async () => {
    dir = makeTempDir('log');
    log = await Log.open(dir, { maxStoreBytes: 32 });
  });
  afterEach(async () => {
    await log.close();
    removeTempDir(dir);
  });

  it('append and read a record succeeds', () => {
    const off = log.append(hello);
    assert.equal(off, 0);
    const read = log.read(off);
    assert.deepEqual(Buffer.from(read.value), hello.value);
    assert.equal(read.offset, 0);
    assert.equal(read.type, RecordType.data);
  });

  it('reading outside the log is a typed out-of-range error carrying the bounds', () => {
    assert.throws(() => log.read(1), { code: 'offset-out-of-range', offset: 1, lowest: 0, next: 0 });
    log.append(hello);
    assert.throws(() => log.read(1), { code: 'offset-out-of-range', offset: 1, lowest: 0, next: 1 });
    assert.throws(() => log.read(-1), { code: 'offset-out-of-range', offset: -1 });
    assert.throws(() => log.read(0.5), { code: 'offset-out-of-range' });
  });

  it('an empty log has lowestOffset === nextOffset (no "highest offset 0" ambiguity)', () => {
    assert.equal(log.isEmpty, true);
    assert.equal(log.lowestOffset, 0);
    assert.equal(log.nextOffset, 0);
    log.append(hello);
    assert.equal(log.isEmpty, false);
    assert.equal(log.nextOffset, 1);
  });

  it('init with existing segments: a reopened log continues where the old one stopped', async () => {
    for (let i = 0; i < 3; i++) log.append(hello);
    await log.close();
    assert.equal(log.lowestOffset, 0);
    assert.equal(log.nextOffset, 3);
    const n = await Log.open(dir, log.config);
    try {
      assert.equal(n.lowestOffset, 0);
      assert.equal(n.nextOffset, 3);
      assert.equal(n.segmentCount, 3, 'a 32-byte store holds one record per segment');
      assert.equal(n.append(hello), 3);
      assert.deepEqual(Buffer.from(n.read(2).value), hello.value);
    } finally {
      await n.close();
    }
  });

  it('reader streams the raw store bytes of all segments', async () => {
    assert.equal(log.append(hello), 0);
    log.append({ value: bytes('second') });
    const chunks: Buffer[] = [];
    for await (const chunk of log.reader()) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    assert.equal(raw.readUInt32LE(4), hello.value.length);
    assert.deepEqual(raw.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + hello.value.length), hello.value);
    assert.equal(raw.length, 2 * FRAME_HEADER_BYTES + hello.value.length + 6);
  });

  it('truncate (prefix): whole segments below the given offset are removed', async () => {
    for (let i = 0; i < 3; i++) log.append(hello);
    assert.equal(await log.truncatePrefix(1), 1);
    assert.throws(() => log.read(0), { code: 'offset-out-of-range', lowest: 1, next: 3 });
    assert.deepEqual(Buffer.from(log.read(1).value), hello.value);
  });
});

describe('log', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('log')));
  afterEach(() => removeTempDir(dir));

  it('verify() reports a whole log as whole', async () => {
    const log = await Log.open(dir, { maxStoreBytes: 100 });
    try {
      for (let i = 0; i < 20; i++) log.append({ value: bytes(`v${i}`) });
      assert.deepEqual(await log.verify(), { segments: log.segmentCount, records: 20, damage: [] });
    } finally {
      await log.close();
    }
  });

  it('refuses records over the maximum record size with a typed error and writes nothing', async () => {
    const log = await Log.open(dir, { maxRecordBytes: 8 });
    try {
      assert.throws(() => log.append({ value: new Uint8Array(9) }), { code: 'record-too-large', size: 9, limit: 8 });
      assert.throws(() => log.appendBatch([{ value: new Uint8Array(1) }, { value: new Uint8Array(9) }]), {
        code: 'record-too-large',
      });
      assert.equal(log.nextOffset, 0);
      assert.equal(log.append({ value: new Uint8Array(8) }), 0);
    } finally {
      await log.close();
    }
  });

  it('starts a fresh log at config.initialOffset and keeps term and type', async () => {
    const log = await Log.open(dir, { initialOffset: 100 });
    try {
      assert.equal(log.lowestOffset, 100);
      assert.equal(log.nextOffset, 100);
      assert.equal(
        log.appendBatch([
          { value: bytes('a'), term: 3, type: RecordType.noop },
          { value: bytes('b'), term: 4 },
        ]),
        100,
      );
      assert.deepEqual({ ...log.read(100), value: null }, { value: null, offset: 100, term: 3, type: RecordType.noop });
      assert.equal(log.termAt(101), 4);
    } finally {
      await log.close();
    }
  });

  it('readRange reads no more of the store than the records it returns occupy', async () => {
    // GIVEN 4,000 records of 256 bytes (1.1 MiB of store) in one segment
    const log = await Log.open(dir);
    try {
      for (let i = 0; i < 4000; i++) log.append({ value: Buffer.alloc(256, i % 251) });
      const frame = 256 + FRAME_HEADER_BYTES;
      // WHEN a ConsumeStream-sized read (256 records, 1 MiB budget) and a short one take records
      for (const [from, maxCount] of [
        [0, 256],
        [1000, 3],
        [3990, 256],
      ] as const) {
        const rs = log.readRange(from, { maxCount, maxBytes: 1024 * 1024 });
        // THEN the buffers behind the values hold those records' frames, not a 1 MiB chunk
        // (the values are views: an oversized chunk would live as long as any of them); a
        // small read may come from Node's shared Buffer pool
        assert.equal(rs.length, Math.min(maxCount, 4000 - from));
        const held = new Set(rs.map((r) => r.value.buffer));
        const heldBytes = [...held].reduce((n, b) => n + b.byteLength, 0);
        assert.ok(
          heldBytes <= Math.max(rs.length * frame, Buffer.poolSize),
          `${rs.length} records from ${from} hold ${heldBytes} bytes of read buffers (their frames: ${rs.length * frame})`,
        );
        assert.deepEqual(
          rs.map((r) => r.value[0]),
          rs.map((r) => r.offset % 251),
        );
      }
      // AND a record larger than the read chunk (1 MiB) is still read whole, exactly
      const big = log.append({ value: Buffer.alloc(3 * 1024 * 1024, 7) });
      const [r] = log.readRange(big, { maxCount: 256, maxBytes: 1024 * 1024 });
      assert.equal(r?.value.length, 3 * 1024 * 1024);
      assert.equal(r?.value.buffer.byteLength, 3 * 1024 * 1024 + FRAME_HEADER_BYTES);
    } finally {
      await log.close();
    }
  });

  it('readRange returns consecutive records across segments within count, byte and end limits', async () => {
    const log = await Log.open(dir, { maxStoreBytes: 200 });
    try {
      for (let i = 0; i < 50; i++) log.append({ value: bytes(`record-${i}`) });
      assert.ok(log.segmentCount > 5);
      const all = log.readRange(0, { maxCount: 1000 });
      assert.deepEqual(
        all.map((r) => r.offset),
        [...Array(50).keys()],
      );
      assert.deepEqual(
        all.map((r) => Buffer.from(r.value).toString()),
        [...Array(50).keys()].map((i) => `record-${i}`),
      );
      assert.deepEqual(
        log.readRange(10, { maxCount: 3 }).map((r) => r.offset),
        [10, 11, 12],
      );
      assert.deepEqual(
        log.readRange(10, { endOffset: 12 }).map((r) => r.offset),
        [10, 11],
      );
      assert.equal(log.readRange(0, { maxBytes: 1 }).length, 1, 'at least one record even over maxBytes');
      assert.deepEqual(log.readRange(50), [], 'caught up');
      assert.throws(() => log.readRange(51), { code: 'offset-out-of-range' });
    } finally {
      await log.close();
    }
  });

  it('truncateSuffix removes every offset >= from, also across segment boundaries, and appends continue there', async () => {
    const log = await Log.open(dir, { maxStoreBytes: 100 });
    try {
      for (let i = 0; i < 20; i++) log.append({ value: bytes(`v${i}`), term: 1 });
      const bases = log.segmentBases();
      assert.ok(bases.length >= 4, `several segments: ${bases.join(',')}`);
      const boundary = bases[2] ?? 0;
      // Cut exactly at a segment boundary: later segments go, the previous one stays whole.
      log.truncateSuffix(boundary);
      assert.equal(log.nextOffset, boundary);
      assert.equal(log.segmentBases().at(-1), bases[1]);
      assert.throws(() => log.read(boundary), { code: 'offset-out-of-range' });
      assert.equal(Buffer.from(log.read(boundary - 1).value).toString(), `v${boundary - 1}`);
      // Cut in the middle of a segment: the earlier records survive (the book cut the wrong end).
      log.truncateSuffix(3);
      assert.equal(log.nextOffset, 3);
      assert.deepEqual(
        log.readRange(0).map((r) => Buffer.from(r.value).toString()),
        ['v0', 'v1', 'v2'],
      );
      assert.equal(log.append({ value: bytes('new3'), term: 2 }), 3);
      assert.equal(log.termAt(3), 2);
      await log.sync();
      await log.close();
      const again = await Log.open(dir, log.config);
      try {
        assert.deepEqual(
          again.readRange(0).map((r) => Buffer.from(r.value).toString()),
          ['v0', 'v1', 'v2', 'new3'],
        );
        assert.equal(again.termAt(2), 1);
        assert.equal(again.termAt(3), 2);
      } finally {
        await again.close();
      }
    } finally {
      await log.close();
    }
  });

  it('truncateSuffix down to lowestOffset empties the log; outside the log it is out of range', async () => {
    const log = await Log.open(dir, { maxStoreBytes: 100 });
    try {
      for (let i = 0; i < 10; i++) log.append({ value: bytes(`v${i}`) });
      assert.throws(() => log.truncateSuffix(11), { code: 'offset-out-of-range', offset: 11 });
      log.truncateSuffix(0);
      assert.equal(log.isEmpty, true);
      assert.equal(log.segmentCount, 1);
      assert.equal(log.append({ value: bytes('again') }), 0);
    } finally {
      await log.close();
    }
  });

  it('reset restarts an empty log at the given offset, durably', async () => {
    const log = await Log.open(dir, { maxStoreBytes: 100 });
    for (let i = 0; i < 10; i++)
      log.append({ value: bytes(`v${i}`), type: i === 0 ? RecordType.noop : RecordType.data });
    await log.reset(500, 480);
    assert.equal(log.lowestOffset, 500);
    assert.equal(log.nextOffset, 500);
    assert.equal(log.nextDataOffset, 480);
    assert.equal(log.append({ value: bytes('after') }), 500);
    await log.close();
    const again = await Log.open(dir, log.config);
    try {
      assert.equal(again.lowestOffset, 500);
      assert.equal(again.nextOffset, 501);
      assert.equal(again.toDataOffset(500), 480);
      assert.equal(again.segmentCount, 1);
    } finally {
      await again.close();
    }
  });

  it('while a prefix removal or reset is in flight, conflicting calls get LogBusyError and close waits', async () => {
    const log = await Log.open(dir, { maxStoreBytes: 100 });
    for (let i = 0; i < 20; i++) log.append({ value: bytes(`v${i}`) });
    const bases = log.segmentBases();
    const removing = log.truncatePrefix(bases[2] ?? 0);
    await assert.rejects(log.truncatePrefix(5), { code: 'log-busy', operation: 'truncatePrefix' });
    assert.throws(() => log.truncateSuffix(bases[2] ?? 0), { code: 'log-busy' });
    assert.equal(log.append({ value: bytes('appends go on') }), 20);
    await removing;
    const resetting = log.reset(100);
    assert.throws(() => log.append({ value: bytes('x') }), { code: 'log-busy', operation: 'reset' });
    await log.close();
    await resetting;
    const again = await Log.open(dir, log.config);
    try {
      assert.equal(again.lowestOffset, 100);
      assert.equal(again.isEmpty, true);
    } finally {
      await again.close();
    }
  });

  it('a closed log refuses every call with a typed error', async () => {
    const log = await Log.open(dir);
    await log.close();
    assert.throws(() => log.append(hello), { code: 'log-closed' });
    assert.throws(() => log.read(0), { code: 'log-closed' });
    await assert.rejects(log.sync(), { code: 'log-closed' });
    await log.close();
  });

  it('rejects an invalid configuration naming the field', async () => {
    await assert.rejects(Log.open(dir, { maxStoreBytes: 2 ** 33 }), {
      code: 'invalid-log-config',
      field: 'maxStoreBytes',
    });
  });
});
