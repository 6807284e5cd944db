/**
 * The agent's one RPC port: the port multiplexer (node/src/net/mux.ts) with three routes —
 *
 * - 0x01 → the Raft TCP transport (its own mutual TLS);
 * - HTTP/2 preface ('P') → a plaintext grpc-js server that serves ONLY grpc.health.v1,
 *   over the very {@link HealthState} of the TLS server: the kubelet's native gRPC probes
 *   (plaintext h2c, no client certificate) see exactly what TLS health clients see, and
 *   can reach neither log.v1.Log nor log.v1.Admin (UNIMPLEMENTED there);
 * - anything else → the TLS gRPC server (Log, Admin, Health).
 *
 * TLS connections go through an injector of our own on the server's grpc-js `Server`, not
 * through `CommitLogServer.handleConnection`: that method marks every service SERVING on
 * each connection, while in a cluster the agent alone decides readiness (readiness.ts).
 * grpc-js closes this injector with the server (`tryShutdown` closes every HTTP/2 server).
 */
import { Server, ServerCredentials, type ConnectionInjector } from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';
import { HealthService } from '../gen/grpc/health/v1/health.js';
import { PortMux, type PortMuxStats } from '../net/mux.js';
import type { HealthState } from '../server/health-service.js';

/** Options of {@link RpcPort.open}. */
export interface RpcPortOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** The TLS gRPC server's grpc-js server and credentials (`CommitLogServer.grpc`/`.credentials`). */
  readonly grpc: Server;
  readonly credentials: ServerCredentials;
  /** Shared health state (`CommitLogServer.health`). */
  readonly health: HealthState;
  /** Receives Raft connections after the routing byte. */
  readonly raft: (conn: Duplex) => void;
}

/**
 * An injector that parks connections until the next tick: grpc-js's HTTP/2 server gets
 * its TLS context from the credentials' provider asynchronously and drops connections
 * handed over before that.
 */
class ParkingInjector {
  private early: Duplex[] | undefined = [];
  private closed = false;

  constructor(private readonly injector: ConnectionInjector) {
    process.nextTick(() => {
      const early = this.early ?? [];
      this.early = undefined;
      for (const c of early) this.inject(c);
    });
  }

  inject(c: Duplex): void {
    if (this.closed) c.destroy();
    else if (this.early) this.early.push(c);
    else this.injector.injectConnection(c);
  }

  /** New connections are closed from now on (the ones already injected carry on). */
  refuse(): void {
    this.closed = true;
    for (const c of this.early ?? []) c.destroy();
    this.early = undefined;
  }

  close(): void {
    this.refuse();
    this.injector.destroy();
  }
}

/** The listening RPC port. Create with {@link RpcPort.open}; {@link RpcPort.close} on stop. */
export class RpcPort {
  private constructor(
    private readonly mux: PortMux,
    private readonly tls: ParkingInjector,
    private readonly probe: { readonly server: Server; readonly injector: ParkingInjector },
  ) {}

  /** Binds the port; resolves once listening. */
  static async open(o: RpcPortOptions): Promise<RpcPort> {
    const tls = new ParkingInjector(o.grpc.createConnectionInjector(o.credentials));
    const probeServer = new Server();
    probeServer.addService(HealthService, o.health.service());
    const probe = {
      server: probeServer,
      injector: new ParkingInjector(probeServer.createConnectionInjector(ServerCredentials.createInsecure())),
    };
    try {
      const mux = await PortMux.listen({
        host: o.host,
        port: o.port,
        raft: o.raft,
        grpc: (c) => tls.inject(c),
        h2c: (c) => probe.injector.inject(c),
      });
      return new RpcPort(mux, tls, probe);
    } catch (err) {
      tls.close();
      probe.injector.close();
      probeServer.forceShutdown();
      throw err;
    }
  }

  /** The bound port. */
  get port(): number {
    return this.mux.port;
  }

  /** Connections routed so far (raft, grpc = TLS, h2c = plaintext probes). */
  stats(): PortMuxStats {
    return this.mux.stats();
  }

  /**
   * Closes new TLS gRPC connections from now on — call before the server's shutdown (which
   * drains the open ones); Raft and probes keep flowing until {@link close}.
   */
  refuseGrpc(): void {
    this.tls.refuse();
  }

  /** Closes the probe server and the port (every open connection is destroyed). */
  async close(): Promise<void> {
    this.tls.close();
    this.probe.injector.close();
    this.probe.server.forceShutdown();
    await this.mux.close();
  }
}
