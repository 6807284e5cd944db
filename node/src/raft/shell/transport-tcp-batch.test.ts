import assert from 'node:assert/strict';
import { TLSSocket } from 'node:tls';
import { PortMux } from '../../net/mux.js';
import { type Message, logIndex, nodeId, term } from '../core/types.js';
import { makeTestPki } from './testing/tcp-node.js';
import { TcpTransport } from './transport-tcp.js';

async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const preVote = (i: number): Message => ({
  type: 'preVote',
  from: nodeId('a'),
  to: nodeId('b'),
  term: term(i + 1),
  lastIndex: logIndex(i),
  lastTerm: term(0),
});

describe('raft transport: the messages of one send leave in one TLS write', function () {
  this.timeout(20_000);

  it('20 messages to a connected peer in one send are one socket write, received in order', async () => {
    const pki = await makeTestPki(['a', 'b']);
    const tls = (id: 'a' | 'b') => ({
      caPem: pki.ca.certPem,
      certPem: pki.certs[id]!.certPem,
      keyPem: pki.certs[id]!.keyPem,
    });
    const a = new TcpTransport({ id: nodeId('a'), clusterId: 'c', tls: tls('a') });
    const b = new TcpTransport({ id: nodeId('b'), clusterId: 'c', tls: tls('b') });
    const got: Message[] = [];
    b.listen((m) => got.push(m));
    const mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: (c) => b.accept(c),
      grpc: (c) => c.destroy(),
    });
    const write = TLSSocket.prototype.write;
    let writes = 0;
    try {
      a.setPeer(nodeId('b'), `127.0.0.1:${mux.port}`);
      // GIVEN a connected peer (the hello and a first message went through).
      a.send([preVote(0)]);
      await until(() => got.length === 1, 10_000, 'the first message');
      // WHEN one send carries 20 messages for it
      TLSSocket.prototype.write = function (this: TLSSocket, ...args: Parameters<TLSSocket['write']>) {
        writes++;
        return write.apply(this, args);
      } as TLSSocket['write'];
      a.send(Array.from({ length: 20 }, (_, i) => preVote(i + 1)));
      TLSSocket.prototype.write = write;
      await until(() => got.length === 21, 10_000, '20 more messages');
      // THEN they left in one write and arrived in order.
      assert.equal(writes, 1, `the 20 frames took ${writes} TLS writes`);
      assert.deepEqual(
        got.map((m) => m.term),
        Array.from({ length: 21 }, (_, i) => term(i + 1)),
      );
    } finally {
      TLSSocket.prototype.write = write;
      await a.close();
      await b.close();
      await mux.close();
    }
  });
});
