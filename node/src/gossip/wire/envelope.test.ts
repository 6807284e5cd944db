import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Message, nodeName } from '../core/types.js';
import { envelopeOverhead, openFrame, openPacket, sealFrame, sealPacket } from './envelope.js';
import { Keyring, KeyringError } from './keyring.js';

const msgs: Message[] = [{ type: 'ping', seq: 1, target: nodeName('b'), from: nodeName('a') }];

describe('gossip envelope: AES-256-GCM with a rotating keyring', () => {
  it('encrypted packets open with the same key and carry the stated overhead', () => {
    const ring = new Keyring([randomBytes(32)]);
    const b = sealPacket(msgs, ring);
    assert.equal(b.length, sealPacket(msgs, undefined).length - envelopeOverhead(false) + envelopeOverhead(true));
    assert.deepEqual(openPacket(b, ring), { ok: true, value: msgs });
  });

  it('a wrong key, a flipped bit or a truncation is dropped as a typed reason', () => {
    const ring = new Keyring([randomBytes(32)]);
    const other = new Keyring([randomBytes(32)]);
    const b = sealPacket(msgs, ring);
    const r1 = openPacket(b, other);
    assert.ok(!r1.ok && r1.reason === 'decrypt-failed');
    const flipped = Buffer.from(b);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    const r2 = openPacket(flipped, ring);
    assert.ok(!r2.ok && r2.reason === 'decrypt-failed');
    const r3 = openPacket(b.subarray(0, 10), ring);
    assert.ok(!r3.ok && r3.reason === 'truncated');
    const r4 = openPacket(Buffer.alloc(0), ring);
    assert.ok(!r4.ok && r4.reason === 'truncated');
  });

  it('with encryption on, plain packets are refused; with it off, encrypted ones are', () => {
    const ring = new Keyring([randomBytes(32)]);
    const r1 = openPacket(sealPacket(msgs, undefined), ring);
    assert.ok(!r1.ok && r1.reason === 'unencrypted');
    const r2 = openPacket(sealPacket(msgs, ring), undefined);
    assert.ok(!r2.ok && r2.reason === 'encrypted-no-key');
    const r3 = openPacket(Buffer.of(7, 1, 2), undefined);
    assert.ok(!r3.ok && r3.reason === 'unknown-envelope');
  });

  it('rotation: install new key everywhere, make it primary, remove the old — old and new traffic both open meanwhile', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const a = new Keyring([k1]);
    const b = new Keyring([k1]);
    b.install(k2);
    b.use(k2);
    assert.ok(openPacket(sealPacket(msgs, b), a).ok === false, 'a does not have k2 yet');
    a.install(k2);
    assert.ok(openPacket(sealPacket(msgs, b), a).ok, 'a decrypts with the installed k2');
    assert.ok(openPacket(sealPacket(msgs, a), b).ok, 'b still decrypts k1 traffic');
    a.use(k2);
    a.remove(k1);
    b.remove(k1);
    assert.ok(openPacket(sealPacket(msgs, a), b).ok);
    assert.throws(() => b.remove(k2), KeyringError);
    assert.throws(() => new Keyring([randomBytes(16)]), KeyringError);
  });

  it('stream frames are length-prefixed and sealed the same way', () => {
    const ring = new Keyring([randomBytes(32)]);
    const f = sealFrame(msgs[0] as Message, ring);
    assert.equal(f.readUInt32BE(0), f.length - 4);
    assert.deepEqual(openFrame(f.subarray(4), ring), { ok: true, value: msgs[0] });
  });
});
