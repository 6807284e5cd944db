import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import { HealthClient, HealthCheckResponse_ServingStatus, HealthService } from '../../gen/grpc/health/v1/health.js';
import { issueClientCert } from '../../tls/index.js';
import { type NodeId, nodeId } from '../core/types.js';
import { encodeHello } from './codec.js';
import { type TcpNode, type TestPki, makeTestPki, startTcpNode } from './testing/tcp-node.js';
import { enc } from './testing/text.js';

async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('raft shell: 3 nodes over TCP + mutual TLS through the port multiplexer, sharing the port with gRPC', function () {
  this.timeout(30_000);
  const ids = ['t0', 't1', 't2'].map(nodeId);
  let pki: TestPki;
  let root: string;
  let nodes: TcpNode[] = [];
  let grpcServers: Server[] = [];

  before(async () => {
    pki = await makeTestPki(ids);
  });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'commitlog-raft-tcp-'));
  });
  afterEach(async () => {
    for (const n of nodes) await n.close();
    for (const s of grpcServers) s.forceShutdown();
    nodes = [];
    grpcServers = [];
    rmSync(root, { recursive: true, force: true });
  });

  async function startAll(): Promise<void> {
    // Bind the ports first (port 0), then tell every node its peers' addresses.
    for (const id of ids) {
      const server = new Server();
      server.addService(HealthService, {
        check: (_call: unknown, cb: (e: null, r: { status: HealthCheckResponse_ServingStatus }) => void) =>
          cb(null, { status: HealthCheckResponse_ServingStatus.SERVING }),
        watch: () => {},
      });
      grpcServers.push(server);
      const cert = pki.certs[id];
      assert.ok(cert);
      const creds = ServerCredentials.createSsl(
        Buffer.from(pki.ca.certPem),
        [{ cert_chain: Buffer.from(cert.certPem), private_key: Buffer.from(cert.keyPem) }],
        true,
      );
      nodes.push(
        await startTcpNode({
          id,
          dir: join(root, id),
          clusterId: 'tcp-cluster',
          bootstrap: { voters: ids },
          port: 0,
          pki,
          grpc: { server, credentials: creds },
          shellPreset: 'test',
        }),
      );
    }
    for (const a of nodes)
      for (const b of nodes) if (a !== b) a.node.setPeerAddress(b.node.id, `127.0.0.1:${b.mux.port}`);
  }

  it('elects, replicates with identical logs, and serves a gRPC health check on the same port', async () => {
    await startAll();
    await until(() => nodes.filter((n) => n.node.isLeader).length === 1, 10_000, 'a leader');
    const leader = nodes.find((n) => n.node.isLeader) as TcpNode;
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => leader.node.propose(enc(`tcp-${i}`))));
    assert.deepEqual(
      rs.map((r) => r.dataOffset).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
    );
    const last = Math.max(...rs.map((r) => r.index));
    await Promise.all(nodes.map((n) => n.node.waitForApplied(last, 10_000)));
    const dump = (n: TcpNode): string[] =>
      n.node.storage.log
        .readRange(1, { maxCount: 1000 })
        .map((r) => `${r.offset}/${r.term}/${r.type}/${Buffer.from(r.value).toString()}`);
    for (const n of nodes) assert.deepEqual(dump(n), dump(leader));

    const port = nodes[1]?.mux.port ?? 0;
    const c = pki.certs[ids[0] as NodeId];
    assert.ok(c);
    const client = new HealthClient(
      `127.0.0.1:${port}`,
      credentials.createSsl(Buffer.from(pki.ca.certPem), Buffer.from(c.keyPem), Buffer.from(c.certPem)),
    );
    const status = await new Promise<number>((resolve, reject) =>
      client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
    );
    client.close();
    assert.equal(status, HealthCheckResponse_ServingStatus.SERVING);
    assert.ok((nodes[1]?.mux.stats().grpc ?? 0) >= 1);
    assert.ok(leader.mux.stats().raft >= 2, 'both followers connected to the leader through the mux');
  });

  it('closes and counts a Raft connection that sends garbage, and keeps serving', async () => {
    await startAll();
    await until(() => nodes.filter((n) => n.node.isLeader).length === 1, 10_000, 'a leader');
    const target = nodes[0] as TcpNode;
    const before = target.mux.stats().raft;
    const sock = connect({ host: '127.0.0.1', port: target.mux.port });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(Buffer.concat([Buffer.of(0x01), Buffer.alloc(64, 0xff)]));
    await new Promise<void>((r) => sock.once('close', () => r()));
    assert.equal(target.mux.stats().raft, before + 1);
    await until(() => target.transport.stats().malformed >= 1, 2000, 'the bad connection to be counted');
    const leader = nodes.find((n) => n.node.isLeader) as TcpNode;
    await leader.node.propose(enc('still fine'));
  });

  it('refuses a user client certificate from the same CA on the Raft port (only node certificates speak Raft)', async () => {
    await startAll();
    const target = nodes[0] as TcpNode;
    const user = await issueClientCert(pki.ca, { commonName: 'root' });
    const raw = connect({ host: '127.0.0.1', port: target.mux.port });
    await new Promise<void>((r) => raw.once('connect', () => r()));
    raw.write(Buffer.of(0x01));
    const s = tlsConnect({ socket: raw, ca: pki.ca.certPem, cert: user.certPem, key: user.keyPem });
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('secureConnect', () => r()));
    s.write(encodeHello({ version: 1, clusterId: 'tcp-cluster', from: nodeId('t1') }));
    await new Promise<void>((r) => s.once('close', () => r()));
    assert.equal(target.transport.stats().malformed, 1);
  });
});
