/**
 * Compact binary encoding of gossip messages. Pure (no node:* imports) so the core can size
 * piggybacked broadcasts and the simulator can count bytes exactly.
 *
 * Layout (big-endian): a packet is `version:u8 count:u8 message*`; a message is
 * `type:u8` followed by its fields; strings are `len:u16 utf8`; numbers are u32; a tag map
 * is `count:u8 (key value)*`. Every size is bounded by {@link Limits}; decoding validates
 * each field and returns a typed {@link DecodeFailure} instead of throwing.
 */
import {
  type Address,
  type Incarnation,
  type Message,
  type MemberState,
  type NodeName,
  type Tags,
  type WireMember,
  RefuseReasons,
} from './types.js';

/** Wire protocol version carried in the first byte of every packet and stream frame. */
export const PROTOCOL_VERSION = 1;

/** Hard bounds on decoded sizes; anything larger is rejected as `oversized`. */
export const Limits = {
  nameBytes: 128,
  addrBytes: 256,
  tags: 32,
  tagKeyBytes: 64,
  tagValueBytes: 512,
  members: 4096,
  messagesPerPacket: 255,
  /** Largest UDP payload we ever accept (IPv4 UDP maximum). */
  packetBytes: 65507,
  /** Largest stream (TCP) frame we accept: 4096 members × ~2 KiB worst case. */
  streamBytes: 8 * 1024 * 1024,
} as const;

/** Why a decode failed. */
export type DecodeErrorCode = 'truncated' | 'malformed' | 'oversized' | 'unknown-type' | 'version';
/** A typed decode failure (a value, not an exception). */
export interface DecodeFailure {
  readonly ok: false;
  readonly code: DecodeErrorCode;
  readonly detail: string;
}
/** Result of a decode. */
export type DecodeResult<T> = { readonly ok: true; readonly value: T } | DecodeFailure;

const TYPE = {
  ping: 1,
  'indirect-ping': 2,
  ack: 3,
  nack: 4,
  alive: 5,
  suspect: 6,
  dead: 7,
  'push-pull': 8,
  refuse: 9,
} as const;
const STATE_CODE: Readonly<Record<MemberState, number>> = { alive: 0, suspect: 1, dead: 2, left: 3 };
const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, v >>> 0);
    this.len += 4;
  }
  str(s: string, max: number, what: string): void {
    const b = utf8.encode(s);
    // Encoding something the peer would reject is our bug: fail loudly here.
    if (b.length > max) throw new RangeError(`gossip codec: ${what} is ${b.length} bytes, limit ${max}`);
    this.u16(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Thrown only inside this module and always converted to a {@link DecodeFailure}. */
class Fail {
  constructor(
    readonly code: DecodeErrorCode,
    readonly detail: string,
  ) {}
}

class Reader {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new Fail('truncated', `${what} at byte ${this.pos}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  str(max: number, what: string): string {
    const n = this.u16(what);
    if (n > max) throw new Fail('oversized', `${what} is ${n} bytes, limit ${max}`);
    this.need(n, what);
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8Strict.decode(s);
    } catch {
      throw new Fail('malformed', `${what} is not valid UTF-8`);
    }
  }
  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new Fail('malformed', `${what} is ${v}, want 0 or 1`);
    return v === 1;
  }
  done(): boolean {
    return this.pos === this.b.length;
  }
}

function writeTags(w: Writer, tags: Tags): void {
  const entries = Object.entries(tags);
  if (entries.length > Limits.tags) throw new RangeError(`gossip codec: ${entries.length} tags, limit ${Limits.tags}`);
  w.u8(entries.length);
  for (const [k, v] of entries) {
    w.str(k, Limits.tagKeyBytes, 'tag key');
    w.str(v, Limits.tagValueBytes, 'tag value');
  }
}

function readTags(r: Reader): Tags {
  const n = r.u8('tag count');
  if (n > Limits.tags) throw new Fail('oversized', `${n} tags, limit ${Limits.tags}`);
  const tags: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const k = r.str(Limits.tagKeyBytes, 'tag key');
    // Reject keys that would touch Object.prototype semantics or duplicate.
    if (k === '__proto__' || Object.hasOwn(tags, k)) throw new Fail('malformed', `bad or duplicate tag key "${k}"`);
    tags[k] = r.str(Limits.tagValueBytes, 'tag value');
  }
  return tags;
}

const name = (r: Reader, what: string): NodeName => {
  const s = r.str(Limits.nameBytes, what);
  if (s.length === 0) throw new Fail('malformed', `${what} is empty`);
  return s as NodeName;
};
const addr = (r: Reader, what: string): Address => r.str(Limits.addrBytes, what) as Address;
const inc = (r: Reader): Incarnation => r.u32('incarnation') as Incarnation;

function writeMessage(w: Writer, m: Message): void {
  w.u8(TYPE[m.type]);
  switch (m.type) {
    case 'ping':
      w.u32(m.seq);
      w.str(m.target, Limits.nameBytes, 'target');
      w.str(m.from, Limits.nameBytes, 'from');
      return;
    case 'indirect-ping':
      w.u32(m.seq);
      w.str(m.target, Limits.nameBytes, 'target');
      w.str(m.targetAddr, Limits.addrBytes, 'target address');
      w.u8(m.nack ? 1 : 0);
      w.str(m.from, Limits.nameBytes, 'from');
      return;
    case 'ack':
    case 'nack':
      w.u32(m.seq);
      return;
    case 'alive':
      w.u32(m.incarnation);
      w.str(m.node, Limits.nameBytes, 'node');
      w.str(m.addr, Limits.addrBytes, 'address');
      writeTags(w, m.tags);
      return;
    case 'suspect':
    case 'dead':
      w.u32(m.incarnation);
      w.str(m.node, Limits.nameBytes, 'node');
      w.str(m.from, Limits.nameBytes, 'from');
      return;
    case 'push-pull':
      w.u8(m.join ? 1 : 0);
      w.str(m.from, Limits.nameBytes, 'from');
      if (m.members.length > Limits.members) throw new RangeError(`gossip codec: ${m.members.length} members`);
      w.u32(m.members.length);
      for (const mem of m.members) {
        w.str(mem.name, Limits.nameBytes, 'member name');
        w.str(mem.addr, Limits.addrBytes, 'member address');
        w.u32(mem.incarnation);
        w.u8(STATE_CODE[mem.state]);
        writeTags(w, mem.tags);
      }
      return;
    case 'refuse':
      w.u8(1);
      w.str(m.clusterId, Limits.tagValueBytes, 'cluster id');
      return;
  }
}

function readMessage(r: Reader): Message {
  const t = r.u8('message type');
  switch (t) {
    case TYPE.ping:
      return { type: 'ping', seq: r.u32('seq'), target: name(r, 'target'), from: name(r, 'from') };
    case TYPE['indirect-ping']:
      return {
        type: 'indirect-ping',
        seq: r.u32('seq'),
        target: name(r, 'target'),
        targetAddr: addr(r, 'target address'),
        nack: r.bool('nack flag'),
        from: name(r, 'from'),
      };
    case TYPE.ack:
      return { type: 'ack', seq: r.u32('seq') };
    case TYPE.nack:
      return { type: 'nack', seq: r.u32('seq') };
    case TYPE.alive:
      return { type: 'alive', incarnation: inc(r), node: name(r, 'node'), addr: addr(r, 'address'), tags: readTags(r) };
    case TYPE.suspect:
      return { type: 'suspect', incarnation: inc(r), node: name(r, 'node'), from: name(r, 'from') };
    case TYPE.dead:
      return { type: 'dead', incarnation: inc(r), node: name(r, 'node'), from: name(r, 'from') };
    case TYPE['push-pull']: {
      const join = r.bool('join flag');
      const from = name(r, 'from');
      const n = r.u32('member count');
      if (n > Limits.members) throw new Fail('oversized', `${n} members, limit ${Limits.members}`);
      const members: WireMember[] = [];
      for (let i = 0; i < n; i++) {
        const mName = name(r, 'member name');
        const mAddr = addr(r, 'member address');
        const mInc = inc(r);
        const code = r.u8('member state');
        const state = STATES[code];
        if (state === undefined) throw new Fail('malformed', `member state code ${code}`);
        members.push({ name: mName, addr: mAddr, incarnation: mInc, state, tags: readTags(r) });
      }
      return { type: 'push-pull', join, from, members };
    }
    case TYPE.refuse: {
      const reason = r.u8('refuse reason');
      if (reason !== 1) throw new Fail('malformed', `refuse reason ${reason}`);
      return {
        type: 'refuse',
        reason: RefuseReasons.clusterMismatch,
        clusterId: r.str(Limits.tagValueBytes, 'cluster id'),
      };
    }
    default:
      throw new Fail('unknown-type', `message type ${t}`);
  }
}

/** Encodes one UDP packet holding `msgs` (1..255 messages). Throws RangeError on our own oversize. */
export function encodePacket(msgs: readonly Message[]): Uint8Array {
  if (msgs.length === 0 || msgs.length > Limits.messagesPerPacket) {
    throw new RangeError(`gossip codec: ${msgs.length} messages in a packet`);
  }
  const w = new Writer();
  w.u8(PROTOCOL_VERSION);
  w.u8(msgs.length);
  for (const m of msgs) writeMessage(w, m);
  return w.bytes();
}

/** Encodes one message on its own (a stream frame body). */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  w.u8(PROTOCOL_VERSION);
  writeMessage(w, m);
  return w.bytes();
}

/** Bytes a message adds to a packet; used to fill packets up to the UDP budget. */
export function messageSize(m: Message): number {
  const w = new Writer();
  writeMessage(w, m);
  return w.bytes().length;
}

/** Bytes of packet header (version, count) before the first message. */
export const PACKET_HEADER_BYTES = 2;

function guarded<T>(b: Uint8Array, max: number, f: (r: Reader) => T): DecodeResult<T> {
  if (b.length > max) return { ok: false, code: 'oversized', detail: `${b.length} bytes, limit ${max}` };
  const r = new Reader(b);
  try {
    const v = r.u8('version');
    if (v !== PROTOCOL_VERSION) return { ok: false, code: 'version', detail: `version ${v}, want ${PROTOCOL_VERSION}` };
    const value = f(r);
    if (!r.done()) return { ok: false, code: 'malformed', detail: 'trailing bytes' };
    return { ok: true, value };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, code: e.code, detail: e.detail };
    return { ok: false, code: 'malformed', detail: String(e) };
  }
}

/** Decodes a UDP packet; never throws. */
export function decodePacket(b: Uint8Array): DecodeResult<readonly Message[]> {
  return guarded(b, Limits.packetBytes, (r) => {
    const n = r.u8('message count');
    if (n === 0) throw new Fail('malformed', 'empty packet');
    const out: Message[] = [];
    for (let i = 0; i < n; i++) out.push(readMessage(r));
    return out;
  });
}

/** Decodes one stream message; never throws. */
export function decodeMessage(b: Uint8Array): DecodeResult<Message> {
  return guarded(b, Limits.streamBytes, readMessage);
}
