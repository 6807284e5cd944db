/**
 * The one load generator of `npm run bench:cluster`, used for every target alike: closed
 * loops of unary calls, a ProduceStream with a fixed number of records in flight, and a
 * ConsumeStream read. Each run has a warm-up, then a measured window; the servers' CPU time
 * is read from /proc at the window's edges (proc-stat.ts), so CPU per operation counts only
 * the window.
 */
import { loadavg } from 'node:os';
import type { ConsumeResponse, LogClient, ProduceResponse } from '../../node/src/gen/v1/log.js';
import { cpuSeconds, totalCpuSeconds, totalIoSyscalls } from './proc-stat.js';
import { percentile } from './summary.js';

/** Size of every produced value (the 256-byte values). */
export const VALUE_BYTES = 256;

/** Window of one run. */
export interface Window {
  readonly warmupMs: number;
  readonly measureMs: number;
}

/** What a run measured. */
export interface RunResult {
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly serverCpuUsPerOp: number;
  /** ProduceStream: CPU µs per op of each server, in the order of the `pids` given. */
  readonly cpuUsPerOpByPid?: readonly number[];
  /** ProduceStream: read and write syscalls (/proc/<pid>/io syscr, syscw) of all servers per op. */
  readonly syscallsPerOp?: { readonly reads: number; readonly writes: number };
  readonly load1: number;
  readonly errors: number;
}

/** A unary operation: resolves on success, rejects with the call's error. */
export type UnaryOp = () => Promise<void>;

/** `callers` closed loops of `op`; counts successes that started inside the window. */
export async function closedLoop(op: UnaryOp, callers: number, w: Window, pids: readonly number[]): Promise<RunResult> {
  const load1 = loadavg()[0] ?? 0;
  const t0 = performance.now();
  const warmEnd = t0 + w.warmupMs;
  const end = warmEnd + w.measureMs;
  let cpuStart = 0;
  const cpuTimer = setTimeout(() => (cpuStart = totalCpuSeconds(pids)), w.warmupMs);
  let cpuEnd = 0;
  const endTimer = setTimeout(() => (cpuEnd = totalCpuSeconds(pids)), w.warmupMs + w.measureMs);
  const lat: number[] = [];
  let errors = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await op();
        if (t >= warmEnd && t < end) lat.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  clearTimeout(cpuTimer);
  clearTimeout(endTimer);
  if (cpuEnd === 0) cpuEnd = totalCpuSeconds(pids);
  lat.sort((a, b) => a - b);
  return {
    ops: lat.length,
    opsPerSec: Math.round(lat.length / (w.measureMs / 1000)),
    p50Ms: percentile(lat, 0.5),
    p99Ms: percentile(lat, 0.99),
    serverCpuUsPerOp: Math.round(((cpuEnd - cpuStart) * 1e6) / Math.max(1, lat.length)),
    load1,
    errors,
  };
}

/** Unary Produce of one 256-byte record. */
export function produceOp(client: LogClient): UnaryOp {
  const value = Buffer.alloc(VALUE_BYTES, 0x61);
  return () =>
    new Promise<void>((res, rej) =>
      client.produce({ record: { value, offset: 0, term: 0, type: 0 } }, (e) => (e ? rej(e) : res())),
    );
}

/**
 * ProduceStream keeping `inFlight` records unacknowledged; counts records acknowledged
 * inside the window (each one = a record committed on a quorum and fdatasynced there).
 * With `batch` > 0 each request carries `batch` records (ProduceRequest.batch, answered by
 * one response with every offset); 0 sends one record per request, as the book's clients.
 */
export async function produceStream(
  client: LogClient,
  inFlight: number,
  w: Window,
  pids: readonly number[],
  batch = 0,
): Promise<RunResult> {
  const load1 = loadavg()[0] ?? 0;
  const value = Buffer.alloc(VALUE_BYTES, 0x62);
  const record = { value, offset: 0, term: 0, type: 0 };
  const perRequest = Math.max(1, batch);
  const request = batch > 0 ? { batch: { records: Array.from({ length: batch }, () => record) } } : { record };
  const stream = client.produceStream();
  const t0 = performance.now();
  const warmEnd = t0 + w.warmupMs;
  const end = warmEnd + w.measureMs;
  let cpuStart = 0;
  let byPidStart: number[] = [];
  let byPidEnd: number[] = [];
  let ioStart = { reads: 0, writes: 0 };
  let ioEnd = ioStart;
  let ackedAtWarm = 0;
  let warm = false;
  let sent = 0;
  let acked = 0;
  let cpuEnd = 0;
  let ackedAtEnd = -1;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      const now = performance.now();
      if (!warm && now >= warmEnd) {
        warm = true;
        cpuStart = totalCpuSeconds(pids);
        byPidStart = pids.map(cpuSeconds);
        ioStart = totalIoSyscalls(pids);
        ackedAtWarm = acked;
      }
      if (now >= end && ackedAtEnd < 0) {
        ackedAtEnd = acked;
        cpuEnd = totalCpuSeconds(pids);
        byPidEnd = pids.map(cpuSeconds);
        ioEnd = totalIoSyscalls(pids);
      }
      while (sent - acked + perRequest <= inFlight && now < end) {
        sent += perRequest;
        stream.write(request);
      }
      if (now >= end && acked === sent) stream.end();
    };
    stream.on('data', (r: ProduceResponse) => {
      const n = batch > 0 ? (r.batch?.offsets.length ?? 0) : 1;
      if (n !== perRequest) {
        reject(new Error(`a batch of ${perRequest} was acknowledged with ${n} offsets`));
        return;
      }
      acked += n;
      pump();
    });
    stream.on('end', resolve);
    stream.on('error', reject);
    pump();
  });
  const ops = ackedAtEnd - ackedAtWarm;
  const perOp = (d: number, scale = 1): number => Math.round((d * scale * 100) / Math.max(1, ops)) / 100;
  return {
    ops,
    opsPerSec: Math.round(ops / (w.measureMs / 1000)),
    serverCpuUsPerOp: Math.round(((cpuEnd - cpuStart) * 1e6) / Math.max(1, ops)),
    cpuUsPerOpByPid: byPidEnd.map((e, i) => perOp(e - (byPidStart[i] ?? 0), 1e6)),
    syscallsPerOp: { reads: perOp(ioEnd.reads - ioStart.reads), writes: perOp(ioEnd.writes - ioStart.writes) },
    load1,
    errors: 0,
  };
}

/**
 * ConsumeStream from offset 0 until `upTo` records arrived (no warm-up: the whole read is
 * the window). With `batchRecords` > 0 it asks for batches (ConsumeRequest.batch_records);
 * 0 reads one record per message, as the book's clients.
 */
export async function consumeStream(
  client: LogClient,
  upTo: number,
  pids: readonly number[],
  batchRecords = 0,
): Promise<RunResult> {
  const load1 = loadavg()[0] ?? 0;
  const cpu0 = totalCpuSeconds(pids);
  const t0 = performance.now();
  const stream = client.consumeStream(batchRecords > 0 ? { offset: 0, batchRecords } : { offset: 0 });
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (r: ConsumeResponse) => {
      n += r.batch ? r.batch.records.length : 1;
      if (n >= upTo) {
        stream.cancel();
        resolve();
      }
    });
    stream.on('error', (e: { code?: number }) => (e.code === 1 ? resolve() : reject(e as Error)));
  });
  const ms = performance.now() - t0;
  const cpu = totalCpuSeconds(pids) - cpu0;
  return {
    ops: n,
    opsPerSec: Math.round((n / ms) * 1000),
    serverCpuUsPerOp: Number(((cpu * 1e6) / Math.max(1, n)).toFixed(2)),
    load1,
    errors: 0,
  };
}
