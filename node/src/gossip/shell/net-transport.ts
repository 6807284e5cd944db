/**
 * The gossip shell's network edge (memberlist `net_transport.go`): one UDP socket for probes
 * and gossip and one TCP listener on the same port for push/pull, join and fallback pings.
 * Every inbound byte goes through the envelope (decrypt, bound, decode); anything invalid is
 * dropped and counted by reason, never thrown.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { Limits } from '../core/codec.js';
import { formatHostPort, hostPort, type HostPort } from '../../net/address.js';
import { type Address, type Message, type StreamResult, address } from '../core/types.js';
import { type DropReason, openFrame, openPacket, sealFrame, sealPacket } from '../wire/envelope.js';
import { type Keyring } from '../wire/keyring.js';

/** Traffic counters of the transport. */
export interface TransportMetrics {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  streamsOpened: number;
  streamsAccepted: number;
  streamErrors: number;
  udpSendErrors: number;
  /** Dropped inbound packets/frames by reason (decrypt-failed, truncated, oversized …). */
  readonly dropped: Partial<Record<DropReason | 'frame-too-large', number>>;
}

/** Callbacks the transport delivers to. */
export interface TransportHandlers {
  readonly packet: (from: Address, msgs: readonly Message[]) => void;
  readonly stream: (from: Address, msg: Message) => Message | undefined;
  readonly dropped: (from: string, reason: string, detail: string) => void;
}

/** Formats host and port as an {@link Address} (brackets for IPv6). */
export function formatAddress(host: string, port: number): Address {
  return address(formatHostPort(host, port));
}

/** Splits `host:port` / `[v6]:port` (node/src/net/address.ts); throws AddressError for a bad one. */
export function parseAddress(a: string): HostPort {
  return hostPort(a);
}

const MAX_FRAME = Limits.streamBytes + 64;

/** Reads exactly one length-prefixed frame from a socket. */
function readFrame(sock: net.Socket, onFrame: (body: Buffer) => void, onError: (reason: string) => void): void {
  let buf = Buffer.alloc(0);
  let done = false;
  sock.on('data', (chunk: Buffer) => {
    if (done) return;
    buf = Buffer.concat([buf, chunk]);
    if (buf.length < 4) return;
    const len = buf.readUInt32BE(0);
    if (len > MAX_FRAME) {
      done = true;
      onError('frame-too-large');
      return;
    }
    if (buf.length < 4 + len) return;
    done = true;
    onFrame(buf.subarray(4, 4 + len));
  });
  sock.on('end', () => {
    if (!done) {
      done = true;
      onError('truncated');
    }
  });
}

/** UDP + TCP on one port. */
export class NetTransport {
  readonly metrics: TransportMetrics = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamErrors: 0,
    udpSendErrors: 0,
    dropped: {},
  };
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly open = new Set<net.Socket>();
  private closed = false;

  constructor(
    private readonly keyring: Keyring | undefined,
    private readonly streamTimeoutMs: number,
    private readonly handlers: TransportHandlers,
  ) {}

  /** Binds UDP and TCP to the same port (0 = pick one free for both); returns the port. */
  async listen(host: string, port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const tcp = net.createServer((s) => this.accept(s));
      const bound = await new Promise<number>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => resolve((tcp.address() as net.AddressInfo).port));
      });
      const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(bound, host, () => resolve());
        });
      } catch (e) {
        udp.close();
        await new Promise<void>((r) => tcp.close(() => r()));
        // With port 0 the TCP port may be taken for UDP: try another.
        if (port === 0 && attempt < 10) continue;
        throw e;
      }
      udp.on('message', (b, rinfo) => this.onPacket(b, formatAddress(rinfo.address, rinfo.port)));
      udp.on('error', (e) => this.handlers.dropped('udp', 'socket-error', String(e)));
      this.udp = udp;
      this.tcp = tcp;
      return bound;
    }
  }

  /** Sends one UDP packet (fire and forget). */
  sendPacket(to: Address, msgs: readonly Message[]): void {
    if (this.closed || this.udp === undefined) return;
    let host: string;
    let port: number;
    try {
      ({ host, port } = parseAddress(to));
    } catch {
      return;
    }
    const b = sealPacket(msgs, this.keyring);
    this.metrics.packetsSent++;
    this.metrics.bytesSent += b.length;
    this.udp.send(b, port, host, (err) => {
      // Expected for unreachable peers; the failure detector handles them.
      if (err) this.metrics.udpSendErrors++;
    });
  }

  /** Sends `msg` over a fresh TCP connection and waits for one reply (bounded by timeout). */
  request(to: Address, msg: Message, timeoutMs: number): Promise<StreamResult> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (r: StreamResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!r.ok) this.metrics.streamErrors++;
        sock.destroy();
        this.open.delete(sock);
        resolve(r);
      };
      let host: string;
      let port: number;
      try {
        ({ host, port } = parseAddress(to));
      } catch (e) {
        resolve({ ok: false, error: String(e) });
        return;
      }
      this.metrics.streamsOpened++;
      const sock = net.connect({ host, port });
      this.open.add(sock);
      const timer = setTimeout(
        () => finish({ ok: false, error: 'timeout' }),
        Math.min(timeoutMs, this.streamTimeoutMs),
      );
      sock.on('error', (e) => finish({ ok: false, error: e.message }));
      sock.on('connect', () => {
        const frame = sealFrame(msg, this.keyring);
        this.metrics.bytesSent += frame.length;
        sock.write(frame);
      });
      readFrame(
        sock,
        (body) => {
          this.metrics.bytesReceived += body.length + 4;
          const r = openFrame(body, this.keyring);
          if (r.ok) finish({ ok: true, reply: r.value });
          else {
            this.drop(to, r.reason, r.detail);
            finish({ ok: false, error: `reply dropped: ${r.reason}` });
          }
        },
        (reason) => {
          // A peer that cannot decrypt us just closes: report it as such.
          finish({ ok: false, error: reason === 'truncated' ? 'connection closed without reply' : reason });
        },
      );
    });
  }

  /** Closes both sockets and any open streams. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.open) s.destroy();
    this.open.clear();
    const udp = this.udp;
    const tcp = this.tcp;
    if (udp !== undefined) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp !== undefined) await new Promise<void>((r) => tcp.close(() => r()));
  }

  private drop(from: string, reason: DropReason | 'frame-too-large', detail: string): void {
    this.metrics.dropped[reason] = (this.metrics.dropped[reason] ?? 0) + 1;
    this.handlers.dropped(from, reason, detail);
  }

  private onPacket(b: Buffer, from: Address): void {
    this.metrics.packetsReceived++;
    this.metrics.bytesReceived += b.length;
    const r = openPacket(b, this.keyring);
    if (!r.ok) return this.drop(from, r.reason, r.detail);
    this.handlers.packet(from, r.value);
  }

  private accept(sock: net.Socket): void {
    this.metrics.streamsAccepted++;
    this.open.add(sock);
    const from = formatAddress(sock.remoteAddress ?? '0.0.0.0', sock.remotePort ?? 0);
    const timer = setTimeout(() => sock.destroy(), this.streamTimeoutMs);
    const end = (): void => {
      clearTimeout(timer);
      this.open.delete(sock);
    };
    sock.on('close', end);
    sock.on('error', () => sock.destroy());
    readFrame(
      sock,
      (body) => {
        this.metrics.bytesReceived += body.length + 4;
        const r = openFrame(body, this.keyring);
        if (!r.ok) {
          this.drop(from, r.reason, r.detail);
          sock.destroy();
          return;
        }
        const reply = this.handlers.stream(from, r.value);
        if (reply === undefined) {
          sock.end();
          return;
        }
        const frame = sealFrame(reply, this.keyring);
        this.metrics.bytesSent += frame.length;
        sock.end(frame);
      },
      (reason) => {
        if (reason === 'frame-too-large') this.drop(from, 'frame-too-large', 'stream frame over limit');
        sock.destroy();
      },
    );
  }
}
