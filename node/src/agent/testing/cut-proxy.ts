/**
 * A TCP proxy on 127.0.0.1 for tests that need a connection to fail at a chosen moment:
 * bytes pass both ways untouched (TLS stays end to end) until {@link CutProxy.holdReplies}
 * makes it swallow everything the server sends, so a request gets through but its answer
 * does not; {@link CutProxy.cut} then drops every connection — "the write was appended,
 * the reply was lost" — and later connections pass again. {@link CutProxy.refuse} closes
 * the listener, so a connection to its address is refused (ECONNREFUSED), as kube-proxy
 * refuses a Service with no ready endpoint; {@link CutProxy.reopen} listens again on the
 * same port.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A proxy in front of one server address (settable after the server has its port). */
export class CutProxy {
  target: string | undefined;
  private holding = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  private port = 0;

  private constructor(private server: Server) {}

  /** Listens on 127.0.0.1 on a free port. */
  static async start(): Promise<CutProxy> {
    const server = createServer();
    const p = new CutProxy(server);
    server.on('connection', (c) => p.pipe(c));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy is not listening');
    p.port = a.port;
    return p;
  }

  /** host:port clients dial (the same while refusing). */
  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  private pipe(client: Socket): void {
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

  /** Closes the listener and drops every connection: from now on a connection to {@link addr} is refused. */
  async refuse(): Promise<void> {
    this.cut();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens on {@link addr} again after {@link refuse} (the port was free for nobody else to take: rare race). */
  async reopen(): Promise<void> {
    if (this.server.listening) return;
    const server = createServer();
    server.on('connection', (c) => this.pipe(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    await this.refuse();
  }
}
