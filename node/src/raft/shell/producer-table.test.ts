import assert from 'node:assert/strict';
import { decodePdata, encodePdata } from './pdata.js';
import { ProducerTable } from './producer-table.js';

const P = 'aa'.repeat(16);
const Q = 'bb'.repeat(16);

describe('producer table: the idempotent producer state machine (pure)', () => {
  it('a duplicate (producer, seq) appends nothing and answers the original offset', () => {
    const t = new ProducerTable();
    assert.deepEqual(t.apply(P, 0, 10, 0), { kind: 'append' });
    assert.deepEqual(t.apply(P, 1, 11, 1), { kind: 'append' });
    assert.deepEqual(t.apply(P, 0, 12, 2), { kind: 'duplicate', original: { seq: 0, dataOffset: 0, index: 10 } });
    assert.deepEqual(t.decide(P, 1, 13), { kind: 'duplicate', original: { seq: 1, dataOffset: 1, index: 11 } });
    // Another producer's seq 0 is its own.
    assert.deepEqual(t.apply(Q, 0, 13, 2), { kind: 'append' });
  });

  it('an older seq inside the window that was never applied is appended (out-of-order concurrent produces)', () => {
    const t = new ProducerTable({ maxProducers: 10, window: 4, expireAfterEntries: 1000 });
    t.apply(P, 5, 1, 0);
    assert.deepEqual(t.apply(P, 3, 2, 1), { kind: 'append' }, 'window not full: 3 was never applied');
    t.apply(P, 6, 3, 2);
    t.apply(P, 7, 4, 3);
    assert.deepEqual(t.apply(P, 4, 5, 4), { kind: 'append' }, '4 lies inside [3, 7] and was never applied');
    // The window now holds 4..7 (3 was pushed out).
    assert.deepEqual(t.decide(P, 3, 6), { kind: 'out-of-sequence', lowestSeq: 4, lastSeq: 7 });
    assert.equal(t.decide(P, 9, 6).kind, 'append', 'a gap above the last is fine');
  });

  it('an old seq below a full window is refused as out of sequence; inside the window it is answered', () => {
    const t = new ProducerTable({ maxProducers: 10, window: 3, expireAfterEntries: 1000 });
    for (let s = 0; s < 10; s++) t.apply(P, s, 100 + s, s);
    assert.deepEqual(t.apply(P, 2, 200, 10), { kind: 'out-of-sequence', lowestSeq: 7, lastSeq: 9 });
    assert.deepEqual(t.apply(P, 8, 201, 10), { kind: 'duplicate', original: { seq: 8, dataOffset: 8, index: 108 } });
  });

  it('keeps at most maxProducers, evicting the least recently applied one', () => {
    const t = new ProducerTable({ maxProducers: 3, window: 8, expireAfterEntries: 1_000_000 });
    const ids = ['01', '02', '03', '04'];
    t.apply(ids[0] as string, 0, 1, 0);
    t.apply(ids[1] as string, 0, 2, 1);
    t.apply(ids[2] as string, 0, 3, 2);
    t.apply(ids[0] as string, 1, 4, 3); // 01 is used again: 02 is now the least recent
    t.apply(ids[3] as string, 0, 5, 4);
    assert.equal(t.size, 3);
    assert.equal(t.lookup('02', 0), undefined, '02 was evicted');
    assert.ok(t.lookup('01', 0) !== undefined && t.lookup('03', 0) !== undefined && t.lookup('04', 0) !== undefined);
    // An evicted producer is unknown: its old seq is appended again (the documented bound).
    assert.deepEqual(t.decide('02', 0, 6), { kind: 'append' });
    for (let i = 0; i < 1000; i++) t.apply((1000 + i).toString(16), 0, 10 + i, 10 + i);
    assert.equal(t.size, 3, 'memory stays bounded under many producers');
  });

  it('forgets a producer idle for more than expireAfterEntries indexes (log distance, never a clock)', () => {
    const t = new ProducerTable({ maxProducers: 10, window: 8, expireAfterEntries: 100 });
    t.apply(P, 0, 1, 0);
    assert.equal(t.decide(P, 0, 101).kind, 'duplicate', 'exactly at the bound: still known');
    assert.equal(t.decide(P, 0, 102).kind, 'append', 'beyond: forgotten');
    t.apply(Q, 0, 102, 1);
    assert.equal(t.size, 1, 'the expired producer was dropped at the next apply');
  });

  it('round-trips through JSON: the restored table decides exactly as the original, LRU order included', () => {
    const limits = { maxProducers: 3, window: 4, expireAfterEntries: 50 };
    const a = new ProducerTable(limits);
    let idx = 1;
    for (let s = 0; s < 6; s++) a.apply(P, s, idx++, s);
    a.apply(Q, 0, idx++, 6);
    a.apply('cc', 3, idx++, 7);
    const b = ProducerTable.fromJSON(JSON.parse(JSON.stringify(a.toJSON())), limits);
    assert.deepEqual(b.toJSON(), a.toJSON());
    // Same future on both: identical decisions, identical evictions.
    const script: [string, number][] = [
      [P, 1],
      [P, 4],
      ['dd', 0],
      [P, 9],
      [Q, 0],
    ];
    for (const [id, s] of script) assert.deepEqual(b.apply(id, s, idx, idx), a.apply(id, s, idx++, idx - 1));
    assert.deepEqual(b.toJSON(), a.toJSON());
    assert.throws(() => ProducerTable.fromJSON({ producers: [['zz', 1, []]] }), /malformed producer/);
  });
});

describe('pdata: the payload of an idempotent producer entry', () => {
  it('carries producer id and sequence with the value and decodes back', () => {
    const id = Buffer.from(P, 'hex');
    const d = decodePdata(encodePdata({ id, seq: 2 ** 40 + 7 }, Buffer.from('hello')));
    assert.equal(d.producer, P);
    assert.equal(d.seq, 2 ** 40 + 7);
    assert.equal(Buffer.from(d.value).toString(), 'hello');
    assert.throws(() => encodePdata({ id: new Uint8Array(0), seq: 0 }, new Uint8Array(0)), /producer id/);
    assert.throws(() => decodePdata(Buffer.from([9, 1, 1])), /version/);
  });
});
