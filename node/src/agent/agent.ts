/**
 * The cluster agent: the process that runs on every node. It wires, in this order:
 * the Raft node on the segmented log (LogStorage), the gRPC server over a
 * {@link RaftBackend}, ONE listener on the RPC port through the port multiplexer (0x01 →
 * Raft TCP+TLS transport, anything else → grpc-js), gossip on its own port with the tags
 * {rpcAddr, raftId, clusterId, role, externalAddr?}, the membership reconciler and the
 * HTTP endpoint (/metrics, /healthz, /readyz).
 *
 * Stop (SIGTERM): a leader first hands leadership to the most caught-up voter (bounded
 * wait), then gossip leaves gracefully, the server drains, Raft stops (flushing and closing
 * the log) and the port closes. No membership change happens on stop.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CasbinAuthorizer, type Authorizer } from '../acl/authorizer.js';
import { Gossip, registerGossipMetrics } from '../gossip/index.js';
import { HttpApiServer } from '../http/api-server.js';
import { formatHostPort, hostPort, withPort } from '../net/address.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { NodeMetrics } from '../observability/metrics.js';
import { startHttpServer, type HttpEndpoint } from '../observability/http-server.js';
import { type NodeId, RaftNode, TcpTransport, WIRE_VERSION, nodeId } from '../raft/index.js';
import { CommitLogServer } from '../server/server.js';
import { clientCredentials } from '../tls/credentials.js';
import type { ClusterAgentConfig } from './config.js';
import { consoleSource } from './console-source.js';
import { LeaderForwarder } from './forwarder.js';
import { VerifiedMembers, nodeCertificateFor, verifyMemberIdentity } from './identity.js';
import { MembershipReconciler, RemovedMembers } from './membership.js';
import { registerRaftMetrics, registerStorageMetrics } from './metrics.js';
import { PeerDirectory, agentTags } from './peers.js';
import { RaftAdmin, pickTransferTarget } from './raft-admin.js';
import { RaftBackend } from './raft-backend.js';
import { ExternalAddrWatcher } from './external-addr.js';
import { HealthDriver } from './readiness.js';
import { Lifecycle } from './lifecycle.js';
import { RpcPort } from './rpc-port.js';
import { MemberStorageIds, openStorageId, renewStorageId, storageHeard } from './storage-id.js';
import { readTransportTls, watchTransportTls, type TransportTlsWatch } from './transport-tls.js';

/** A port the agent could not bind. */
export class PortInUseError extends Error {
  readonly code = 'port-in-use';
  constructor(
    readonly what: string,
    readonly addr: string,
    cause: Error,
  ) {
    super(`cannot listen for ${what} on ${addr}: ${cause.message}`);
    this.name = 'PortInUseError';
  }
}

/** `addr` with the port a `:0` bind was given; any other port is kept. */
const replacePort = (addr: string, port: number): string =>
  hostPort(addr, { allowPortZero: true }).port === 0 ? withPort(addr, port) : addr;

async function bind<T>(what: string, addr: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL')
      throw new PortInUseError(what, addr, e);
    throw err;
  }
}

/** Gossip advertise options: the explicit address, else the RPC host when binding all interfaces. */
function gossipAdvertise(
  config: ClusterAgentConfig,
  rpcHost: string,
): { advertiseAddr?: string; advertisePort?: number } {
  if (config.gossipAdvertiseAddr !== undefined) {
    const { host, port } = hostPort(config.gossipAdvertiseAddr);
    return { advertiseAddr: host, advertisePort: port };
  }
  return config.bindHost === '0.0.0.0' || config.bindHost === '::' ? { advertiseAddr: rpcHost } : {};
}

/** A running cluster agent. Create with {@link Agent.start}. */
export class Agent {
  private stopping: Promise<void> | undefined;
  private tlsWatch: TransportTlsWatch | undefined;

  private constructor(
    readonly config: ClusterAgentConfig,
    readonly logger: Logger,
    readonly node: RaftNode,
    readonly backend: RaftBackend,
    readonly server: CommitLogServer,
    readonly gossip: Gossip,
    readonly metrics: NodeMetrics,
    private readonly parts: {
      readonly mux: RpcPort;
      readonly health: HealthDriver;
      readonly external: ExternalAddrWatcher | undefined;
      readonly http: HttpEndpoint;
      readonly reconciler: MembershipReconciler;
      readonly forwarder: LeaderForwarder;
      readonly casbin: CasbinAuthorizer | undefined;
      readonly json: HttpApiServer | undefined;
    },
    /** The advertised RPC address (port resolved when 0 was asked). */
    readonly rpcAddr: string,
  ) {}

  /** The bound RPC (gRPC + Raft) port. */
  get rpcPort(): number {
    return this.parts.mux.port;
  }
  /** Connections routed by the RPC port so far (raft, grpc = TLS, h2c = plaintext probes). */
  rpcPortStats(): ReturnType<RpcPort['stats']> {
    return this.parts.mux.stats();
  }
  /** The bound HTTP port. */
  get httpPort(): number {
    return this.parts.http.port;
  }
  /** The bound port of the JSON API, undefined when it is disabled. */
  get jsonPort(): number | undefined {
    return this.parts.json?.port;
  }
  /** The JSON API (its stats), undefined when disabled. */
  get jsonApi(): HttpApiServer | undefined {
    return this.parts.json;
  }
  /** The bound gossip address. */
  get gossipAddr(): string {
    return this.gossip.address;
  }

  /**
   * Starts every part; on failure stops what started and rethrows (PortInUseError names
   * the port; ClusterIdMismatchError when the data dir belongs to another cluster).
   */
  static async start(
    config: ClusterAgentConfig,
    logger: Logger = createLogger({ level: config.logLevel, node: config.nodeName }),
  ): Promise<Agent> {
    // The agent's components in start order; a failed start stops them in reverse (lifecycle.ts).
    const life = new Lifecycle({
      onStopError: (name, err) => logger.warn({ component: name, err }, 'component did not stop cleanly'),
    });
    try {
      const tls = config.peerTls ?? config.serverTls;
      const caFile = config.peerTls?.caFile ?? config.serverTls?.caFile;
      if (tls === undefined || caFile === undefined)
        throw new Error('the cluster agent needs TLS files with a CA (see --server-tls-* / --peer-tls-*)');
      mkdirSync(config.dataDir, { recursive: true });
      // Before Raft writes anything: a data dir without a storage id is new (or was wiped).
      let storage = await openStorageId(config.dataDir);
      const memberStorage = MemberStorageIds.open(config.dataDir);
      const metrics = new NodeMetrics();
      const id = nodeId(config.nodeName);
      // Raft's fatal hook is wired before the health driver exists (it needs the server).
      const fatalSink: { health?: HealthDriver } = {};
      const tlsFiles = { certFile: tls.certFile, keyFile: tls.keyFile, caFile };
      const peers = new PeerDirectory(config.clusterId);
      // The storage id a member is heard with: the replicated configuration's, else the local record (older members).
      const raft: { node?: RaftNode } = {}; // set once started
      const recordedStorage = (m: NodeId): string | undefined => raft.node?.memberStorage(m) ?? memberStorage.get(m);
      const transport = new TcpTransport({
        id,
        clusterId: config.clusterId,
        tls: readTransportTls(tlsFiles),
        logger: logger.child({ component: 'raft-transport' }),
        // A member's name is bound to its certificate both ways (identity.ts).
        authorizePeer: nodeCertificateFor,
        authorizeServer: nodeCertificateFor,
        // A wiped node is never heard as the old voter (storage-id.ts); v2 hellos only to peers that accept them.
        storageId: storage.id,
        peerWireVersion: (peer) => peers.get(peer)?.wire,
        hearsStorage: (from, hello) =>
          storageHeard({ recorded: recordedStorage(from), hello, sendsStorage: (peers.get(from)?.wire ?? 1) >= 2 }),
      });
      // Rotated certificate files (Kubernetes swaps the Secret's symlink) reach new Raft connections.
      const tlsWatch = watchTransportTls(transport, tlsFiles, {
        logger: logger.child({ component: 'raft-transport' }),
        onReload: (err) => metrics.reloads.inc({ what: 'raft-tls', result: err ? 'error' : 'ok' }),
      });
      life.add({ name: 'raft-tls-watch', stop: () => tlsWatch.close() });
      const node = await RaftNode.start({
        id,
        dir: join(config.dataDir, 'raft'),
        clusterId: config.clusterId,
        ...(config.bootstrap ? { bootstrap: { voters: [id] } } : {}),
        transport,
        logConfig: {
          maxRecordBytes: config.maxRecordBytes,
          maxStoreBytes: config.log.segmentBytes,
          retention: { maxTotalBytes: config.log.retentionBytes, maxAgeMs: config.log.retentionMs },
        },
        raftPreset: config.raftPreset,
        shellPreset: config.raftPreset,
        // A damaged log tail lost committed entries: start over as a new member, refilled by the
        // leader (log-storage.ts explains why not from the intact prefix) — if there is another voter.
        onLostTail: async (lost) => {
          if (!lost.confState.voters.some((v) => v !== id)) return false;
          storage = await renewStorageId(config.dataDir);
          transport.setStorageId(storage.id);
          logger.warn(
            { commit: lost.commit, lastIndex: lost.lastIndex, storageId: storage.id },
            'the log lost committed entries (damaged tail): discarding it and rejoining as a new member with a new storage id; the leader refills it',
          );
          return true;
        },
        logger: logger.child({ component: 'raft' }),
      });
      raft.node = node;
      // Subscribed as soon as start resolves, before any await: a disk fsync completes on a later
      // turn of the event loop, and onFatal also reports a failure that came first.
      node.onFsync((ms) => metrics.fsyncSeconds.observe(ms / 1000));
      node.onFatal((err) => {
        logger.fatal({ err }, 'raft failed; this node no longer serves');
        fatalSink.health?.markFatal();
      });
      life.add({ name: 'raft', stop: () => node.stop() });
      if (config.bootstrap && !node.storage.fresh)
        logger.info('data dir holds Raft state: --bootstrap ignored (bootstrap happens once)');
      if (!config.bootstrap && node.storage.fresh)
        logger.info('fresh node without --bootstrap: waiting for the leader to add it (through gossip)');
      if (storage.created)
        logger.info(
          { storageId: storage.id, fresh: node.storage.fresh },
          'new storage id for this data dir: if this node was a member before (wiped data dir), the leader replaces it and it catches up as a new learner',
        );
      const replacements = registerStorageMetrics(metrics.registry, storage.id);

      const removed = new RemovedMembers();
      /** This process's boot id (gossip tag): a removal is remembered for this process only. */
      const boot = randomBytes(8).toString('hex');
      const forwarder = new LeaderForwarder(
        clientCredentials({ caFile, certFile: tls.certFile, keyFile: tls.keyFile }),
      );
      life.add({ name: 'forwarder', stop: () => forwarder.close() });
      const produced = registerRaftMetrics(node, metrics.registry);
      let rpcAddr = config.advertiseAddr;
      const self: { readonly rpcAddr: string; externalAddr: string | undefined } = {
        get rpcAddr() {
          return rpcAddr;
        },
        externalAddr: config.externalAddr,
      };
      const backend = new RaftBackend({
        node,
        peers,
        forwarder,
        self,
        linearizable: config.linearizableReads,
        onProduce: (how) => produced.inc({ how }),
      });
      life.add({ name: 'backend', stop: () => backend.close() });

      let casbin: CasbinAuthorizer | undefined;
      if (config.acl) {
        casbin = await CasbinAuthorizer.open(config.acl, {
          onReload: (err) => {
            metrics.reloads.inc({ what: 'acl', result: err ? 'error' : 'ok' });
            if (err) logger.warn({ err }, 'ACL files changed but do not load; keeping the previous policy');
          },
        });
        life.add({ name: 'acl', stop: () => casbin?.close() });
      }
      const authz: Authorizer | undefined = casbin;
      const server = new CommitLogServer({
        backend,
        nodeId: config.nodeName,
        rpcAddr,
        tls: config.serverTls,
        ...(authz ? { authorizer: () => authz } : {}),
        admin: new RaftAdmin({ node, backend, peers, self, removed }),
        logger,
        metrics,
        config: { requestLogLevel: config.requestLogLevel, reflection: config.reflection },
      });
      life.add({ name: 'grpc-server', stop: () => server.shutdown() });
      const rpcBind = formatHostPort(config.bindHost, config.rpcPort);
      // Health statuses are the agent's (readiness.ts), not "serving once a connection came".
      const probes = new HealthDriver(server.health, node, config.role);
      fatalSink.health = probes;
      probes.start();
      life.add({ name: 'health', stop: () => probes.stop() });
      const mux = await bind('RPC (gRPC + Raft)', rpcBind, () =>
        RpcPort.open({
          host: config.bindHost,
          port: config.rpcPort,
          grpc: server.grpc,
          credentials: server.credentials,
          health: server.health,
          raft: (c) => transport.accept(c),
        }),
      );
      life.add({ name: 'rpc-port', stop: () => mux.close() });
      rpcAddr = replacePort(rpcAddr, mux.port);

      const advertiseHost = hostPort(rpcAddr).host;
      const tags = (externalAddr: string | undefined): ReturnType<typeof agentTags> =>
        agentTags({
          rpcAddr,
          raftId: config.nodeName,
          clusterId: config.clusterId,
          role: config.role,
          boot,
          storage: storage.id,
          wire: WIRE_VERSION,
          externalAddr,
        });
      const gossip = await bind('gossip', formatHostPort(config.bindHost, config.gossipPort), () =>
        Gossip.start(
          {
            name: config.nodeName,
            preset: config.gossipPreset,
            bindAddr: config.bindHost,
            bindPort: config.gossipPort,
            ...gossipAdvertise(config, advertiseHost),
            clusterId: config.clusterId,
            tags: tags(config.externalAddr),
            seeds: config.joinAddrs,
            encryptionKeys: config.gossipKeys,
          },
          { logger: logger.child({ component: 'gossip' }) },
        ),
      );
      life.add({ name: 'gossip', stop: () => gossip.stop() });
      let external: ExternalAddrWatcher | undefined;
      if (config.externalAddrFile !== undefined) {
        // The operator fills this node's external address in later: re-tag when it changes.
        const ext = new ExternalAddrWatcher(config.externalAddrFile, config.nodeName, config.externalAddr, (addr) => {
          self.externalAddr = addr;
          gossip.setTags(tags(addr));
          logger.info({ externalAddr: addr }, 'external address changed (external-addr-file); gossip tags updated');
        });
        ext.start();
        life.add({ name: 'external-addr-watch', stop: () => ext.stop() });
        external = ext;
      }
      registerGossipMetrics(gossip, metrics.registry);
      const verified = new VerifiedMembers((name, addr) =>
        verifyMemberIdentity({
          name,
          rpcAddr: addr,
          selfId: config.nodeName,
          clusterId: config.clusterId,
          tls: readTransportTls(tlsFiles),
        }),
      );
      const reconciler = new MembershipReconciler(
        node,
        gossip,
        peers,
        config.membershipResyncMs,
        logger.child({ component: 'membership' }),
        removed,
        verified,
        { ids: memberStorage, onReplace: (member) => replacements.inc({ member }) },
      );
      reconciler.start();
      life.add({ name: 'membership', stop: () => reconciler.stop() });

      const http = await bind('HTTP (metrics/health)', formatHostPort(config.bindHost, config.httpPort), () =>
        startHttpServer({
          host: config.bindHost,
          port: config.httpPort,
          registry: metrics.registry,
          readiness: () => probes.readiness(),
          ...(config.console ? { console: consoleSource(node, backend, config.clusterId) } : {}),
        }),
      );
      life.add({ name: 'http', stop: () => http.close() });
      // The JSON API: its own TLS port with the gRPC server's certificates (one reloading provider), ACL and backend.
      let json: HttpApiServer | undefined;
      const jsonPort = config.jsonPort;
      const certificates = server.certificateProvider;
      if (jsonPort !== undefined) {
        if (certificates === undefined)
          throw new Error('the JSON API needs the server TLS files (it is never served in plaintext)');
        json = await bind('JSON API (HTTPS)', formatHostPort(config.bindHost, jsonPort), () =>
          HttpApiServer.listen(
            {
              backend,
              certificates,
              mutual: server.mutualTls,
              ...(authz ? { authorizer: () => authz } : {}),
              logger,
              metrics,
              config: { requestLogLevel: config.requestLogLevel },
            },
            config.bindHost,
            jsonPort,
          ),
        );
        const api = json;
        life.add({ name: 'json-api', stop: () => api.close() });
      }
      const agent = new Agent(
        config,
        logger,
        node,
        backend,
        server,
        gossip,
        metrics,
        { mux, health: probes, external, http, reconciler, forwarder, casbin, json },
        rpcAddr,
      );
      agent.tlsWatch = tlsWatch;
      logger.info(
        {
          rpcAddr,
          rpcPort: mux.port,
          gossipAddr: gossip.address,
          httpPort: http.port,
          jsonPort: json?.port,
          clusterId: config.clusterId,
          dataDir: config.dataDir,
          storageId: storage.id,
          bootstrap: config.bootstrap,
          fresh: node.storage.fresh,
          externalAddr: config.externalAddr,
        },
        'agent started',
      );
      return agent;
    } catch (err) {
      await life.stop().catch(() => {});
      throw err;
    }
  }

  /**
   * Graceful stop, idempotent: transfer leadership if leader (bounded by
   * `shutdownTransferMs`), leave gossip, drain the server, stop Raft (closes the log),
   * close the port. Never changes the Raft membership.
   */
  stop(): Promise<void> {
    return (this.stopping ??= this.doStop());
  }

  /**
   * Stops abruptly, as a crash would look to the others: no leadership transfer, no gossip
   * leave (peers declare this node failed). For tests of failure handling; the data on disk
   * stays consistent (Raft flushes), so the node can be started again.
   */
  abort(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.parts.health.stop();
      this.parts.external?.stop();
      await this.parts.reconciler.stop();
      await this.gossip.stop();
      await this.parts.mux.close();
      await this.parts.json?.close();
      this.backend.close();
      this.parts.forwarder.close();
      this.tlsWatch?.close();
      await this.server.shutdown();
      await this.node.stop();
      await this.parts.http.close();
      this.parts.casbin?.close();
      this.logger.info('agent aborted (no leadership transfer, no gossip leave)');
    })());
  }

  private async doStop(): Promise<void> {
    const log = this.logger;
    log.info('agent stopping');
    this.parts.health.stop();
    this.parts.external?.stop();
    await this.parts.reconciler.stop();
    if (this.node.isLeader) {
      const target = pickTransferTarget(this.node);
      if (target !== undefined) {
        try {
          await this.node.transferLeadership(nodeId(target), this.config.shutdownTransferMs);
          log.info({ to: target }, 'leadership transferred before stopping');
        } catch (err) {
          log.warn(
            { to: target, err: (err as Error).message },
            'leadership transfer did not finish in time; stopping anyway (the others elect a leader)',
          );
        }
      }
    }
    await this.gossip.leave(2000).catch(() => {});
    await this.gossip.stop();
    this.parts.mux.refuseGrpc();
    // Produces held for a leader end now, not sent (raft-backend.ts): they would stretch the drain.
    this.backend.releaseHolds();
    await Promise.all([this.parts.json?.close(), this.server.shutdown()]);
    this.backend.close();
    this.parts.forwarder.close();
    this.tlsWatch?.close();
    await this.node.stop();
    await this.parts.mux.close();
    await this.parts.http.close();
    this.parts.casbin?.close();
    log.info('agent stopped');
  }
}
