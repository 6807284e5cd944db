/**
 * Benchmark of one node's gRPC server on loopback (`npm run bench:server`). Prints one JSON
 * document. The servers run as child processes (mutual TLS, the example ACL); this
 * process is the load generator:
 *
 * - ceiling: a no-op grpc-js server with the same generated service and mutual TLS,
 *   whose Produce answers at once (no log, no fsync, no ACL, no interceptor);
 * - commitlog: CommitLogServer over LocalLogBackend (fsync group commit), ACL, metrics,
 *   request log at "debug" (not written at the default "info" level).
 *
 * Workloads: unary Produce with 1 and 64 concurrent callers (both servers, one channel),
 * ProduceStream with 256 records in flight (256-byte records, durable), ConsumeStream of
 * everything produced so far. Env: BENCH_SERVER_SECONDS (per phase, default 3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { CasbinAuthorizer } from '../node/src/acl/authorizer.js';
import {
  LogClient,
  LogService,
  type ConsumeResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../node/src/gen/v1/log.js';
import { CommitLogServer } from '../node/src/server/server.js';
import { LocalLogBackend } from '../node/src/server/local-backend.js';
import { createTestPki, credsFor, isolatedClient, type TestPki } from '../node/src/server/testing/fixtures.js';
import { serverTls } from '../node/src/tls/credentials.js';
import { silentLogger } from '../node/src/observability/logger.js';
import { NodeMetrics } from '../node/src/observability/metrics.js';

const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 3);
const RECORD_BYTES = 256;
const self = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- child: the servers

/** CPU time (user + system) this process has used, in microseconds. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function serve(mode: string, pkiDir: string, dataDir: string): Promise<void> {
  const files = {
    certFile: join(pkiDir, 'server.pem'),
    keyFile: join(pkiDir, 'server-key.pem'),
    caFile: join(pkiDir, 'ca.pem'),
  };
  let port: number;
  if (mode === 'noop') {
    const tls = serverTls(files);
    const server = new Server();
    let next = 0;
    server.addService(LogService, {
      produce: (_c: ServerUnaryCall<ProduceRequest, ProduceResponse>, cb: sendUnaryData<ProduceResponse>) =>
        cb(null, { offset: next++ }),
      consume: (_c: unknown, cb: sendUnaryData<ConsumeResponse>) => cb(null, {}),
      consumeStream: (c: { end(): void }) => c.end(),
      produceStream: (c: { end(): void }) => c.end(),
      getServers: (_c: unknown, cb: sendUnaryData<{ servers: [] }>) => cb(null, { servers: [] }),
    });
    port = await new Promise((res, rej) =>
      server.bindAsync('127.0.0.1:0', tls.credentials, (e, p) => (e ? rej(e) : res(p))),
    );
    process.on('message', () => process.send?.({ cpuUs: cpuUs() }));
  } else {
    const backend = await LocalLogBackend.open(dataDir, { self: { id: 'bench-0', rpcAddr: '127.0.0.1:0' } });
    const metrics = new NodeMetrics();
    backend.onSync((e) => metrics.fsyncSeconds.observe(e.durationMs / 1000));
    const authorizer = await CasbinAuthorizer.open({
      modelFile: join(pkiDir, 'model.conf'),
      policyFile: join(pkiDir, 'policy.csv'),
    });
    const server = new CommitLogServer({
      backend,
      nodeId: 'bench-0',
      tls: files,
      authorizer: () => authorizer,
      logger: silentLogger(),
      metrics,
      config: { requestLogLevel: 'debug' },
    });
    port = await server.listen('127.0.0.1', 0);
    process.on('message', () => {
      const st = backend.log.syncStats;
      process.send?.({ cpuUs: cpuUs(), fsyncRounds: st.rounds, fsyncMsTotal: st.totalMs });
    });
  }
  process.send?.({ port });
}

// ---------------------------------------------------------------- parent: the load

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
}

async function start(mode: 'noop' | 'commitlog', pki: TestPki, dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--serve', mode, pki.dir, dataDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${mode} server exited (${code})`)));
  });
  return { child, port };
}

interface ChildStats {
  readonly cpuUs: number;
  readonly fsyncRounds?: number;
  readonly fsyncMsTotal?: number;
}

function stats(child: ChildProcess): Promise<ChildStats> {
  return new Promise((resolve) => {
    child.once('message', (m: ChildStats) => resolve(m));
    child.send('stats');
  });
}

/**
 * Runs a phase and adds the server's and the load generator's CPU time per operation:
 * the machine is shared, so wall-clock rates depend on the load; CPU per operation does
 * not (much), and 1e6 / serverCpuUsPerOp is the rate one free core could serve.
 */
async function phase<T extends object>(
  child: ChildProcess,
  ops: (r: T) => number,
  run: () => Promise<T>,
): Promise<T & object> {
  const before = await stats(child);
  const clientBefore = process.cpuUsage();
  const r = await run();
  const clientCpu = process.cpuUsage(clientBefore);
  const after = await stats(child);
  const n = Math.max(1, ops(r));
  const out: Record<string, number> = {
    serverCpuUsPerOp: Number(((after.cpuUs - before.cpuUs) / n).toFixed(2)),
    clientCpuUsPerOp: Number(((clientCpu.user + clientCpu.system) / n).toFixed(2)),
  };
  if (after.fsyncRounds !== undefined && before.fsyncRounds !== undefined) {
    const rounds = after.fsyncRounds - before.fsyncRounds;
    out.fsyncRounds = rounds;
    out.recordsPerFsync = Number((n / Math.max(1, rounds)).toFixed(1));
    out.fsyncMsAvg = Number(
      (((after.fsyncMsTotal ?? 0) - (before.fsyncMsTotal ?? 0)) / Math.max(1, rounds)).toFixed(3),
    );
  }
  return { ...r, ...out };
}

function percentile(sorted: number[], p: number): number {
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0).toFixed(3));
}

async function unary(
  client: LogClient,
  callers: number,
): Promise<{ callers: number; ops: number; allOps: number; opsPerSec: number; p50Ms: number; p99Ms: number }> {
  const value = Buffer.alloc(RECORD_BYTES, 1);
  const warmEnd = performance.now() + 500;
  const end = warmEnd + SECONDS * 1000;
  const lat: number[] = [];
  let ops = 0;
  let allOps = 0;
  const caller = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await new Promise<void>((res, rej) =>
        client.produce({ record: { value, offset: 0, term: 0, type: 0 } }, (e) => (e ? rej(e) : res())),
      );
      allOps++;
      if (t >= warmEnd) {
        ops++;
        lat.push(performance.now() - t);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  lat.sort((a, b) => a - b);
  return {
    callers,
    ops,
    allOps,
    opsPerSec: Math.round(ops / SECONDS),
    p50Ms: percentile(lat, 0.5),
    p99Ms: percentile(lat, 0.99),
  };
}

async function produceStream(
  client: LogClient,
  inFlight: number,
): Promise<{ inFlight: number; recordBytes: number; records: number; durableRecordsPerSec: number }> {
  const value = Buffer.alloc(RECORD_BYTES, 2);
  const stream = client.produceStream();
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let sent = 0;
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (sent - acked < inFlight && performance.now() < end) {
        sent++;
        stream.write({ record: { value, offset: 0, term: 0, type: 0 } });
      }
      if (performance.now() >= end && acked === sent) stream.end();
    };
    stream.on('data', (_r: ProduceResponse) => {
      acked++;
      pump();
    });
    stream.on('end', resolve);
    stream.on('error', reject);
    pump();
  });
  const ms = performance.now() - start;
  return { inFlight, recordBytes: RECORD_BYTES, durableRecordsPerSec: Math.round((acked / ms) * 1000), records: acked };
}

async function consumeStream(client: LogClient, upTo: number): Promise<{ records: number; recordsPerSec: number }> {
  const stream = client.consumeStream({ offset: 0 });
  const start = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (r: ConsumeResponse) => {
      if (++n >= upTo || (r.record?.offset ?? 0) + 1 >= upTo) {
        stream.cancel();
        resolve();
      }
    });
    stream.on('error', (e: { code?: number }) => (e.code === 1 ? resolve() : reject(e as Error)));
  });
  const ms = performance.now() - start;
  return { records: n, recordsPerSec: Math.round((n / ms) * 1000) };
}

async function main(): Promise<void> {
  const pki = await createTestPki();
  const dataDir = mkdtempSync(join(tmpdir(), 'commitlog-bench-server-'));
  const started: Started[] = [];
  try {
    const result: Record<string, unknown> = {
      bench: 'server',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memGiB: Math.round(totalmem() / 2 ** 30),
        loadavg1mAtStart: Number(loadavg()[0]?.toFixed(2)),
      },
      node: process.version,
      secondsPerPhase: SECONDS,
    };
    const noop = await start('noop', pki, dataDir);
    started.push(noop);
    const noopClient = new LogClient(`127.0.0.1:${noop.port}`, credsFor(pki, pki.root), isolatedClient);
    const byOps = (r: { allOps: number }): number => r.allOps;
    const byRecords = (r: { records: number }): number => r.records;
    const ceiling1 = await phase(noop.child, byOps, () => unary(noopClient, 1));
    const ceiling64 = await phase(noop.child, byOps, () => unary(noopClient, 64));
    noopClient.close();
    noop.child.kill('SIGKILL');

    const cl = await start('commitlog', pki, dataDir);
    started.push(cl);
    const client = new LogClient(`127.0.0.1:${cl.port}`, credsFor(pki, pki.root), isolatedClient);
    const u1 = await phase(cl.child, byOps, () => unary(client, 1));
    const u64 = await phase(cl.child, byOps, () => unary(client, 64));
    const ps = await phase(cl.child, byRecords, () => produceStream(client, 256));
    const total = await new Promise<number>((res) =>
      client.consume({ offset: Number.MAX_SAFE_INTEGER }, (e) =>
        res(Number(e?.metadata.get('commitlog-next-offset')[0] ?? 0)),
      ),
    );
    const cs = await phase(cl.child, byRecords, () => consumeStream(client, total));
    client.close();
    const ops = (o: { opsPerSec: number }): number => o.opsPerSec;
    Object.assign(result, {
      ceilingNoop: { unary1: ceiling1, unary64: ceiling64 },
      commitlog: { unary1: u1, unary64: u64, produceStream: ps, consumeStream: cs },
      ratios: {
        unary1VsCeiling: Number((ops(u1) / ops(ceiling1)).toFixed(3)),
        unary64VsCeiling: Number((ops(u64) / ops(ceiling64)).toFixed(3)),
      },
      targets: {
        unary64AtLeast80PctOfCeiling: ops(u64) >= 0.8 * ops(ceiling64),
        produceStreamAtLeast50kPerSec: ps.durableRecordsPerSec >= 50_000,
        consumeStreamAtLeast200kPerSec: cs.recordsPerSec >= 200_000,
      },
    });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    pki.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] ?? 'noop', process.argv[4] ?? '', process.argv[5] ?? '');
else await main();
