/**
 * Compact binary codec of the core's {@link Message} union for the TCP transport.
 *
 * Wire format: every frame is `u32 length | body` (big-endian). A body starts with a kind
 * byte: {@link FrameKind.hello} (first frame of a connection, see below) or
 * {@link FrameKind.message} (one message). Integers that can exceed 2^32 (terms, indexes,
 * offsets) are u64 limited to safe integers; strings are `u16 length | UTF-8`; byte fields
 * `u32 length | bytes`. Decoding validates every length against the frame and every enum
 * value, and throws {@link FrameError}: the transport then closes the connection and counts
 * it — a bad peer can never crash the node.
 *
 * Append messages are checked against the one shared limit (core/append-limits.ts) on both
 * sides: {@link encodeMessage} refuses to build a frame that {@link decodeFrame} would refuse,
 * so a refused frame is never sent at all, let alone resent.
 *
 * Hello versions (the compatibility rule, README.md "Wire versions"):
 * - v1: `kind | 1 | clusterId | from`. Every node speaks it. Nodes older than v2 accept ONLY
 *   this exact layout (they check `version === 1` and refuse trailing bytes).
 * - v2: `kind | 2 | clusterId | from | storageId` (the sender's data-dir storage id, issue 12).
 * A receiver accepts every version from 1 to {@link WIRE_VERSION} and refuses a higher one. A
 * sender sends v2 only to a peer known to accept it (the agent reads the peer's gossip tag
 * `wire`), else v1 — so a new node never breaks an old one during a rolling upgrade. A future
 * v3 follows the same rule: a new version number, never new trailing bytes on an old one.
 */
import { MAX_MEMBER_LIST, appendLimitViolation, appendLimits } from '../core/append-limits.js';
import type { ConfState, Entry, EntryType, Message, NodeId, SnapshotMeta } from '../core/types.js';
import { FrameError } from './errors.js';

/** Frame kinds. */
export const FrameKind = { hello: 1, message: 2 } as const;
/** The first hello version: every node accepts it. */
export const WIRE_V1 = 1;
/** The highest hello version this node speaks and accepts (v2 carries the storage id). */
export const WIRE_VERSION = 2;

const TYPES = [
  'preVote',
  'preVoteResp',
  'vote',
  'voteResp',
  'append',
  'appendResp',
  'heartbeat',
  'heartbeatResp',
  'snapshot',
  'snapshotResp',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
] as const satisfies readonly Message['type'][];
const TYPE_TAG = new Map<string, number>(TYPES.map((t, i) => [t, i + 1]));
/**
 * Wire tag of a `snapshot` whose configuration carries members' storage ids (issue 12): the
 * meta is followed by `u32 count | (member, storageId)*`. A snapshot without them keeps tag
 * `snapshot` and its old layout; nodes older than this tag refuse it (like `pdata`).
 */
const SNAPSHOT_WITH_STORAGE_TAG = TYPES.length + 1;
// Append only: the index is the wire tag. `pdata` (3) is refused by nodes older than it.
const ENTRY_TYPES = ['data', 'noop', 'config', 'pdata'] as const satisfies readonly EntryType[];
const MAX_ID = 256;
const MAX_LIST = MAX_MEMBER_LIST;

/** Largest frame body either side accepts: the shared limit (core/append-limits.ts). */
export const MAX_FRAME_BYTES = appendLimits.maxFrameBytes;

/**
 * The first frame on a connection: v1 (any peer accepts it) or v2 (with the sender's
 * storage id; only for peers that accept v2).
 */
export type Hello =
  | { readonly version: typeof WIRE_V1; readonly clusterId: string; readonly from: NodeId }
  | {
      readonly version: 2;
      readonly clusterId: string;
      readonly from: NodeId;
      /** The sender's data-dir storage id (agent/storage-id.ts); never empty. */
      readonly storageId: string;
    };

/** The hello version to send a peer that accepts at most `peerAccepts` (undefined: unknown, so v1). */
export function helloVersionFor(peerAccepts: number | undefined): Hello['version'] {
  return peerAccepts !== undefined && peerAccepts >= 2 ? 2 : WIRE_V1;
}

/** A decoded frame body. */
export type Frame =
  { readonly kind: 'hello'; readonly hello: Hello } | { readonly kind: 'message'; readonly message: Message };

class Writer {
  private buf: Buffer;
  private pos = 4;
  /** `size`: the expected frame size (an append's entries), so the buffer is not regrown and copied as it fills. */
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos++);
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }
  text(s: string): this {
    return this.str(s);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.ensure(2 + b.length);
    this.buf.writeUInt16BE(b.length, this.pos);
    b.copy(this.buf, this.pos + 2);
    this.pos += 2 + b.length;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.u32(b.byteLength);
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
    return this;
  }
  /** The finished frame, length prefix included. */
  done(): Buffer {
    this.buf.writeUInt32BE(this.pos - 4, 0);
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  private pos = 0;
  /** True once {@link own} copied the body: byte fields are then views of that copy. */
  private owned = false;
  /** Where `b` starts in the body (for error messages once {@link own} copied the rest). */
  private base = 0;
  constructor(private b: Buffer) {}
  /**
   * Copies the rest of the body once, so that the byte fields read after it are views of
   * that copy instead of one copy each (an append's entries: one allocation per message,
   * not per entry). The views keep the copy alive, never the socket's receive buffer.
   */
  own(): void {
    this.b = Buffer.from(this.b.subarray(this.pos));
    this.base += this.pos;
    this.pos = 0;
    this.owned = true;
  }
  private need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new FrameError(`truncated ${what} at byte ${this.base + this.pos}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b.readUInt8(this.pos++);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const hi = this.b.readUInt32BE(this.pos);
    const lo = this.b.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi > 0x1f_ffff) throw new FrameError(`${what} exceeds the safe integer range`);
    return hi * 0x1_0000_0000 + lo;
  }
  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new FrameError(`${what} is not a boolean (${v})`);
    return v === 1;
  }
  str(what: string, max = MAX_ID): string {
    this.need(2, what);
    const n = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    if (n > max) throw new FrameError(`${what} is ${n} bytes, limit ${max}`);
    this.need(n, what);
    const s = this.b.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  text(what: string): string {
    return this.str(what, 1024);
  }
  id(what: string): NodeId {
    const s = this.str(what);
    if (s === '') throw new FrameError(`${what} is empty`);
    return s as NodeId;
  }
  bytes(what: string): Uint8Array {
    const n = this.u32(what);
    this.need(n, what);
    // Entries outlive the frame buffer they arrived in: a view of the owned copy, or a copy.
    const b = this.b;
    const out = this.owned
      ? new Uint8Array(b.buffer, b.byteOffset + this.pos, n)
      : new Uint8Array(b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  count(what: string): number {
    const n = this.u32(what);
    if (n > MAX_LIST) throw new FrameError(`${what} count ${n} exceeds ${MAX_LIST}`);
    return n;
  }
  end(): void {
    if (this.pos !== this.b.length) throw new FrameError(`${this.b.length - this.pos} trailing bytes`);
  }
}

/** Encodes the hello frame in the layout of its version (a v1 hello is byte-identical to the old one). */
export function encodeHello(h: Hello): Buffer {
  const w = new Writer().u8(FrameKind.hello).u8(h.version).str(h.clusterId).str(h.from);
  if (h.version === 2) {
    if (h.storageId === '') throw new FrameError('a v2 hello needs a storage id');
    w.str(h.storageId);
  }
  return w.done();
}

function readHello(r: Reader): Hello {
  const version = r.u8('version');
  if (version < WIRE_V1 || version > WIRE_VERSION)
    throw new FrameError(`unsupported version ${version} (accepted: ${WIRE_V1}..${WIRE_VERSION})`);
  const clusterId = r.str('clusterId');
  const from = r.id('from');
  const hello: Hello =
    version === WIRE_V1 ? { version, clusterId, from } : { version: 2, clusterId, from, storageId: r.id('storageId') };
  r.end();
  return hello;
}

function writeConf(w: Writer, c: ConfState): void {
  w.u32(c.voters.length);
  for (const v of c.voters) w.str(v);
  w.u32(c.learners.length);
  for (const v of c.learners) w.str(v);
}

function readConf(r: Reader): ConfState {
  const voters: NodeId[] = [];
  for (let n = r.count('voters'); n > 0; n--) voters.push(r.id('voter'));
  const learners: NodeId[] = [];
  for (let n = r.count('learners'); n > 0; n--) learners.push(r.id('learner'));
  return { voters, learners };
}

function writeMeta(w: Writer, m: SnapshotMeta): void {
  w.u64(m.index).u64(m.term).u64(m.size);
  writeConf(w, m.confState);
  const storage = Object.entries(m.confState.storage ?? {});
  if (storage.length === 0) return;
  w.u32(storage.length);
  for (const [id, s] of storage) w.str(id).str(s);
}

function readMeta(r: Reader, withStorage: boolean): SnapshotMeta {
  const index = r.u64('snapshot index');
  const term = r.u64('snapshot term');
  const size = r.u64('snapshot size');
  const conf = readConf(r);
  if (!withStorage) return { index, term, size, confState: conf } as SnapshotMeta;
  const entries: [string, string][] = [];
  for (let n = r.count('storage ids'); n > 0; n--) entries.push([r.id('storage member'), r.id('storage id')]);
  const members = new Set<string>([...conf.voters, ...conf.learners]);
  if (entries.length === 0 || !entries.every(([id]) => members.has(id)))
    throw new FrameError('snapshot storage ids name no member or a non-member');
  return { index, term, size, confState: { ...conf, storage: Object.fromEntries(entries) } } as SnapshotMeta;
}

/**
 * Encodes one message as a frame (length prefix included).
 * @throws FrameError for an append beyond the shared limit or a frame above
 *   {@link MAX_FRAME_BYTES} (the receiver would refuse it and close the connection).
 */
export function encodeMessage(m: Message): Buffer {
  let size = 256;
  if (m.type === 'append') {
    let payload = 0;
    for (const e of m.entries) payload += e.data.byteLength;
    const why = appendLimitViolation(m.entries.length, payload);
    if (why !== null) throw new FrameError(why);
    size += payload + m.entries.length * ENTRY_HEADER_BYTES;
  }
  const frame = encodeBody(m, size);
  if (frame.length - 4 > MAX_FRAME_BYTES)
    throw new FrameError(`frame length ${frame.length - 4} exceeds ${MAX_FRAME_BYTES}`);
  return frame;
}

/** An entry's bytes on the wire besides its data: index, term, type, data length. */
const ENTRY_HEADER_BYTES = 8 + 8 + 1 + 4;

function encodeBody(m: Message, size: number): Buffer {
  const w = new Writer(size)
    .u8(FrameKind.message)
    .u8(
      m.type === 'snapshot' && m.meta.confState.storage !== undefined
        ? SNAPSHOT_WITH_STORAGE_TAG
        : (TYPE_TAG.get(m.type) ?? 0),
    )
    .str(m.from)
    .str(m.to)
    .u64(m.term);
  switch (m.type) {
    case 'preVote':
      w.u64(m.lastIndex).u64(m.lastTerm);
      break;
    case 'vote':
      w.u64(m.lastIndex).u64(m.lastTerm).bool(m.transfer);
      break;
    case 'preVoteResp':
    case 'voteResp':
      w.bool(m.granted);
      break;
    case 'append':
      w.u64(m.prevIndex).u64(m.prevTerm).u64(m.commit).u32(m.entries.length);
      for (const e of m.entries) w.u64(e.index).u64(e.term).u8(ENTRY_TYPES.indexOf(e.type)).bytes(e.data);
      break;
    case 'appendResp':
      w.bool(m.success).u64(m.index).u64(m.hintIndex).u64(m.hintTerm);
      break;
    case 'heartbeat':
      w.u64(m.commit).u64(m.readSeq);
      break;
    case 'heartbeatResp':
      w.u64(m.readSeq);
      break;
    case 'snapshot':
      writeMeta(w, m.meta);
      w.u64(m.offset).bytes(m.data).bool(m.done);
      break;
    case 'snapshotResp':
      w.u64(m.snapIndex).u64(m.nextOffset);
      break;
    case 'timeoutNow':
      break;
    case 'readIndex':
      w.text(m.ctx);
      break;
    case 'readIndexResp':
      w.text(m.ctx).u64(m.index);
      break;
  }
  return w.done();
}

function readEntries(r: Reader): Entry[] {
  const out: Entry[] = [];
  const count = r.u32('entries');
  let payload = 0;
  const tooMany = appendLimitViolation(count, 0);
  if (tooMany !== null) throw new FrameError(tooMany);
  if (count > 0) r.own();
  for (let n = count; n > 0; n--) {
    const index = r.u64('entry index');
    const term = r.u64('entry term');
    const t = ENTRY_TYPES[r.u8('entry type')];
    if (t === undefined) throw new FrameError('unknown entry type');
    const data = r.bytes('entry data');
    payload += data.byteLength;
    out.push({ index, term, type: t, data } as Entry);
  }
  const tooBig = appendLimitViolation(count, payload);
  if (tooBig !== null) throw new FrameError(tooBig);
  return out;
}

/**
 * Decodes a frame body (without its length prefix).
 * @throws FrameError for anything malformed.
 */
export function decodeFrame(body: Buffer): Frame {
  const r = new Reader(body);
  const kind = r.u8('kind');
  if (kind === FrameKind.hello) return { kind: 'hello', hello: readHello(r) };
  if (kind !== FrameKind.message) throw new FrameError(`unknown frame kind ${kind}`);
  const tag = r.u8('message type');
  const withStorage = tag === SNAPSHOT_WITH_STORAGE_TAG;
  const type = withStorage ? 'snapshot' : TYPES[tag - 1];
  if (type === undefined) throw new FrameError('unknown message type');
  const env = { from: r.id('from'), to: r.id('to'), term: r.u64('term') };
  let m: Record<string, unknown>;
  switch (type) {
    case 'preVote':
      m = { lastIndex: r.u64('lastIndex'), lastTerm: r.u64('lastTerm') };
      break;
    case 'vote':
      m = { lastIndex: r.u64('lastIndex'), lastTerm: r.u64('lastTerm'), transfer: r.bool('transfer') };
      break;
    case 'preVoteResp':
    case 'voteResp':
      m = { granted: r.bool('granted') };
      break;
    case 'append':
      m = {
        prevIndex: r.u64('prevIndex'),
        prevTerm: r.u64('prevTerm'),
        commit: r.u64('commit'),
        entries: readEntries(r),
      };
      break;
    case 'appendResp':
      m = {
        success: r.bool('success'),
        index: r.u64('index'),
        hintIndex: r.u64('hintIndex'),
        hintTerm: r.u64('hintTerm'),
      };
      break;
    case 'heartbeat':
      m = { commit: r.u64('commit'), readSeq: r.u64('readSeq') };
      break;
    case 'heartbeatResp':
      m = { readSeq: r.u64('readSeq') };
      break;
    case 'snapshot':
      m = { meta: readMeta(r, withStorage), offset: r.u64('offset'), data: r.bytes('data'), done: r.bool('done') };
      break;
    case 'snapshotResp':
      m = { snapIndex: r.u64('snapIndex'), nextOffset: r.u64('nextOffset') };
      break;
    case 'timeoutNow':
      m = {};
      break;
    case 'readIndex':
      m = { ctx: r.text('ctx') };
      break;
    case 'readIndexResp':
      m = { ctx: r.text('ctx'), index: r.u64('index') };
      break;
  }
  r.end();
  return { kind: 'message', message: { type, ...env, ...m } as Message };
}

/**
 * Splits a byte stream into frame bodies. Push chunks as they arrive; `next()` returns a
 * complete body or null. A declared length above `maxFrameBytes` throws FrameError.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly maxFrameBytes: number) {}

  /** Adds received bytes. */
  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  /** The next complete frame body, or null when more bytes are needed. */
  next(): Buffer | null {
    if (this.size < 4) return null;
    if ((this.chunks[0] as Buffer).length < 4) this.chunks = [Buffer.concat(this.chunks, this.size)];
    const len = (this.chunks[0] as Buffer).readUInt32BE(0);
    if (len === 0 || len > this.maxFrameBytes)
      throw new FrameError(`frame length ${len} outside [1, ${this.maxFrameBytes}]`);
    // Join the chunks only once the whole frame is here: joining on every chunk made
    // receiving one large frame quadratic in its size.
    if (this.size < 4 + len) return null;
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    const b = this.chunks[0] as Buffer;
    const body = b.subarray(4, 4 + len);
    const rest = b.subarray(4 + len);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return body;
  }
}
