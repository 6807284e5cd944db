import assert from 'node:assert/strict';
import { connect, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { createCA, issueServerCert } from '../tls/certs.js';
import { PortMux } from './mux.js';

/** Reads a handed-over connection to its end (it arrives paused). */
function readAll(d: Duplex): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    d.on('data', (c: Buffer) => parts.push(c));
    d.on('end', () => resolve(Buffer.concat(parts)));
    d.resume();
  });
}

describe('net: port multiplexer', () => {
  let mux: PortMux | undefined;
  afterEach(async () => {
    await mux?.close();
    mux = undefined;
  });

  it('routes by the first byte: Raft gets the stream after 0x01, gRPC gets every byte including the first', async () => {
    const got: { raft: Promise<Buffer>[]; grpc: Promise<Buffer>[] } = { raft: [], grpc: [] };
    mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: (c) => got.raft.push(readAll(c)),
      grpc: (c) => got.grpc.push(readAll(c)),
    });
    const send = async (bytes: Buffer): Promise<void> => {
      const s = connect({ host: '127.0.0.1', port: mux?.port ?? 0 });
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.end(bytes);
      await new Promise<void>((r) => s.once('close', () => r()));
    };
    await send(Buffer.from([0x01, 0xaa, 0xbb]));
    await send(Buffer.from('PRI * HTTP/2.0'));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await got.raft[0], Buffer.from([0xaa, 0xbb]));
    assert.equal((await got.grpc[0])?.toString(), 'PRI * HTTP/2.0');
    assert.deepEqual(mux.stats(), { raft: 1, grpc: 1, h2c: 0, timedOut: 0 });
  });

  it('with an h2c handler, a connection opening with the HTTP/2 preface goes there and a TLS ClientHello still goes to gRPC', async () => {
    const got: { grpc: Promise<Buffer>[]; h2c: Promise<Buffer>[] } = { grpc: [], h2c: [] };
    mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: () => assert.fail('routed to raft'),
      grpc: (c) => got.grpc.push(readAll(c)),
      h2c: (c) => got.h2c.push(readAll(c)),
    });
    const send = async (bytes: Buffer): Promise<void> => {
      const s = connect({ host: '127.0.0.1', port: mux?.port ?? 0 });
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.end(bytes);
      await new Promise<void>((r) => s.once('close', () => r()));
    };
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    await send(preface);
    await send(Buffer.from([0x16, 0x03, 0x01, 0x00]));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await got.h2c[0], preface);
    assert.deepEqual(await got.grpc[0], Buffer.from([0x16, 0x03, 0x01, 0x00]));
    assert.deepEqual(mux.stats(), { raft: 0, grpc: 1, h2c: 1, timedOut: 0 });
  });

  it('closes a connection that sends nothing within the bound', async () => {
    mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: () => assert.fail('routed'),
      grpc: () => assert.fail('routed'),
      firstByteTimeoutMs: 100,
    });
    const s = connect({ host: '127.0.0.1', port: mux.port });
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('close', () => r()));
    assert.equal(mux.stats().timedOut, 1);
  });

  it('hands over the native socket (no JS stream wrapper), so TLS wraps its handle directly', async () => {
    const handed: Duplex[] = [];
    mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: (c) => (handed.push(c), c.destroy()),
      grpc: (c) => (handed.push(c), c.destroy()),
    });
    for (const first of [0x01, 0x16]) {
      const s = connect({ host: '127.0.0.1', port: mux.port });
      s.on('error', () => {});
      s.end(Buffer.of(first, 0));
      await new Promise<void>((r) => s.once('close', () => r()));
    }
    assert.equal(handed.length, 2);
    for (const c of handed) assert.ok(c instanceof Socket, `handed a ${c.constructor.name}, not a net.Socket`);
  });

  it('TLS over a handed socket completes even when the routing byte and the ClientHello arrive in one segment', async () => {
    const ca = await createCA({ commonName: 'mux test CA' });
    const server = await issueServerCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const got: Promise<string>[] = [];
    mux = await PortMux.listen({
      host: '127.0.0.1',
      port: 0,
      raft: (c) => {
        const t = new TLSSocket(c, {
          isServer: true,
          key: server.keyPem,
          cert: server.certPem,
        });
        got.push(
          new Promise((resolve, reject) => {
            t.once('data', (d: Buffer) => resolve(d.toString()));
            t.once('error', reject);
          }),
        );
      },
      grpc: () => assert.fail('routed to gRPC'),
    });
    const raw = connect({ host: '127.0.0.1', port: mux.port });
    await new Promise<void>((r) => raw.once('connect', () => r()));
    // Corked: the routing byte and the ClientHello leave in one write, so the mux's first
    // chunk holds both and must put the ClientHello back for TLS.
    raw.cork();
    raw.write(Buffer.of(0x01));
    const t = tlsConnect({ socket: raw, ca: ca.certPem, servername: 'localhost' });
    process.nextTick(() => raw.uncork());
    await new Promise<void>((r, j) => (t.once('secureConnect', () => r()), t.once('error', j)));
    t.write('hello over native TLS');
    assert.equal(await got[0], 'hello over native TLS');
    t.destroy();
  });
});
