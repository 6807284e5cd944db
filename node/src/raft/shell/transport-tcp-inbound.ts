/**
 * The inbound side of the TCP+TLS transport (transport-tcp.ts): one accepted Raft connection,
 * from the server side of mutual TLS to the messages handed to the node.
 *
 * Contract, in order: TLS and the hello must finish within `handshakeTimeoutMs`; the hello's
 * version must be one this node accepts (codec.ts: v1..WIRE_VERSION), its cluster id ours
 * and the peer's certificate authorized for the id it claims; then every message must come
 * from that id. Any breach closes the connection and is counted (`malformed`,
 * `foreignCluster`).
 *
 * Storage identity (issue 12): a v2 hello carries the sender's storage id. For every message
 * that is COUNTED ({@link isCountedMessage}: votes and pre-votes, their answers, append,
 * heartbeat and snapshot answers) the transport asks `hearsStorage(from, storageId)` (each
 * time: the recorded id may change while the connection stays open, a replaced member is
 * recorded anew); a message it refuses is dropped and counted (`droppedWrongStorage`) with a
 * warning at most every {@link WARN_EVERY_MS} per connection — the connection stays open, so
 * the node is heard again as soon as the record says so. A leader's messages (appends,
 * heartbeats, snapshots, timeoutNow, readIndexResp) are never checked: only a leader sends
 * them, and it leads only with votes that passed the check at their receivers (README
 * "Storage identity"). A v1 hello (an older node) has no storage id: it is counted once
 * (`helloWithoutStorage`) and `hearsStorage` is asked with `undefined`.
 */
import type { X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { Message, NodeId } from '../core/types.js';
import { FrameSplitter, decodeFrame } from './codec.js';
import { FrameError } from './errors.js';
import type { ShellLogger } from './raft-node.js';
import type { MessageHandler, TransportStats } from './transport.js';

/** A rejected-message warning is logged at most this often per connection. */
export const WARN_EVERY_MS = 10_000;

/**
 * Decides whether messages from `from` are heard, given the storage id its hello carried
 * (undefined: a v1 hello, which cannot carry one). Asked for every inbound message that is
 * counted ({@link isCountedMessage}); a leader's messages are not checked.
 */
export type StorageHearing = (from: NodeId, storageId: string | undefined) => boolean;

/**
 * The messages only a leader sends (to its followers): its appends, heartbeats and snapshot
 * chunks, the `timeoutNow` of a leadership transfer and the answer to a forwarded read.
 * They count nothing at the receiver, so the storage check lets them through.
 */
const LEADER_MESSAGES: ReadonlySet<Message['type']> = new Set([
  'append',
  'heartbeat',
  'snapshot',
  'timeoutNow',
  'readIndexResp',
] as const satisfies readonly Message['type'][]);

/**
 * Whether the storage check applies to `m` (issue 12): every message except a leader's —
 * the vote and pre-vote requests and answers a candidate counts toward its election, the
 * append, heartbeat and snapshot answers a leader counts toward commit, reads and
 * check-quorum, and a follower's forwarded read. A leader's own messages pass: a wiped node
 * refilled from index 1 replays configurations in which the leader had an older storage id,
 * and dropping the leader's appends then stalls its catch-up for good (chaos seed 14).
 */
export function isCountedMessage(m: Message): boolean {
  return !LEADER_MESSAGES.has(m.type);
}

/** What an inbound connection needs from its transport. */
export interface InboundContext {
  readonly clusterId: string;
  readonly secureContext: SecureContext;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly log: Pick<ShellLogger, 'info' | 'warn'>;
  readonly counters: { -readonly [K in keyof TransportStats]: number };
  readonly authorizePeer: (cert: X509Certificate, claimedId: NodeId) => boolean;
  readonly hearsStorage: StorageHearing;
  /** The node's receiver (null before `listen`). */
  handler(): MessageHandler | null;
  /** Tracks the socket until it closes (so `close()` can destroy it). */
  track(s: TLSSocket, open: boolean): void;
}

/** Runs one inbound Raft connection whose mux byte was already consumed. */
export function acceptInbound(conn: Duplex, t: InboundContext): void {
  const s = new TLSSocket(conn, {
    isServer: true,
    secureContext: t.secureContext,
    requestCert: true,
    rejectUnauthorized: true,
  });
  t.track(s, true);
  const splitter = new FrameSplitter(t.maxFrameBytes);
  let hello: { clusterId: string; from: NodeId; storageId: string | undefined } | null = null;
  let lastWarn = -Infinity;
  let droppedSinceWarn = 0;
  const hs = setTimeout(() => reject('no TLS handshake and hello in time'), t.handshakeTimeoutMs);
  const reject = (why: string): void => {
    t.counters.malformed++;
    t.log.warn({ why, from: hello?.from ?? null }, 'raft transport: closing inbound connection');
    s.destroy();
  };
  const dropWrongStorage = (from: NodeId, storageId: string | undefined): void => {
    t.counters.droppedWrongStorage++;
    droppedSinceWarn++;
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    t.log.warn(
      { from, storageId: storageId ?? null, dropped: droppedSinceWarn },
      'raft transport: dropping messages from a node whose storage id differs from the one recorded for it (wiped or replaced data dir): it is not heard as the old member until it is replaced',
    );
    droppedSinceWarn = 0;
  };
  s.on('error', (err) => {
    // TLS failures (no client certificate, wrong CA, garbage instead of a ClientHello).
    if (hello === null) reject(`TLS: ${err.message}`);
    else s.destroy();
  });
  s.on('close', () => {
    clearTimeout(hs);
    t.track(s, false);
    conn.destroy();
  });
  s.on('data', (chunk: Buffer) => {
    try {
      splitter.push(chunk);
      for (let body = splitter.next(); body !== null; body = splitter.next()) {
        const f = decodeFrame(body);
        if (f.kind === 'hello') {
          if (hello !== null) throw new FrameError('second hello');
          const h = f.hello;
          if (h.clusterId !== t.clusterId) {
            t.counters.foreignCluster++;
            return reject(`hello from cluster "${h.clusterId}"`);
          }
          const cert = s.getPeerX509Certificate();
          if (cert === undefined || !t.authorizePeer(cert, h.from))
            return reject(`peer certificate not authorized for ${h.from}`);
          const storageId = h.version === 2 ? h.storageId : undefined;
          if (storageId === undefined) t.counters.helloWithoutStorage++;
          hello = { clusterId: h.clusterId, from: h.from, storageId };
          clearTimeout(hs);
          continue;
        }
        if (hello === null) throw new FrameError('message before hello');
        if (f.message.from !== hello.from)
          throw new FrameError(`message from ${f.message.from} on ${hello.from}'s connection`);
        if (isCountedMessage(f.message) && !t.hearsStorage(hello.from, hello.storageId)) {
          dropWrongStorage(hello.from, hello.storageId);
          continue;
        }
        t.counters.received++;
        t.handler()?.(f.message, hello.clusterId);
      }
    } catch (err) {
      if (err instanceof FrameError) reject(err.message);
      else throw err;
    }
  });
}
