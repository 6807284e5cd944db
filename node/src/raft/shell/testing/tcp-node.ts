/**
 * Test/benchmark wiring of one node on a real port: the port multiplexer, the TCP+TLS Raft
 * transport and a RaftNode, optionally sharing the port with a grpc-js server. This is the
 * wiring the cluster agent does for real; the tests and the crash child use it.
 */
import type { Server, ServerCredentials } from '@grpc/grpc-js';
import { createCA, issueServerCert, type PemPair } from '../../../tls/index.js';
import { PortMux } from '../../../net/mux.js';
import type { NodeId } from '../../core/types.js';
import { RaftNode, type RaftNodeOptions } from '../raft-node.js';
import { TcpTransport, type TcpTransportOptions } from '../transport-tcp.js';

/** A CA plus one server certificate (IP SAN 127.0.0.1) per node id. */
export interface TestPki {
  readonly ca: PemPair;
  readonly certs: Readonly<Record<string, PemPair>>;
}

/** Issues the test PKI (ECDSA P-256 via node/src/tls). */
export async function makeTestPki(ids: readonly string[]): Promise<TestPki> {
  const ca = await createCA({ commonName: 'raft test CA' });
  const certs: Record<string, PemPair> = {};
  for (const id of ids)
    certs[id] = await issueServerCert(ca, { commonName: id, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  return { ca, certs };
}

/** One running node on its own port. */
export interface TcpNode {
  readonly node: RaftNode;
  readonly mux: PortMux;
  readonly transport: TcpTransport;
  close(): Promise<void>;
}

/** Starts mux + transport + node; `port` 0 picks a free one (read it from `mux.port`). */
export async function startTcpNode(
  o: Omit<RaftNodeOptions, 'transport'> & {
    readonly port: number;
    readonly pki: TestPki;
    readonly grpc?: { readonly server: Server; readonly credentials: ServerCredentials };
    /** Extra transport options (queue and frame limits). */
    readonly transportOptions?: Partial<Omit<TcpTransportOptions, 'id' | 'clusterId' | 'tls'>>;
  },
): Promise<TcpNode> {
  const cert = o.pki.certs[o.id];
  if (cert === undefined) throw new Error(`no certificate for ${o.id}`);
  const transport = new TcpTransport({
    ...o.transportOptions,
    id: o.id as NodeId,
    clusterId: o.clusterId,
    tls: { caPem: o.pki.ca.certPem, ...cert },
  });
  const injector = o.grpc?.server.createConnectionInjector(o.grpc.credentials);
  const mux = await PortMux.listen({
    host: '127.0.0.1',
    port: o.port,
    raft: (c) => transport.accept(c),
    grpc: (c) => (injector !== undefined ? injector.injectConnection(c) : c.destroy()),
  });
  const node = await RaftNode.start({ ...o, transport });
  return {
    node,
    mux,
    transport,
    close: async () => {
      await node.stop();
      injector?.destroy();
      await mux.close();
    },
  };
}
