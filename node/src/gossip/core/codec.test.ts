import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Limits, decodeMessage, decodePacket, encodeMessage, encodePacket } from './codec.js';
import { type Message, incarnation, nodeName, address } from './types.js';

const samples: Message[] = [
  { type: 'ping', seq: 7, target: nodeName('b'), from: nodeName('a') },
  {
    type: 'indirect-ping',
    seq: 2 ** 32 - 1,
    target: nodeName('c'),
    targetAddr: address('[::1]:7946'),
    nack: true,
    from: nodeName('a'),
  },
  { type: 'ack', seq: 1 },
  { type: 'nack', seq: 2 },
  {
    type: 'alive',
    incarnation: incarnation(3),
    node: nodeName('ñode-1'),
    addr: address('10.0.0.1:8401'),
    tags: { rpcAddr: '10.0.0.1:8400', clusterId: 'c' },
  },
  { type: 'suspect', incarnation: incarnation(4), node: nodeName('b'), from: nodeName('a') },
  { type: 'dead', incarnation: incarnation(5), node: nodeName('b'), from: nodeName('b') },
  {
    type: 'push-pull',
    join: true,
    from: nodeName('a'),
    members: [
      { name: nodeName('a'), addr: address('1.2.3.4:5'), incarnation: incarnation(0), state: 'left', tags: {} },
    ],
  },
  { type: 'refuse', reason: 'cluster-mismatch', clusterId: 'x' },
];

describe('gossip codec: bounded binary encoding', () => {
  it('round-trips every message type, alone and in one packet', () => {
    for (const m of samples) assert.deepEqual(decodeMessage(encodeMessage(m)), { ok: true, value: m });
    assert.deepEqual(decodePacket(encodePacket(samples.slice(0, 7))), { ok: true, value: samples.slice(0, 7) });
  });

  it('every truncation of a valid packet is a typed failure, never a throw', () => {
    const b = encodePacket(samples.slice(0, 7));
    for (let n = 0; n < b.length; n++) {
      const r = decodePacket(b.subarray(0, n));
      assert.equal(r.ok, false, `prefix ${n}`);
    }
  });

  it('random bytes and random mutations never throw and never decode to garbage silently', () => {
    const valid = encodePacket(samples.slice(0, 7));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = decodePacket(b);
        if (r.ok) assert.deepEqual(decodePacket(encodePacket(r.value)), r);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const b = Uint8Array.from(valid);
        b[i] = v;
        decodePacket(b); // must not throw
      }),
      { numRuns: 500 },
    );
  });

  it('rejects oversize fields, unknown types, wrong versions and trailing bytes with a code', () => {
    const r0 = decodePacket(new Uint8Array(Limits.packetBytes + 1));
    assert.ok(!r0.ok && r0.code === 'oversized');
    const r1 = decodePacket(Uint8Array.of(9, 1, 3, 0, 0, 0, 1));
    assert.ok(!r1.ok && r1.code === 'version');
    const r2 = decodePacket(Uint8Array.of(1, 1, 99));
    assert.ok(!r2.ok && r2.code === 'unknown-type');
    const r3 = decodePacket(Uint8Array.of(1, 1, 3, 0, 0, 0, 1, 0));
    assert.ok(!r3.ok && r3.code === 'malformed');
    // A name length field far beyond the limit.
    const r4 = decodePacket(Uint8Array.of(1, 1, 1, 0, 0, 0, 1, 0xff, 0xff));
    assert.ok(!r4.ok && r4.code === 'oversized');
    // Invalid UTF-8 in a name.
    const r5 = decodePacket(Uint8Array.of(1, 1, 1, 0, 0, 0, 1, 0, 1, 0xff, 0, 1, 0x61));
    assert.ok(!r5.ok && r5.code === 'malformed');
  });

  it('refuses to encode what a peer would reject (our bug, loud)', () => {
    assert.throws(
      () => encodeMessage({ type: 'ping', seq: 1, target: nodeName('x'.repeat(200)), from: nodeName('a') }),
      RangeError,
    );
  });
});
