/**
 * Benchmark of the JSON API beside gRPC on one node (`npm run bench:http`). Prints one JSON
 * document. One child process serves both APIs over the same LocalLogBackend (fsync group
 * commit), mutual TLS and the example ACL — CommitLogServer (gRPC) and HttpApiServer (JSON
 * over HTTPS) sharing one certificate provider; this process is the load generator:
 *
 * - produce: unary Produce vs POST /v1/records `{"value": base64}`, 1 and 64 concurrent
 *   callers (gRPC: one channel; HTTP: one keep-alive connection per caller, undici Pool);
 * - read: unary Consume vs GET /v1/records/{offset}, 64 callers, uniform offsets;
 * - stream: ConsumeStream vs the NDJSON tail (`?max=`) over everything produced.
 *
 * 256-byte records. Env: BENCH_HTTP_SECONDS (per phase, default 3). The machine is shared,
 * so the document also gives the server's CPU time per operation (1e6 / serverCpuUsPerOp is
 * what one free core could serve).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { CasbinAuthorizer } from '../node/src/acl/authorizer.js';
import { LogClient, type ConsumeResponse } from '../node/src/gen/v1/log.js';
import { HttpApiServer } from '../node/src/http/api-server.js';
import { silentLogger } from '../node/src/observability/logger.js';
import { LocalLogBackend } from '../node/src/server/local-backend.js';
import { CommitLogServer } from '../node/src/server/server.js';
import { createTestPki, credsFor, isolatedClient, type TestPki } from '../node/src/server/testing/fixtures.js';

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const RECORD_BYTES = 256;
const self = fileURLToPath(import.meta.url);

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---------------------------------------------------------------- child: both servers

async function serve(pkiDir: string, dataDir: string): Promise<void> {
  const files = {
    certFile: join(pkiDir, 'server.pem'),
    keyFile: join(pkiDir, 'server-key.pem'),
    caFile: join(pkiDir, 'ca.pem'),
  };
  const backend = await LocalLogBackend.open(dataDir, { self: { id: 'bench-0', rpcAddr: '127.0.0.1:0' } });
  const authorizer = await CasbinAuthorizer.open({
    modelFile: join(pkiDir, 'model.conf'),
    policyFile: join(pkiDir, 'policy.csv'),
  });
  const logger = silentLogger();
  const grpc = new CommitLogServer({
    backend,
    nodeId: 'bench-0',
    tls: files,
    authorizer: () => authorizer,
    logger,
    config: { requestLogLevel: 'debug' },
  });
  const grpcPort = await grpc.listen('127.0.0.1', 0);
  const certificates = grpc.certificateProvider;
  if (certificates === undefined) throw new Error('no certificate provider');
  const json = await HttpApiServer.listen(
    { backend, certificates, mutual: true, authorizer: () => authorizer, logger, config: { requestLogLevel: 'debug' } },
    '127.0.0.1',
    0,
  );
  process.on('message', () => process.send?.({ cpuUs: cpuUs() }));
  process.send?.({ grpcPort, jsonPort: json.port });
}

// ---------------------------------------------------------------- parent: the load

function childCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs));
    child.send('stats');
  });
}

function percentile(sorted: number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0).toFixed(3));
}

interface Rate {
  readonly callers: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuUsPerOp: number;
}

/** `callers` loops calling `op` for SECONDS after a 0.5 s warm-up; rate, latency and server CPU per op. */
async function closedLoop(child: ChildProcess, callers: number, op: (i: number) => Promise<void>): Promise<Rate> {
  const warmEnd = performance.now() + 500;
  const end = warmEnd + SECONDS * 1000;
  const lat: number[] = [];
  let cpuAtWarm = 0;
  let warmed = false;
  const caller = async (c: number): Promise<void> => {
    for (let i = c; performance.now() < end; i += callers) {
      const t = performance.now();
      if (!warmed && t >= warmEnd) {
        warmed = true;
        cpuAtWarm = await childCpu(child);
      }
      await op(i);
      if (t >= warmEnd) lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
  const cpu = (await childCpu(child)) - cpuAtWarm;
  lat.sort((a, b) => a - b);
  return {
    callers,
    ops: lat.length,
    opsPerSec: Math.round(lat.length / SECONDS),
    p50Ms: percentile(lat, 0.5),
    p99Ms: percentile(lat, 0.99),
    serverCpuUsPerOp: Number((cpu / Math.max(1, lat.length)).toFixed(1)),
  };
}

const unaryCall = <T>(f: (cb: (err: Error | null, res: T) => void) => void): Promise<T> =>
  new Promise((res, rej) => f((e, r) => (e ? rej(e) : res(r))));

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') return serve(process.argv[3] as string, process.argv[4] as string);
  const pki: TestPki = await createTestPki();
  const dataDir = mkdtempSync(join(tmpdir(), 'commitlog-bench-http-'));
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--serve', pki.dir, dataDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { grpcPort, jsonPort } = await new Promise<{ grpcPort: number; jsonPort: number }>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
    const grpc = new LogClient(`127.0.0.1:${grpcPort}`, credsFor(pki, pki.root), isolatedClient);
    const pool = (connections: number): Pool =>
      new Pool(`https://127.0.0.1:${jsonPort}`, {
        connections,
        pipelining: 1,
        connect: { ca: pki.ca.certPem, cert: pki.root.certPem, key: pki.root.keyPem, servername: 'localhost' },
      });
    const value = Buffer.alloc(RECORD_BYTES, 0x61);
    const body = JSON.stringify({ value: value.toString('base64') });
    const grpcProduce = (): Promise<void> =>
      unaryCall((cb) => grpc.produce({ record: { value, offset: 0, term: 0, type: 0 } }, cb)).then(() => undefined);
    const httpProduce = (p: Pool) => async (): Promise<void> => {
      const r = await p.request({
        path: '/v1/records',
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      await r.body.text();
      if (r.statusCode !== 200) throw new Error(`POST /v1/records: ${r.statusCode}`);
    };
    const result: Record<string, unknown> = {
      bench: 'http',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memGiB: Math.round(totalmem() / 2 ** 30),
        loadavg1mAtStart: Number(loadavg()[0]?.toFixed(2)),
      },
      node: process.version,
      secondsPerPhase: SECONDS,
      recordBytes: RECORD_BYTES,
    };
    const p1 = pool(1);
    const p64 = pool(64);
    const produce = {
      grpc1: await closedLoop(child, 1, grpcProduce),
      json1: await closedLoop(child, 1, httpProduce(p1)),
      grpc64: await closedLoop(child, 64, grpcProduce),
      json64: await closedLoop(child, 64, httpProduce(p64)),
    };
    const total = await new Promise<number>((res) =>
      grpc.consume({ offset: Number.MAX_SAFE_INTEGER }, (e) =>
        res(Number(e?.metadata.get('commitlog-next-offset')[0] ?? 0)),
      ),
    );
    const at = (i: number): number => (i * 7919) % total;
    const read = {
      grpc64: await closedLoop(child, 64, (i) =>
        unaryCall((cb) => grpc.consume({ offset: at(i) }, cb)).then(() => undefined),
      ),
      json64: await closedLoop(child, 64, async (i) => {
        const r = await p64.request({ path: `/v1/records/${at(i)}`, method: 'GET' });
        await r.body.text();
        if (r.statusCode !== 200) throw new Error(`GET: ${r.statusCode}`);
      }),
    };
    const streamRate = async (
      f: () => Promise<number>,
    ): Promise<{ records: number; recordsPerSec: number; serverCpuUsPerRecord: number }> => {
      const c0 = await childCpu(child);
      const t0 = performance.now();
      const n = await f();
      const ms = performance.now() - t0;
      const cpu = (await childCpu(child)) - c0;
      return {
        records: n,
        recordsPerSec: Math.round((n / ms) * 1000),
        serverCpuUsPerRecord: Number((cpu / n).toFixed(2)),
      };
    };
    const stream = {
      grpcConsumeStream: await streamRate(
        () =>
          new Promise<number>((resolve, reject) => {
            const s = grpc.consumeStream({ offset: 0 });
            let n = 0;
            s.on('data', (r: ConsumeResponse) => {
              n++;
              if ((r.record?.offset ?? 0) + 1 >= total) {
                s.cancel();
                resolve(n);
              }
            });
            s.on('error', (e: { code?: number }) => (e.code === 1 ? resolve(n) : reject(e as Error)));
          }),
      ),
      jsonTail: await streamRate(async () => {
        const r = await p1.request({ path: `/v1/records/tail?from=0&max=${total}`, method: 'GET' });
        let n = 0;
        for await (const chunk of r.body) for (const b of chunk as Buffer) if (b === 0x0a) n++;
        return n;
      }),
    };
    grpc.close();
    await Promise.all([p1.close(), p64.close()]);
    const ratio = (a: { opsPerSec: number }, b: { opsPerSec: number }): number =>
      Number((a.opsPerSec / Math.max(1, b.opsPerSec)).toFixed(3));
    Object.assign(result, {
      produce,
      read,
      stream,
      ratios: {
        produce1JsonVsGrpc: ratio(produce.json1, produce.grpc1),
        produce64JsonVsGrpc: ratio(produce.json64, produce.grpc64),
        read64JsonVsGrpc: ratio(read.json64, read.grpc64),
        streamJsonVsGrpc: Number(
          (stream.jsonTail.recordsPerSec / Math.max(1, stream.grpcConsumeStream.recordsPerSec)).toFixed(3),
        ),
      },
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    pki.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
