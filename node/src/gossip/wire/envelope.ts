/**
 * The envelope around every UDP packet and stream frame: a one-byte kind, then either the
 * plain encoding or AES-256-GCM (`nonce:12 ciphertext tag:16`, the kind byte as associated
 * data) under the keyring's primary key (memberlist `security.go`). With a keyring set,
 * plain packets are refused; without one, encrypted packets are refused. Opening never
 * throws: failures are typed values the shell counts and drops.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  type DecodeErrorCode,
  type DecodeResult,
  decodeMessage,
  decodePacket,
  encodeMessage,
  encodePacket,
} from '../core/codec.js';
import { type Message } from '../core/types.js';
import { type Keyring } from './keyring.js';

const PLAIN = 0x01;
const AES_GCM = 0x02;
const NONCE = 12;
const TAG = 16;

/** Bytes the envelope adds: 1 for plain, 29 for AES-GCM. */
export const envelopeOverhead = (encrypted: boolean): number => (encrypted ? 1 + NONCE + TAG : 1);

/** Why a packet or frame was dropped; the shell keeps one counter per reason. */
export type DropReason = DecodeErrorCode | 'decrypt-failed' | 'unencrypted' | 'encrypted-no-key' | 'unknown-envelope';

/** Result of opening: the decoded value or a drop reason. */
export type OpenResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

/** Wraps encoded bytes in the envelope (encrypting when a keyring is given). */
export function seal(plain: Uint8Array, keyring: Keyring | undefined): Buffer {
  if (keyring === undefined) return Buffer.concat([Buffer.of(PLAIN), plain]);
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', keyring.primary, nonce);
  c.setAAD(Buffer.of(AES_GCM));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([Buffer.of(AES_GCM), nonce, ct, c.getAuthTag()]);
}

/** Unwraps the envelope; tries every key of the keyring (rotation). */
export function unseal(b: Uint8Array, keyring: Keyring | undefined): OpenResult<Uint8Array> {
  if (b.length < 1) return { ok: false, reason: 'truncated', detail: 'empty' };
  const kind = b[0];
  if (kind === PLAIN) {
    if (keyring !== undefined) return { ok: false, reason: 'unencrypted', detail: 'plain packet with encryption on' };
    return { ok: true, value: b.subarray(1) };
  }
  if (kind !== AES_GCM) return { ok: false, reason: 'unknown-envelope', detail: `kind ${kind}` };
  if (keyring === undefined) return { ok: false, reason: 'encrypted-no-key', detail: 'encrypted packet, no keyring' };
  if (b.length < 1 + NONCE + TAG) return { ok: false, reason: 'truncated', detail: `${b.length} bytes` };
  const nonce = b.subarray(1, 1 + NONCE);
  const ct = b.subarray(1 + NONCE, b.length - TAG);
  const tag = b.subarray(b.length - TAG);
  for (const key of keyring.all) {
    try {
      const d = createDecipheriv('aes-256-gcm', key, nonce);
      d.setAAD(Buffer.of(AES_GCM));
      d.setAuthTag(tag);
      return { ok: true, value: Buffer.concat([d.update(ct), d.final()]) };
    } catch {
      // Wrong key or tampered: try the next key.
    }
  }
  return { ok: false, reason: 'decrypt-failed', detail: `no key of ${keyring.all.length} decrypts` };
}

function lift<T>(r: DecodeResult<T>): OpenResult<T> {
  return r.ok ? r : { ok: false, reason: r.code, detail: r.detail };
}

/** Encodes and seals a UDP packet. */
export const sealPacket = (msgs: readonly Message[], keyring: Keyring | undefined): Buffer =>
  seal(encodePacket(msgs), keyring);

/** Opens and decodes a UDP packet. */
export function openPacket(b: Uint8Array, keyring: Keyring | undefined): OpenResult<readonly Message[]> {
  const u = unseal(b, keyring);
  return u.ok ? lift(decodePacket(u.value)) : u;
}

/** Encodes and seals one stream message as a length-prefixed frame. */
export function sealFrame(msg: Message, keyring: Keyring | undefined): Buffer {
  const body = seal(encodeMessage(msg), keyring);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** Opens and decodes a stream frame body (without its length prefix). */
export function openFrame(body: Uint8Array, keyring: Keyring | undefined): OpenResult<Message> {
  const u = unseal(body, keyring);
  return u.ok ? lift(decodeMessage(u.value)) : u;
}
