import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Message } from '../core/types.js';
import { ENTRY_WIRE_OVERHEAD, appendLimits } from '../core/append-limits.js';
import { FrameSplitter, WIRE_VERSION, decodeFrame, encodeHello, encodeMessage, helloVersionFor } from './codec.js';
import { FrameError } from './errors.js';

const base = { from: 'a', to: 'b', term: 7 };
const conf = { voters: ['a', 'b'], learners: ['c'] };
const samples = [
  { ...base, type: 'preVote', lastIndex: 10, lastTerm: 6 },
  { ...base, type: 'preVoteResp', granted: true },
  { ...base, type: 'vote', lastIndex: 2 ** 40, lastTerm: 6, transfer: true },
  { ...base, type: 'voteResp', granted: false },
  {
    ...base,
    type: 'append',
    prevIndex: 9,
    prevTerm: 6,
    commit: 8,
    entries: [
      { index: 10, term: 7, type: 'noop', data: new Uint8Array(0) },
      { index: 11, term: 7, type: 'data', data: new Uint8Array([1, 2, 3]) },
      { index: 12, term: 7, type: 'config', data: new TextEncoder().encode('{}') },
    ],
  },
  { ...base, type: 'appendResp', success: false, index: 9, hintIndex: 4, hintTerm: 3 },
  { ...base, type: 'heartbeat', commit: 8, readSeq: 3 },
  { ...base, type: 'heartbeatResp', readSeq: 3 },
  {
    ...base,
    type: 'snapshot',
    meta: { index: 100, term: 5, confState: conf, size: 12 },
    offset: 0,
    data: new Uint8Array(12).fill(9),
    done: true,
  },
  {
    ...base,
    type: 'snapshot',
    meta: { index: 100, term: 5, confState: { ...conf, storage: { a: 'sa', c: 'sc' } }, size: 12 },
    offset: 0,
    data: new Uint8Array(12).fill(9),
    done: true,
  },
  { ...base, type: 'snapshotResp', snapIndex: 100, nextOffset: 12 },
  { ...base, type: 'timeoutNow' },
  { ...base, type: 'readIndex', ctx: 'ctx-1' },
  { ...base, type: 'readIndexResp', ctx: 'ctx-1', index: 42 },
] as unknown as Message[];

const body = (frame: Buffer): Buffer => frame.subarray(4);

describe('raft shell: binary message codec', () => {
  it('round-trips every message type', () => {
    for (const m of samples) {
      const f = decodeFrame(body(encodeMessage(m)));
      assert.equal(f.kind, 'message');
      assert.deepEqual(f.kind === 'message' ? f.message : null, m, m.type);
    }
  });

  it("decoded entries own their bytes: reusing the received frame's buffer changes none of them", () => {
    const m = samples.find((s) => s.type === 'append') as Message;
    const received = body(encodeMessage(m));
    const f = decodeFrame(received);
    received.fill(0xee); // the socket's buffer, reused for the next chunk
    assert.deepEqual(f.kind === 'message' ? f.message : null, m);
  });

  it('an append of many entries encodes to the same bytes whatever its size (the presized writer)', () => {
    const entries = Array.from({ length: 64 }, (_, i) => ({
      index: 10 + i,
      term: 7,
      type: 'data' as const,
      data: new Uint8Array(300 + i).fill(i),
    }));
    const m = { ...base, type: 'append', prevIndex: 9, prevTerm: 6, commit: 8, entries } as unknown as Message;
    const frame = encodeMessage(m);
    assert.equal(frame.readUInt32BE(0), frame.length - 4);
    assert.deepEqual(decodeFrame(body(frame)), { kind: 'message', message: m });
  });

  describe("snapshots with members' storage ids (issue 12)", () => {
    const snap = (storage?: Record<string, string>): Message =>
      ({
        ...base,
        type: 'snapshot',
        meta: { index: 100, term: 5, confState: { ...conf, ...(storage ? { storage } : {}) }, size: 12 },
        offset: 0,
        data: new Uint8Array(12),
        done: true,
      }) as unknown as Message;
    it('a snapshot without storage ids keeps its tag (9) and layout, which older nodes decode', () => {
      const f = body(encodeMessage(snap()));
      assert.equal(f[1], 9);
      // The old layout ends with the conf (u32 count, ids…) then offset, data and done: no storage list.
      assert.equal(f.length, body(encodeMessage(snap({ a: 'sa' }))).length - (4 + 2 + 1 + 2 + 2));
    });
    it('a snapshot with storage ids has its own tag (older nodes refuse it as an unknown type)', () => {
      assert.equal(body(encodeMessage(snap({ a: 'sa' })))[1], 14);
    });
    it('refuses storage ids of a non-member', () => {
      assert.throws(() => decodeFrame(body(encodeMessage(snap({ z: 'sz' })))), FrameError);
    });
  });

  it('round-trips the hello frame', () => {
    assert.deepEqual(decodeFrame(body(encodeHello({ version: 1, clusterId: 'c', from: 'a' as never }))), {
      kind: 'hello',
      hello: { version: 1, clusterId: 'c', from: 'a' },
    });
  });

  describe('versioned hello (README.md "Wire versions")', () => {
    // The hello of a node older than wire v2, byte by byte: u32 length | kind 1 | version 1 |
    // u16 len | clusterId | u16 len | from. Such a node refuses any other version and trailing bytes.
    const v1Bytes = Buffer.from([0, 0, 0, 10, 1, 1, 0, 2, 0x63, 0x31, 0, 2, 0x6e, 0x31]);

    it('a v1 hello is byte-identical to the one nodes older than wire v2 send and accept', () => {
      assert.deepEqual(encodeHello({ version: 1, clusterId: 'c1', from: 'n1' as never }), v1Bytes);
    });

    it('a v1 hello by hand (an old node) decodes: no storage id', () => {
      assert.deepEqual(decodeFrame(body(v1Bytes)), {
        kind: 'hello',
        hello: { version: 1, clusterId: 'c1', from: 'n1' },
      });
    });

    it('a v2 hello carries the storage id after the v1 fields', () => {
      const h = { version: 2, clusterId: 'c1', from: 'n1', storageId: 'ab'.repeat(16) } as const;
      const f = encodeHello({ ...h, from: h.from as never });
      assert.equal(f.readUInt8(5), 2, 'version byte');
      assert.deepEqual(f.subarray(6, 14), v1Bytes.subarray(6), 'then the v1 fields');
      assert.deepEqual(decodeFrame(body(f)), { kind: 'hello', hello: h });
    });

    it('refuses a v2 hello without a storage id and a v1 hello with trailing bytes', () => {
      const noStorage = body(encodeHello({ version: 1, clusterId: 'c1', from: 'n1' as never }));
      noStorage.writeUInt8(2, 1);
      assert.throws(() => decodeFrame(noStorage), FrameError);
      assert.throws(() => decodeFrame(Buffer.concat([body(v1Bytes), Buffer.from([0, 1, 0x78])])), FrameError);
    });

    it('refuses a hello of a version it does not speak (0, or above WIRE_VERSION)', () => {
      for (const v of [0, WIRE_VERSION + 1]) {
        const f = Buffer.from(body(v1Bytes));
        f.writeUInt8(v, 1);
        assert.throws(
          () => decodeFrame(f),
          (e: unknown) => e instanceof FrameError && /unsupported version/.test(e.message),
        );
      }
    });

    it('a peer gets v2 only when it is known to accept v2 (unknown or older: v1)', () => {
      assert.equal(helloVersionFor(undefined), 1);
      assert.equal(helloVersionFor(1), 1);
      assert.equal(helloVersionFor(2), 2);
      assert.equal(helloVersionFor(7), 2, 'a newer peer accepts every older version');
    });
  });

  it('splits a stream cut at arbitrary points back into the same frames', () => {
    const stream = Buffer.concat(samples.map(encodeMessage));
    const sp = new FrameSplitter(1 << 20);
    const got: Message[] = [];
    for (let i = 0; i < stream.length; i += 7) {
      sp.push(stream.subarray(i, i + 7));
      for (let b = sp.next(); b !== null; b = sp.next()) {
        const f = decodeFrame(b);
        if (f.kind === 'message') got.push(f.message);
      }
    }
    assert.deepEqual(got, samples);
  });

  it('rejects a declared frame length over the limit before buffering it', () => {
    const sp = new FrameSplitter(1024);
    sp.push(Buffer.from([0, 0, 0x10, 0]));
    assert.throws(() => sp.next(), FrameError);
  });

  it('throws FrameError (never anything else) on truncated or corrupted frames', () => {
    const frames = samples.map((m) => body(encodeMessage(m)));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frames.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (k, pos, byte, truncate) => {
          const f = Buffer.from(frames[k] as Buffer);
          const p = pos % f.length;
          const bad = truncate ? f.subarray(0, p) : (f.writeUInt8(byte, p), f);
          try {
            decodeFrame(bad);
          } catch (e) {
            assert.ok(e instanceof FrameError, String(e));
          }
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });

  describe('the shared append limit (core/append-limits.ts)', () => {
    const append = (n: number, bytes = 8): Message =>
      ({
        ...base,
        type: 'append',
        prevIndex: 0,
        prevTerm: 0,
        commit: 0,
        entries: Array.from({ length: n }, (_, i) => ({
          index: i + 1,
          term: 7,
          type: 'data',
          data: new Uint8Array(bytes),
        })),
      }) as unknown as Message;

    it('a full batch (max entries, max payload) fits in one frame', () => {
      assert.ok(
        appendLimits.maxPayloadBytes + appendLimits.maxEntries * ENTRY_WIRE_OVERHEAD + 1024 <=
          appendLimits.maxFrameBytes,
      );
    });

    it('accepts an append of exactly the entry limit on both sides', () => {
      const f = decodeFrame(body(encodeMessage(append(appendLimits.maxEntries))));
      assert.equal(
        f.kind === 'message' && f.message.type === 'append' ? f.message.entries.length : -1,
        appendLimits.maxEntries,
      );
    });

    it('never encodes an append the receiver would refuse (one entry over the limit)', () => {
      assert.throws(
        () => encodeMessage(append(appendLimits.maxEntries + 1)),
        (e: unknown) => e instanceof FrameError && /entries count/.test(e.message),
      );
    });

    it('the receiver refuses an append over the limit with FrameError', () => {
      // Hand-build the frame the encoder refuses: patch the entry count of a valid one.
      const f = body(encodeMessage(append(2, 0)));
      const countAt = 1 + 1 + 3 + 3 + 8 + 8 + 8 + 8;
      f.writeUInt32BE(appendLimits.maxEntries + 1, countAt);
      assert.throws(
        () => decodeFrame(f),
        (e: unknown) => e instanceof FrameError && /exceeds 10000/.test(e.message),
      );
    });
  });
});
