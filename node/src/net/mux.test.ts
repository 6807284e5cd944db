import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { PortMux } from './mux.js';

function readAll(d: Duplex): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    d.on('data', (c: Buffer) => parts.push(c));
    d.on('end', () => resolve(Buffer.concat(parts)));
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
});
