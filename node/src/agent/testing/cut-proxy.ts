/**
 * A TCP proxy on 127.0.0.1 for tests that need a connection to fail at a chosen moment:
 * bytes pass both ways untouched (TLS stays end to end) until {@link CutProxy.holdReplies}
 * makes it swallow everything the server sends, so a request gets through but its answer
 * does not; {@link CutProxy.cut} then drops every connection — "the write was appended,
 * the reply was lost" — and later connections pass again.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A proxy in front of one server address (settable after the server has its port). */
export class CutProxy {
  target: string | undefined;
  private holding = false;
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(private readonly server: Server) {}

  /** Listens on 127.0.0.1 on a free port. */
  static async start(): Promise<CutProxy> {
    const server = createServer();
    const p = new CutProxy(server);
    server.on('connection', (c) => p.accept(c));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  /** host:port clients dial. */
  get addr(): string {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy is not listening');
    return `127.0.0.1:${a.port}`;
  }

  private accept(client: Socket): void {
    const t = this.target;
    if (t === undefined) return void client.destroy();
    const i = t.lastIndexOf(':');
    const upstream = connect(Number(t.slice(i + 1)), t.slice(0, i));
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (b) => upstream.write(b));
    upstream.on('data', (b) => {
      if (!this.holding) client.write(b);
    });
    for (const s of pair) {
      s.on('error', drop);
      s.on('close', drop);
    }
  }

  /** From now on nothing the server sends reaches the clients (requests still pass). */
  holdReplies(): void {
    this.holding = true;
  }

  /** Drops every open connection and lets new ones pass normally again. */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    this.holding = false;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
