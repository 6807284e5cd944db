/**
 * The port multiplexer (the book's cmux trick): one TCP listener for Raft and gRPC. It reads
 * the first byte of every connection on the raw TCP stream — TLS is NOT terminated here:
 *
 * - 0x01 → Raft. The byte is consumed and the rest of the stream goes to the Raft transport,
 *   which runs its own mutual TLS (transport-tcp.ts).
 * - 'P' (0x50, the first byte of the HTTP/2 client preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`,
 *   RFC 9113 §3.4) → plaintext HTTP/2, when an `h2c` handler is given: the kubelet's native
 *   gRPC probes speak h2c without a client certificate. The agent serves ONLY
 *   grpc.health.v1 there. No TLS record starts with 0x50 (a ClientHello starts with 0x16,
 *   RFC 8446 §5.1), so this never steals a TLS client. Without an `h2c` handler such
 *   connections go to `grpc` like any other.
 * - anything else → gRPC. The byte is put back in front of the stream and the connection is
 *   handed to grpc-js through `Server.createConnectionInjector(credentials)`, which runs TLS
 *   and HTTP/2 itself.
 *
 * Every route receives the native `net.Socket` itself, paused, with the bytes read so far put
 * back with `unshift` (without the routing byte for Raft). `tls.TLSSocket` and the HTTP/2
 * session then wrap the socket's C++ handle directly and first replay what is buffered in
 * the socket (Node's `initRead` in _tls_wrap.js, `setupHandle` in http2/core.js), so no JS
 * stream sits between the kernel and TLS: issue 15 measured the JS stream wrapper this
 * module used to insert (`replayStream`, kept for callers that hold a non-socket stream) at
 * 8.7–13.7 % of the leader's CPU, plus its share of the TLS writes. A connection that sends
 * nothing within `firstByteTimeoutMs` is closed and counted.
 */
import { type Server as NetServer, type Socket, createServer } from 'node:net';
import { Duplex } from 'node:stream';

/** Routing byte of Raft connections. */
export const MUX_RAFT_BYTE = 0x01;
/** First byte of the HTTP/2 client preface ('P'): plaintext h2c (kubelet gRPC probes). */
export const MUX_H2C_BYTE = 0x50;

/** Options of {@link PortMux.listen}. */
export interface PortMuxOptions {
  readonly host?: string;
  /** 0 picks a free port (see {@link PortMux.port}). */
  readonly port: number;
  /** Receives Raft connections (the paused native socket), positioned after the routing byte. */
  readonly raft: (conn: Socket) => void;
  /** Receives every other connection (the paused native socket), first byte included (e.g. `injector.injectConnection`). */
  readonly grpc: (conn: Socket) => void;
  /**
   * Receives plaintext HTTP/2 connections (first byte 'P'), first byte included. Optional:
   * without it they go to `grpc`.
   */
  readonly h2c?: (conn: Socket) => void;
  /** Close connections that send nothing for this long (default 10000 ms). */
  readonly firstByteTimeoutMs?: number;
}

/** Counters of routed connections. */
export interface PortMuxStats {
  readonly raft: number;
  readonly grpc: number;
  readonly h2c: number;
  readonly timedOut: number;
}

/**
 * Wraps `socket` in a Duplex that first yields `head`, then the socket's bytes; writes,
 * end and destroy go to the socket. Backpressure is kept with pause/resume. The mux no
 * longer uses it (it hands over the socket itself); kept for a caller that must hand a
 * replayed stream to an API that accepts no socket.
 */
export function replayStream(socket: Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, (err) => cb(err ?? null));
    },
    final(cb) {
      socket.end(() => cb());
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  if (head.length > 0) d.push(head);
  socket.on('data', (c: Buffer) => {
    if (!d.push(c)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('error', (e) => d.destroy(e));
  socket.on('close', () => d.destroy());
  return d;
}

/** A listening port multiplexer. */
export class PortMux {
  private readonly counts = { raft: 0, grpc: 0, h2c: 0, timedOut: 0 };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: NetServer,
    private readonly o: PortMuxOptions,
  ) {}

  /** Starts listening; resolves once bound. */
  static async listen(o: PortMuxOptions): Promise<PortMux> {
    const server = createServer({ noDelay: true });
    const mux = new PortMux(server, o);
    server.on('connection', (s) => mux.route(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return mux;
  }

  /** The bound port. */
  get port(): number {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('mux is not listening on TCP');
    return a.port;
  }

  /** Routed and timed-out connection counts. */
  stats(): PortMuxStats {
    return { ...this.counts };
  }

  private route(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
    const timer = setTimeout(() => {
      this.counts.timedOut++;
      s.destroy();
    }, this.o.firstByteTimeoutMs ?? 10_000);
    s.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      // Paused, so nothing more is emitted as 'data'; what arrives meanwhile stays buffered
      // in the socket behind the unshifted head, and the new owner reads it first.
      s.pause();
      if (chunk[0] === MUX_RAFT_BYTE) {
        this.counts.raft++;
        if (chunk.length > 1) s.unshift(chunk.subarray(1));
        this.o.raft(s);
      } else if (chunk[0] === MUX_H2C_BYTE && this.o.h2c !== undefined) {
        this.counts.h2c++;
        s.unshift(chunk);
        this.o.h2c(s);
      } else {
        this.counts.grpc++;
        s.unshift(chunk);
        this.o.grpc(s);
      }
    });
    s.once('close', () => clearTimeout(timer));
  }

  /** Stops accepting and destroys every open connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
