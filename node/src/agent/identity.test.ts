import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { GetServersResponse } from '../gen/v1/log.js';
import { Gossip } from '../gossip/index.js';
import { createCA, issueServerCert } from '../tls/index.js';
import type { Agent } from './agent.js';
import { certificateNamesNode } from './identity.js';
import { nodeCertFiles } from './local-pki.js';
import { agentTags } from './peers.js';
import { TestAgents, eventually } from './testing/cluster.js';
import { unary } from './testing/log-calls.js';

/**
 * A rogue "node": it listens like a commitlog RPC port (mux byte, then TLS) but its
 * certificate comes from its own CA, not the cluster's. Counts the connections it gets,
 * which is how the test knows the agents have tried (and failed) to verify it.
 */
async function rogueRpcPort(
  name: string,
): Promise<{ server: Server; port: number; connections: () => number; close(): Promise<void> }> {
  const ca = await createCA({ commonName: 'rogue CA' });
  const cert = await issueServerCert(ca, {
    commonName: name,
    dnsNames: [name, 'localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  let n = 0;
  const socks = new Set<Socket>();
  const server = createServer((sock) => {
    n++;
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    sock.once('data', (d: Buffer) => {
      sock.pause();
      if (d.length > 1) sock.unshift(d.subarray(1));
      const t = new TLSSocket(sock, { isServer: true, key: cert.keyPem, cert: cert.certPem });
      t.on('error', () => sock.destroy());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    server,
    port: addr.port,
    connections: () => n,
    close: () => {
      for (const s of socks) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe("agent: a member's name is bound to its certificate; gossip is encrypted (issue 12)", function () {
  this.timeout(60_000);
  let t: TestAgents;
  let key: string;
  const clients: { close(): void }[] = [];
  const rogues: { stop(): Promise<void> }[] = [];

  const members = (a: Agent): string[] =>
    a.node
      .status()
      .members.map((m) => m.id)
      .sort();
  const servers = async (name: string): Promise<GetServersResponse['servers']> => {
    const c = t.logClient(name);
    clients.push(c);
    return (await unary<GetServersResponse>((cb) => c.getServers({}, cb))).servers;
  };

  before(async () => {
    t = await TestAgents.create();
    key = readFileSync(t.pki.gossipKey, 'utf8').trim();
    await t.startVoters(['n0', 'n1', 'n2'], { ms: 30_000 });
  });
  afterEach(async () => {
    for (const r of rogues.splice(0)) await r.stop();
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.destroy();
  });

  it('the local PKI issues each node a certificate naming it (DNS SAN), and a gossip key', () => {
    const cert = new X509Certificate(readFileSync(nodeCertFiles(t.pki, 'n1').certFile));
    assert.ok(certificateNamesNode(cert, 'n1'));
    assert.ok(!certificateNamesNode(cert, 'n2'));
    assert.equal(Buffer.from(key, 'base64').length, 32);
  });

  it('a rogue gossip member that knows the key but has no cluster certificate never enters the configuration or GetServers', async () => {
    const port = await rogueRpcPort('rogue');
    const rogue = await Gossip.start({
      name: 'rogue',
      preset: 'local',
      bindAddr: '127.0.0.1',
      bindPort: 0,
      clusterId: 'test',
      tags: agentTags({
        rpcAddr: `127.0.0.1:${port.port}`,
        raftId: 'rogue',
        clusterId: 'test',
        role: 'voter',
        boot: 'rogue-boot',
      }),
      seeds: [t.get('n0').gossipAddr],
      encryptionKeys: [key],
    });
    rogues.push({ stop: async () => (await rogue.stop(), await port.close()) });
    const l = await eventually('a leader', () => t.leader());
    // GIVEN the rogue is an alive gossip member (it has the key) ...
    await eventually("the rogue alive in the leader's gossip", () =>
      l.gossip.aliveMembers().some((m) => m.name === 'rogue'),
    );
    // ... WHEN every agent has tried to verify it, the leader more than once (a retry after a
    // failure) — or, without the check, once it got in — ...
    const admitted = (): boolean => ['n0', 'n1', 'n2'].some((n) => members(t.get(n)).includes('rogue'));
    await eventually(
      'identity checks of the rogue by every agent',
      () => port.connections() >= 4 || admitted(),
      30_000,
    );
    // THEN it is in no configuration and no GetServers answer.
    for (const name of ['n0', 'n1', 'n2']) {
      assert.deepEqual(members(t.get(name)), ['n0', 'n1', 'n2'], `${name}'s configuration`);
      const s = await servers(name);
      assert.deepEqual(s.map((x) => x.id).sort(), ['n0', 'n1', 'n2'], `GetServers on ${name}`);
    }
  });

  it("a rogue gossip member claiming another node's name cannot redirect that node's Raft traffic or GetServers address", async () => {
    const l = await eventually('a leader', () => t.leader());
    const victim = ['n0', 'n1', 'n2'].find((n) => n !== l.config.nodeName) as string;
    const realAddr = t.get(victim).rpcAddr;
    const port = await rogueRpcPort(victim);
    const rogue = await Gossip.start({
      name: victim,
      preset: 'local',
      bindAddr: '127.0.0.1',
      bindPort: 0,
      clusterId: 'test',
      tags: agentTags({
        rpcAddr: `127.0.0.1:${port.port}`,
        raftId: victim,
        clusterId: 'test',
        role: 'voter',
        boot: 'rogue-boot',
      }),
      seeds: [l.gossipAddr],
      encryptionKeys: [key],
    });
    rogues.push({ stop: async () => (await rogue.stop(), await port.close()) });
    // WHEN the leader has seen the forged record and tried to verify it (twice: one retry) —
    // or, without the check, believed it ...
    await eventually(
      'identity checks of the forged record',
      async () =>
        port.connections() >= 2 ||
        (await servers(l.config.nodeName)).some((x) => x.id === victim && x.rpcAddr !== realAddr),
      30_000,
    );
    // THEN the victim's address is unchanged everywhere and it still receives the leader's entries.
    for (const name of ['n0', 'n1', 'n2']) {
      const s = await servers(name);
      assert.equal(
        s.find((x) => x.id === victim)?.rpcAddr,
        realAddr,
        `GetServers on ${name} keeps ${victim}'s address`,
      );
    }
    const c = t.logClient(l.config.nodeName);
    clients.push(c);
    await unary((cb) =>
      c.produce({ record: { value: Buffer.from('after the impostor'), offset: 0, term: 0, type: 0 } }, cb),
    );
    const target = l.node.appliedIndex;
    await eventually(
      `${victim} to apply the leader's entries`,
      () => t.get(victim).node.appliedIndex >= target,
      20_000,
    );
  });

  it('a gossip process without the key is never a gossip member, let alone a Raft member', async () => {
    const port = await rogueRpcPort('plain');
    const rogue = await Gossip.start({
      name: 'plain',
      preset: 'local',
      bindAddr: '127.0.0.1',
      bindPort: 0,
      clusterId: 'test',
      tags: agentTags({
        rpcAddr: `127.0.0.1:${port.port}`,
        raftId: 'plain',
        clusterId: 'test',
        role: 'voter',
        boot: 'rogue-boot',
      }),
      seeds: [],
    });
    rogues.push({ stop: async () => (await rogue.stop(), await port.close()) });
    const n0 = t.get('n0');
    const before = n0.gossip.metrics().transport.dropped.unencrypted ?? 0;
    const joined = await rogue.join([n0.gossipAddr]);
    assert.equal(joined.joined, 0, 'the join is refused');
    await eventually(
      'n0 to drop the plaintext gossip',
      () => (n0.gossip.metrics().transport.dropped.unencrypted ?? 0) > before,
    );
    for (const name of ['n0', 'n1', 'n2']) {
      assert.ok(
        !t
          .get(name)
          .gossip.members()
          .some((m) => m.name === 'plain'),
        `${name}'s gossip has no "plain"`,
      );
      assert.deepEqual(members(t.get(name)), ['n0', 'n1', 'n2']);
    }
    assert.equal(port.connections(), 0, 'nobody even tried to verify it');
  });
});
