import assert from 'node:assert/strict';
import { Client, credentials, Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { MessageWriter } from './message-writer.js';

const method = {
  path: '/test.Stream/Numbers',
  requestStream: false,
  responseStream: true,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (n: number) => Buffer.from(String(n)),
  responseDeserialize: (b: Buffer) => Number(b.toString()),
} as const;

describe('MessageWriter (pipelined server-stream writes)', () => {
  it("uses grpc-js's sendMessage with a bounded window and delivers every message in order", async () => {
    const server = new Server();
    let pipelined: boolean | undefined;
    let maxInFlight = 0;
    server.addService(
      { numbers: method },
      {
        numbers: (call: ServerWritableStream<Buffer, number>) => {
          void (async () => {
            const ac = new AbortController();
            const writer = new MessageWriter(call, 8);
            pipelined = writer.pipelined;
            for (let i = 0; i < 2000; i++) if (!writer.write(i)) await writer.waitForRoom(ac.signal);
            await writer.flushed(ac.signal);
            maxInFlight = writer.maxInFlight;
            call.end();
          })();
        },
      },
    );
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const got: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = client.makeServerStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          Buffer.alloc(0),
        );
        s.on('data', (n: number) => got.push(n));
        s.on('end', resolve);
        s.on('error', reject);
      });
      assert.equal(pipelined, true, "grpc-js exposes the call's sendMessage (else the fallback is used)");
      assert.equal(got.length, 2000);
      assert.ok(
        got.every((n, i) => n === i),
        'in order',
      );
      assert.ok(maxInFlight <= 8, `window respected (saw ${maxInFlight})`);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
