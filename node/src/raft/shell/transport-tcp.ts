/**
 * The TCP+TLS transport (hashicorp/raft net_transport.go's role) on the shared RPC port.
 *
 * Outbound: one connection per peer, dialed lazily, re-dialed with exponential backoff. The
 * dialer writes the mux byte 0x01 on the raw TCP connection, then runs mutual TLS with the
 * cluster CA over it, then sends a hello frame (version, cluster id, its id; from v2 its
 * storage id — only to a peer known to accept v2, codec.ts) and pipelines
 * message frames without waiting for answers (answers come back on the peer's own
 * connection to us). Each peer has a queue bounded by messages AND bytes (queued plus
 * written but not yet drained by the socket), so a peer that does not read costs bounded
 * memory; when it is full, messages are dropped and counted — Raft retransmits. The
 * messages of one `send` call (one Ready) are queued first and then leave for each peer as
 * ONE socket write of their concatenated frames, so TLS encrypts and writes them as one
 * record instead of one per message (issue 15: native TLS writes were 18.8 % of the leader's
 * CPU, about half of them from this transport). A message
 * the receiver's frame check would refuse (core/append-limits.ts) is never sent: it is
 * dropped and counted as `droppedOversize`.
 *
 * Inbound: the port multiplexer (node/src/net/mux.ts) hands over connections whose first
 * byte was 0x01 to {@link TcpTransport.accept} (transport-tcp-inbound.ts). A connection must
 * finish TLS and its hello within `handshakeTimeoutMs`; any malformed frame, a message whose
 * `from` differs from the hello, or a hello from another cluster closes the connection and is
 * counted; a message from a node whose storage id is not the one recorded for it is dropped
 * and counted (issue 12: a wiped node is never heard as the old voter).
 */
import type { X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, type TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls';
import type { Message, NodeId } from '../core/types.js';
import { hostPort, type HostPort } from '../../net/address.js';
import { type Hello, MAX_FRAME_BYTES, WIRE_V1, encodeHello, encodeMessage, helloVersionFor } from './codec.js';
import { FrameError } from './errors.js';
import { type StorageHearing, acceptInbound } from './transport-tcp-inbound.js';
import type { ShellLogger } from './raft-node.js';
import { type MessageHandler, type RaftTransport, type TransportStats, newTransportStats } from './transport.js';

/** The first byte a Raft connection sends on the shared port (the mux routes on it). */
export const RAFT_MUX_BYTE = 0x01;

/** PEM material for mutual TLS: this node's certificate and key, and the cluster CA. */
export interface TransportTls {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of a {@link TcpTransport}. */
export interface TcpTransportOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly tls: TransportTls;
  /** Messages queued per peer before new ones are dropped (default 4096). */
  readonly maxQueue?: number;
  /**
   * Bytes queued per peer, counting frames written to the socket and not yet drained, before
   * new messages are dropped (default 64 MiB: twice the core's default in-flight window). A
   * single frame is always accepted into an empty queue.
   */
  readonly maxQueueBytes?: number;
  /**
   * Largest frame accepted. Default and production value: the shared limit
   * (core/append-limits.ts `maxFrameBytes`); tests lower it to model a peer that refuses frames.
   */
  readonly maxFrameBytes?: number;
  /** Reconnect backoff: first delay and cap in ms (defaults 50 and 2000). */
  readonly backoffMs?: { readonly initial: number; readonly max: number };
  /** The TCP connect, and then the TLS handshake + hello, must each finish within this (default 5000 ms). */
  readonly handshakeTimeoutMs?: number;
  readonly logger?: Pick<ShellLogger, 'info' | 'warn'>;
  /**
   * Decides whether an inbound peer may speak Raft, given its verified certificate and the
   * id it claims in its hello. Default {@link serverCertificatesOnly}: the cluster CA also
   * signs user client certificates, and those must not be able to inject Raft messages.
   */
  readonly authorizePeer?: (cert: X509Certificate, claimedId: NodeId) => boolean;
  /**
   * Decides whether the server we dialed for peer `id` may receive its messages, given the
   * certificate it presented (already verified against the cluster CA). Default: any node
   * certificate ({@link serverCertificatesOnly}). The agent requires that it names `id`, so
   * a wrong address (a stale or forged gossip record) never receives another node's traffic.
   */
  readonly authorizeServer?: (cert: X509Certificate, id: NodeId) => boolean;
  /**
   * This node's data-dir storage id (agent/storage-id.ts), sent in v2 hellos; change it with
   * {@link TcpTransport.setStorageId}. Without one every hello is v1.
   */
  readonly storageId?: string;
  /**
   * The highest hello version peer `id` accepts (the agent reads its gossip tag `wire`);
   * undefined = unknown, so v1 — an older node refuses anything else. Read at every dial and
   * every send: a connection opened with a lower version than the peer now accepts is re-dialed.
   */
  readonly peerWireVersion?: (id: NodeId) => number | undefined;
  /**
   * Decides, for every inbound message that is counted (votes, pre-votes and every answer:
   * `isCountedMessage`, transport-tcp-inbound.ts), whether the sender is heard given the
   * storage id its hello carried (undefined: a v1 hello); a leader's appends, heartbeats and
   * snapshots are never checked. Default: every sender is heard. The agent refuses a member
   * whose storage id differs from the one the configuration (else its record) gives it.
   */
  readonly hearsStorage?: StorageHearing;
}

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

/** Default peer check: the certificate carries the serverAuth extended key usage (node certificates do, user certificates do not). */
export function serverCertificatesOnly(cert: X509Certificate): boolean {
  const eku = cert.keyUsage as string[] | undefined;
  return Array.isArray(eku) && eku.includes(SERVER_AUTH_OID);
}

/** A peer's address; throws AddressError (a RangeError) naming a bad one. */
const splitHostPort = (addr: string): HostPort => hostPort(addr);

const isIp = (h: string): boolean => /^[\d.]+$/.test(h) || h.includes(':');

class Peer {
  queue: Buffer[] = [];
  queuedBytes = 0;
  socket: TLSSocket | null = null;
  /** The hello version the open socket (or the dial in progress) uses. */
  helloVersion: Hello['version'] = WIRE_V1;
  dialing = false;
  waitingDrain = false;
  backoff: number;
  timer: NodeJS.Timeout | null = null;
  closed = false;
  constructor(
    readonly id: NodeId,
    public address: string,
    private readonly t: TcpTransport,
  ) {
    this.backoff = t.backoffInitial;
  }

  /** Bytes held for this peer: queued, plus written to the socket and not yet drained. */
  pendingBytes(): number {
    return this.queuedBytes + (this.socket?.writableLength ?? 0);
  }

  /** Queues `frame`; the caller then calls {@link kick} once for the whole batch. */
  enqueue(frame: Buffer): boolean {
    if (this.queue.length >= this.t.maxQueue) return false;
    const pending = this.pendingBytes();
    if (pending > 0 && pending + frame.length > this.t.maxQueueBytes) return false;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.t.notePending(pending + frame.length);
    return true;
  }

  /** Writes what is queued when connected, else dials; first re-dials a connection the peer has outgrown. */
  kick(): void {
    if (this.socket !== null && this.helloVersion < this.t.helloVersionFor(this.id)) this.hangUp();
    if (this.socket !== null) this.flush();
    else this.dial();
  }

  /**
   * Closes the open connection without dropping the queue or backing off: the next
   * {@link kick} dials a new one (with the current hello version and storage id).
   */
  hangUp(): void {
    const s = this.socket;
    if (s === null) return;
    this.socket = null;
    this.waitingDrain = false;
    s.destroy();
  }

  flush(): void {
    const s = this.socket;
    if (s === null || this.waitingDrain || this.queue.length === 0) return;
    const q = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    // One write: TLSSocket encrypts each write call on its own (a record, a write to the
    // kernel, a JS→C++ crossing); the frames are small, copying them is cheaper.
    const ok = s.write(q.length === 1 ? (q[0] as Buffer) : Buffer.concat(q, bytes));
    if (!ok) {
      this.waitingDrain = true;
      s.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
      });
    }
  }

  dial(): void {
    if (this.dialing || this.socket !== null || this.closed || this.timer !== null) return;
    this.dialing = true;
    const { host, port } = splitHostPort(this.address);
    const raw = netConnect({ host, port });
    raw.setNoDelay(true);
    // The TCP connect is bounded too: a restarted pod's old address (still in DNS caches and
    // the neighbour table) swallows SYNs, and the kernel would retry for minutes before the
    // next dial could resolve the name to the new address.
    const connectTimer = setTimeout(() => raw.destroy(new Error('connect timed out')), this.t.handshakeTimeoutMs);
    const fail = (err?: Error): void => {
      clearTimeout(connectTimer);
      raw.destroy();
      if (!this.dialing && this.socket === null) return;
      this.dialing = false;
      this.socket = null;
      this.waitingDrain = false;
      if (err !== undefined)
        this.t.log.warn(
          { peer: this.id, address: this.address, err: err.message },
          'raft transport: connection to peer failed',
        );
      this.retryLater();
    };
    raw.once('error', fail);
    raw.once('connect', () => {
      clearTimeout(connectTimer);
      raw.write(Buffer.of(RAFT_MUX_BYTE));
      const s = tlsConnect({
        socket: raw,
        secureContext: this.t.secureContext,
        ...(isIp(host) ? {} : { servername: host }),
        rejectUnauthorized: true,
      });
      const hs = setTimeout(() => s.destroy(new Error('TLS handshake timed out')), this.t.handshakeTimeoutMs);
      s.on('error', (err) => fail(err));
      s.on('close', () => {
        clearTimeout(hs);
        if (this.socket === s) {
          this.socket = null;
          this.waitingDrain = false;
          if (!this.closed) this.retryLater();
        }
      });
      s.once('secureConnect', () => {
        clearTimeout(hs);
        const cert = s.getPeerX509Certificate();
        if (cert === undefined || !this.t.authorizeServer(cert, this.id)) {
          s.destroy(new Error(`the server at ${this.address} is not authorized as ${this.id}`));
          return;
        }
        this.dialing = false;
        this.socket = s;
        this.backoff = this.t.backoffInitial;
        const hello = this.t.hello(this.id);
        this.helloVersion = hello.version;
        s.write(encodeHello(hello));
        this.flush();
      });
      // Inbound data on an outbound connection is not part of the protocol: discard.
      s.resume();
    });
  }

  private retryLater(): void {
    // Queued messages are stale by the time a new connection is up; Raft resends what matters.
    this.t.noteDropped(this.queue.length);
    this.queue = [];
    this.queuedBytes = 0;
    if (this.closed || this.timer !== null) return;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.t.backoffMax);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.queue.length > 0) this.dial();
    }, delay);
    // Messages sent during the backoff wait in the queue and trigger the next dial.
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = null;
    this.queue = [];
    this.queuedBytes = 0;
  }
}

/** A node's Raft transport over TCP with mutual TLS. */
export class TcpTransport implements RaftTransport {
  readonly id: NodeId;
  readonly clusterId: string;
  /** @internal */ readonly maxQueue: number;
  /** @internal */ readonly maxQueueBytes: number;
  /** @internal */ readonly backoffInitial: number;
  /** @internal */ readonly backoffMax: number;
  /** @internal */ readonly handshakeTimeoutMs: number;
  /** @internal */ readonly log: Pick<ShellLogger, 'info' | 'warn'>;
  /** @internal */ secureContext: SecureContext;
  /** @internal */ readonly authorizeServer: (cert: X509Certificate, id: NodeId) => boolean;
  private readonly maxFrameBytes: number;
  private readonly authorizePeer: (cert: X509Certificate, claimedId: NodeId) => boolean;
  private readonly peerWireVersion: (id: NodeId) => number | undefined;
  private readonly hearsStorage: StorageHearing;
  private storageId: string | undefined;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound = new Set<Duplex>();
  private handler: MessageHandler | null = null;
  private readonly counters = newTransportStats();
  private closed = false;
  private peakPending = 0;

  constructor(o: TcpTransportOptions) {
    this.id = o.id;
    this.clusterId = o.clusterId;
    this.maxQueue = o.maxQueue ?? 4096;
    this.maxQueueBytes = o.maxQueueBytes ?? 64 * 1024 * 1024;
    this.maxFrameBytes = o.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.backoffInitial = o.backoffMs?.initial ?? 50;
    this.backoffMax = o.backoffMs?.max ?? 2000;
    this.handshakeTimeoutMs = o.handshakeTimeoutMs ?? 5000;
    this.log = o.logger ?? { info: () => {}, warn: () => {} };
    this.secureContext = TcpTransport.context(o.tls);
    this.authorizePeer = o.authorizePeer ?? serverCertificatesOnly;
    this.authorizeServer = o.authorizeServer ?? serverCertificatesOnly;
    this.peerWireVersion = o.peerWireVersion ?? (() => undefined);
    this.hearsStorage = o.hearsStorage ?? (() => true);
    this.storageId = o.storageId;
  }

  /** @internal The hello version to use with peer `id`: v2 only if it accepts v2 and we have a storage id. */
  helloVersionFor(id: NodeId): Hello['version'] {
    return this.storageId === undefined ? WIRE_V1 : helloVersionFor(this.peerWireVersion(id));
  }

  /** @internal The hello frame for a new connection to peer `id`. */
  hello(id: NodeId): Hello {
    const base = { clusterId: this.clusterId, from: this.id };
    const v = this.helloVersionFor(id);
    return v === 2 && this.storageId !== undefined
      ? { ...base, version: 2, storageId: this.storageId }
      : { ...base, version: WIRE_V1 };
  }

  /**
   * Replaces this node's storage id (the data dir was renewed, agent/storage-id.ts): every
   * open outbound connection is re-dialed, so no peer keeps hearing the old id.
   */
  setStorageId(id: string): void {
    if (id === this.storageId) return;
    this.storageId = id;
    for (const p of this.peers.values()) p.hangUp();
  }

  private static context(t: TransportTls): SecureContext {
    return createSecureContext({ ca: t.caPem, cert: t.certPem, key: t.keyPem, minVersion: 'TLSv1.3' });
  }

  /** @internal Counts messages discarded with a failed connection. */
  noteDropped(n: number): void {
    this.counters.droppedUnreachable += n;
  }

  /** @internal Records the bytes now held for one peer (for {@link TcpTransport.peakPendingBytes}). */
  notePending(bytes: number): void {
    if (bytes > this.peakPending) this.peakPending = bytes;
  }

  /** The most bytes ever held for one peer (queued + unsent socket buffer): the transport's share of replication memory. */
  peakPendingBytes(): number {
    return this.peakPending;
  }

  /** Bytes held right now for `id` (queued + unsent socket buffer), 0 for an unknown peer. */
  pendingBytes(id: NodeId): number {
    return this.peers.get(id)?.pendingBytes() ?? 0;
  }

  /** Replaces the TLS material (certificate rotation); new connections use it. */
  updateTls(t: TransportTls): void {
    this.secureContext = TcpTransport.context(t);
  }

  listen(handler: MessageHandler): void {
    this.handler = handler;
  }

  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    const touched = new Set<Peer>();
    for (const m of msgs) {
      const p = this.peers.get(m.to);
      if (p === undefined) {
        this.counters.droppedUnreachable++;
        continue;
      }
      let frame: Buffer;
      try {
        frame = encodeMessage(m);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        // The receiver would refuse it and close the connection: never send it.
        this.counters.droppedOversize++;
        this.log.warn(
          { peer: m.to, type: m.type, why: err.message },
          'raft transport: message exceeds the frame limits, dropped',
        );
        continue;
      }
      if (p.enqueue(frame)) {
        this.counters.sent++;
        touched.add(p);
      } else this.counters.droppedQueueFull++;
    }
    for (const p of touched) p.kick();
  }

  setPeer(id: NodeId, address: string): void {
    splitHostPort(address);
    const p = this.peers.get(id);
    if (p !== undefined && p.address === address) return;
    p?.close();
    this.peers.set(id, new Peer(id, address, this));
  }

  removePeer(id: NodeId): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  /**
   * Takes over an inbound connection whose mux byte was already consumed: runs the server
   * side of mutual TLS, then reads hello and message frames.
   */
  accept(conn: Duplex): void {
    if (this.closed) {
      conn.destroy();
      return;
    }
    acceptInbound(conn, {
      clusterId: this.clusterId,
      secureContext: this.secureContext,
      maxFrameBytes: this.maxFrameBytes,
      handshakeTimeoutMs: this.handshakeTimeoutMs,
      log: this.log,
      counters: this.counters,
      authorizePeer: this.authorizePeer,
      hearsStorage: this.hearsStorage,
      handler: () => this.handler,
      track: (s, open) => {
        if (open) this.inbound.add(s);
        else this.inbound.delete(s);
      },
    });
  }

  close(): Promise<void> {
    this.closed = true;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    for (const s of this.inbound) s.destroy();
    this.inbound.clear();
    return Promise.resolve();
  }
}
