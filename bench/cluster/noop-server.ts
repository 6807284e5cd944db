/**
 * The ceiling of `npm run bench:cluster`: a grpc-js server with the same generated
 * log.v1.Log service and mutual TLS as commitlog, whose handlers do nothing (Produce answers
 * at once; ProduceStream answers each request, a batch with one offset per record; ConsumeStream
 * ends). No log, no Raft, no fsync,
 * no ACL, no interceptor. `tsx noop-server.ts PORT CERT KEY CA`.
 */
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, type sendUnaryData, type ServerDuplexStream } from '@grpc/grpc-js';
import { LogService, type ProduceRequest, type ProduceResponse } from '../../node/src/gen/v1/log.js';

const [port, cert, key, ca] = process.argv.slice(2) as [string, string, string, string];
const server = new Server();
let next = 0;
server.addService(LogService, {
  produce: (_c: unknown, cb: sendUnaryData<ProduceResponse>) => cb(null, { offset: next++ }),
  consume: (_c: unknown, cb: sendUnaryData<object>) => cb(null, {}),
  consumeStream: (c: { end(): void }) => c.end(),
  produceStream: (c: ServerDuplexStream<ProduceRequest, ProduceResponse>) => {
    c.on('data', (req: ProduceRequest) => {
      const n = req.batch?.records.length ?? 0;
      if (n === 0) c.write({ offset: next++ });
      else c.write({ offset: next, batch: { offsets: Array.from({ length: n }, () => next++) } });
    });
    c.on('end', () => c.end());
  },
  getServers: (_c: unknown, cb: sendUnaryData<{ servers: [] }>) => cb(null, { servers: [] }),
});
const creds = ServerCredentials.createSsl(
  readFileSync(ca),
  [{ private_key: readFileSync(key), cert_chain: readFileSync(cert) }],
  true,
);
server.bindAsync(`127.0.0.1:${port}`, creds, (err) => {
  if (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
});
