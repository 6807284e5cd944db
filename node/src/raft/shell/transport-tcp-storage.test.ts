/**
 * Storage identity on the Raft transport (issue 12) and the versioned hello that carries it
 * (codec.ts, README.md "Wire versions"). Real TCP, real mutual TLS, the real port multiplexer.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { type TLSSocket, TLSSocket as ServerTlsSocket, connect as tlsConnect } from 'node:tls';
import { PortMux } from '../../net/mux.js';
import { type Message, type NodeId, nodeId } from '../core/types.js';
import { FrameSplitter, type Hello, decodeFrame, encodeMessage } from './codec.js';
import { type TestPki, makeTestPki } from './testing/tcp-node.js';
import { TcpTransport, type TcpTransportOptions } from './transport-tcp.js';

const CLUSTER = 'storage-cluster';
const OLD = 'a'.repeat(32);
const NEW = 'b'.repeat(32);

/** Waits for `f()` to hold, bounded generously (busy CI machines); names what it waited for. */
async function until(f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const r = nodeId('r');
const w = nodeId('w');
const voteResp = (from: NodeId, term: number): Message =>
  ({ type: 'voteResp', from, to: r, term, granted: true }) as Message;
const appendResp = (from: NodeId, term: number): Message =>
  ({ type: 'appendResp', from, to: r, term, success: true, index: 7, hintIndex: 0, hintTerm: 0 }) as Message;

describe('raft transport: a node whose storage id changed is not heard as the old member (issue 12)', function () {
  this.timeout(60_000);
  let pki: TestPki;
  const closers: (() => Promise<void> | void)[] = [];
  const tlsOf = (id: string): TcpTransportOptions['tls'] => ({ caPem: pki.ca.certPem, ...pki.certs[id]! });

  before(async () => {
    pki = await makeTestPki(['r', 'w', 'o']);
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  /** A receiver on a real port that records `recorded` as w's storage id; returns it, its address and what it heard. */
  async function receiver(recorded: Map<string, string>): Promise<{
    t: TcpTransport;
    addr: string;
    heard: Message[];
    asked: (string | undefined)[];
  }> {
    const heard: Message[] = [];
    const asked: (string | undefined)[] = [];
    const t = new TcpTransport({
      id: r,
      clusterId: CLUSTER,
      tls: tlsOf('r'),
      hearsStorage: (from, storageId) => {
        asked.push(storageId);
        const was = recorded.get(from);
        return was === undefined || storageId === undefined || storageId === was;
      },
    });
    t.listen((m) => heard.push(m));
    const mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: (c) => t.accept(c),
      grpc: (c) => c.destroy(),
    });
    closers.push(
      () => mux.close(),
      () => t.close(),
    );
    return { t, addr: `127.0.0.1:${mux.port}`, heard, asked };
  }

  function sender(storageId: string | undefined, wire: () => number | undefined = () => 2): TcpTransport {
    const t = new TcpTransport({
      id: w,
      clusterId: CLUSTER,
      tls: tlsOf('w'),
      ...(storageId !== undefined ? { storageId } : {}),
      peerWireVersion: wire,
    });
    closers.push(() => t.close());
    return t;
  }

  it('GIVEN w recorded with storage OLD WHEN w reconnects with storage NEW THEN its vote and append responses are dropped and counted, never delivered', async () => {
    const rx = await receiver(new Map([['w', OLD]]));
    const before = sender(OLD);
    before.setPeer(r, rx.addr);
    before.send([voteResp(w, 1)]);
    await until(() => rx.heard.length === 1, 'the vote of w with its recorded storage id');
    await before.close();

    const wiped = sender(NEW);
    wiped.setPeer(r, rx.addr);
    wiped.send([voteResp(w, 2), appendResp(w, 2)]);
    await until(() => rx.t.stats().droppedWrongStorage === 2, 'both messages of the wiped w to be dropped');
    assert.deepEqual(
      rx.heard.map((m) => `${m.type}@${m.term}`),
      ['voteResp@1'],
      'only the vote cast before the wipe reached the node',
    );
    assert.equal(rx.t.stats().received, 1);
    assert.equal(rx.t.stats().helloWithoutStorage, 0);
  });

  it("GIVEN w recorded with storage OLD WHEN w speaks with storage NEW THEN a leader's messages are heard and every counted one (votes, pre-votes, answers, forwarded reads) is dropped", async () => {
    const rx = await receiver(new Map([['w', OLD]]));
    const env = { from: w, to: r, term: 9 };
    const meta = { index: 4, term: 2, size: 1, confState: { voters: [r, w], learners: [] } };
    // Only a leader sends these; it won votes that passed the check (README "Storage identity").
    const leaders = [
      { ...env, type: 'append', prevIndex: 0, prevTerm: 0, entries: [], commit: 0 },
      { ...env, type: 'heartbeat', commit: 0, readSeq: 1 },
      { ...env, type: 'snapshot', meta, offset: 0, data: new Uint8Array(1), done: true },
      { ...env, type: 'timeoutNow' },
      { ...env, type: 'readIndexResp', ctx: 'c', index: 3 },
    ] as unknown as Message[];
    const counted = [
      { ...env, type: 'preVote', lastIndex: 5, lastTerm: 2 },
      { ...env, type: 'preVoteResp', granted: true },
      { ...env, type: 'vote', lastIndex: 5, lastTerm: 2, transfer: false },
      voteResp(w, 9),
      appendResp(w, 9),
      { ...env, type: 'heartbeatResp', readSeq: 1 },
      { ...env, type: 'snapshotResp', snapIndex: 4, nextOffset: 1 },
      { ...env, type: 'readIndex', ctx: 'c' },
    ] as unknown as Message[];
    const wiped = sender(NEW);
    wiped.setPeer(r, rx.addr);
    wiped.send([...counted, ...leaders]);
    await until(
      () => rx.heard.length + rx.t.stats().droppedWrongStorage === counted.length + leaders.length,
      'every message heard or dropped',
    );
    assert.deepEqual(
      rx.heard.map((m) => m.type),
      leaders.map((m) => m.type),
      "a leader's messages pass",
    );
    assert.equal(rx.t.stats().droppedWrongStorage, counted.length, 'every counted message is dropped');
    assert.equal(rx.asked.length, counted.length, 'the check is asked for counted messages only');
  });

  it('GIVEN the open connection of a dropped node WHEN its new storage id is recorded (it was replaced) THEN it is heard on that same connection', async () => {
    const recorded = new Map([['w', OLD]]);
    const rx = await receiver(recorded);
    const wiped = sender(NEW);
    wiped.setPeer(r, rx.addr);
    wiped.send([voteResp(w, 3)]);
    await until(() => rx.t.stats().droppedWrongStorage === 1, 'the first message to be dropped');
    recorded.set('w', NEW);
    wiped.send([appendResp(w, 4)]);
    await until(() => rx.heard.length === 1, 'the message sent after the record changed');
    assert.equal(rx.heard[0]?.type, 'appendResp');
  });

  it('GIVEN a peer that speaks only v1 (a hello encoded by hand, as an old node sends it) THEN its messages are delivered and the hello is counted as without storage', async () => {
    const rx = await receiver(new Map([['o', OLD]]));
    const raw = connect({ host: '127.0.0.1', port: Number(rx.addr.split(':')[1]) });
    closers.push(() => void raw.destroy());
    await new Promise<void>((res) => raw.once('connect', () => res()));
    raw.write(Buffer.of(0x01));
    const s = tlsConnect({
      socket: raw,
      ca: pki.ca.certPem,
      cert: pki.certs['o']!.certPem,
      key: pki.certs['o']!.keyPem,
      rejectUnauthorized: true,
    });
    s.on('error', () => {});
    await new Promise<void>((res) => s.once('secureConnect', () => res()));
    // u32 length | kind 1 | version 1 | "storage-cluster" | "o": the layout of every node before v2.
    const cluster = Buffer.from(CLUSTER);
    const v1 = Buffer.concat([
      Buffer.from([0, 0, 0, 2 + 2 + cluster.length + 2 + 1, 1, 1, 0, cluster.length]),
      cluster,
      Buffer.from([0, 1, 0x6f]),
    ]);
    s.write(Buffer.concat([v1, encodeMessage(voteResp(nodeId('o'), 5))]));
    await until(() => rx.heard.length === 1, 'the old peer’s vote');
    assert.equal(rx.t.stats().helloWithoutStorage, 1);
    assert.deepEqual(rx.asked, [undefined], 'asked with no storage id');
    s.destroy();
  });

  /** A peer as old as we like: records the hello of every connection it accepts, answers nothing. */
  async function recordingPeer(): Promise<{ addr: string; hellos: Hello[]; raw: Buffer[] }> {
    const hellos: Hello[] = [];
    const raw: Buffer[] = [];
    const mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: (c) => {
        const s: TLSSocket = new ServerTlsSocket(c, {
          isServer: true,
          ca: pki.ca.certPem,
          cert: pki.certs['r']!.certPem,
          key: pki.certs['r']!.keyPem,
          requestCert: true,
          rejectUnauthorized: true,
        });
        const sp = new FrameSplitter(1 << 20);
        let first = true;
        s.on('error', () => {});
        s.on('data', (chunk: Buffer) => {
          sp.push(chunk);
          for (let b = sp.next(); b !== null; b = sp.next()) {
            // The version byte is what an old node checks first (it accepts exactly 1).
            if (first) {
              raw.push(Buffer.from(b));
              const f = decodeFrame(b);
              if (f.kind === 'hello') hellos.push(f.hello);
            }
            first = false;
          }
        });
      },
      grpc: (c) => c.destroy(),
    });
    closers.push(() => mux.close());
    return { addr: `127.0.0.1:${mux.port}`, hellos, raw };
  }

  it('GIVEN a peer that does not advertise v2 WHEN a new node dials it THEN the hello is v1, byte-identical to what an old node accepts', async () => {
    const peer = await recordingPeer();
    const t = sender(NEW, () => undefined);
    t.setPeer(r, peer.addr);
    t.send([voteResp(w, 1)]);
    await until(() => peer.hellos.length === 1, 'a hello');
    assert.deepEqual(peer.hellos[0], { version: 1, clusterId: CLUSTER, from: 'w' });
    // kind 1 | version 1 | u16 len | clusterId | u16 len | "w" — and nothing after it.
    const cluster = Buffer.from(CLUSTER);
    assert.deepEqual(
      peer.raw[0],
      Buffer.concat([Buffer.from([1, 1, 0, cluster.length]), cluster, Buffer.from([0, 1, 0x77])]),
    );
  });

  it('GIVEN a peer that advertises v2 THEN the hello carries the storage id; a peer that starts advertising it later gets a new v2 connection', async () => {
    const peer = await recordingPeer();
    const advertises: { wire?: number } = {};
    const t = sender(NEW, () => advertises.wire);
    t.setPeer(r, peer.addr);
    t.send([voteResp(w, 1)]);
    await until(() => peer.hellos.length === 1, 'the first hello');
    assert.equal(peer.hellos[0]?.version, 1);
    advertises.wire = 2;
    t.send([voteResp(w, 2)]);
    await until(() => peer.hellos.length === 2, 'a second connection once the peer advertises v2');
    assert.deepEqual(peer.hellos[1], { version: 2, clusterId: CLUSTER, from: 'w', storageId: NEW });
  });

  it('GIVEN a node whose storage id is renewed THEN its open connections are re-dialed with the new id', async () => {
    const peer = await recordingPeer();
    const t = sender(OLD);
    t.setPeer(r, peer.addr);
    t.send([voteResp(w, 1)]);
    await until(() => peer.hellos.length === 1, 'the first hello');
    t.setStorageId(NEW);
    t.send([voteResp(w, 2)]);
    await until(() => peer.hellos.length === 2, 'a new connection after the renewal');
    assert.deepEqual(
      peer.hellos.map((h) => (h.version === 2 ? h.storageId : null)),
      [OLD, NEW],
    );
  });

  it('a node without a storage id always says v1 (nothing to carry)', async () => {
    const peer = await recordingPeer();
    const t = sender(undefined, () => 2);
    t.setPeer(r, peer.addr);
    t.send([voteResp(w, 1)]);
    await until(() => peer.hellos.length === 1, 'a hello');
    assert.deepEqual(peer.hellos[0], { version: 1, clusterId: CLUSTER, from: 'w' });
  });
});
