/**
 * Benchmark of the segmented log (`npm run bench:log`). Prints one JSON document:
 * buffered appends/s of 256-byte records, durable appends/s through GroupCommit with 64
 * concurrent appenders, sequential and random read records/s, and the time to open
 * (recover) a 1 GiB log, with trusted indexes and with every index file missing.
 * Works in a temporary directory that is removed at the end.
 * Env: BENCH_LOG_RECORDS (default 1,000,000), BENCH_LOG_RECOVERY_GIB (default 1).
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { GroupCommit, Log } from '../node/src/log/index.js';
import { makeTempDir, removeTempDir } from '../node/src/log/testing/temp-dir.js';
import { seededRandom } from '../node/src/log/testing/rng.js';

const RECORD_BYTES = 256;
const RECORDS = Number(process.env.BENCH_LOG_RECORDS ?? 1_000_000);
const RECOVERY_GIB = Number(process.env.BENCH_LOG_RECOVERY_GIB ?? 1);

function perSecond(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

async function bufferedAppends(dir: string): Promise<{ log: Log; appendsPerSec: number; syncMs: number }> {
  const log = await Log.open(join(dir, 'buffered'));
  const value = Buffer.alloc(RECORD_BYTES, 7);
  const start = performance.now();
  for (let i = 0; i < RECORDS; i++) log.append({ value, term: 1 });
  const appendMs = performance.now() - start;
  const syncStart = performance.now();
  await log.sync();
  return { log, appendsPerSec: perSecond(RECORDS, appendMs), syncMs: Math.round(performance.now() - syncStart) };
}

async function groupCommit(dir: string): Promise<object> {
  const log = await Log.open(join(dir, 'group'));
  const group = new GroupCommit(log);
  const value = Buffer.alloc(RECORD_BYTES, 3);
  const durationMs = 3000;
  const start = performance.now();
  let done = 0;
  const appender = async (): Promise<void> => {
    while (performance.now() - start < durationMs) {
      await group.commit({ value, term: 1 });
      done++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, appender));
  const elapsed = performance.now() - start;
  const stats = log.syncStats;
  await log.close();
  return {
    appenders: 64,
    durableAppendsPerSec: perSecond(done, elapsed),
    fsyncRounds: stats.rounds,
    recordsPerRound: Math.round(done / Math.max(1, stats.rounds)),
    fsyncRoundMsAvg: Number((stats.totalMs / Math.max(1, stats.rounds)).toFixed(3)),
    fsyncRoundMsMax: Number(stats.maxMs.toFixed(3)),
  };
}

function sequentialRead(log: Log): number {
  const start = performance.now();
  let offset = log.lowestOffset;
  let count = 0;
  while (offset < log.nextOffset) {
    const records = log.readRange(offset, { maxCount: 4096, maxBytes: 4 * 1024 * 1024 });
    count += records.length;
    offset += records.length;
  }
  if (count !== RECORDS) throw new Error(`read ${count} records, expected ${RECORDS}`);
  return perSecond(count, performance.now() - start);
}

function randomRead(log: Log): number {
  const random = seededRandom(42);
  const reads = Math.min(RECORDS, 300_000);
  const start = performance.now();
  let bytes = 0;
  for (let i = 0; i < reads; i++) bytes += log.read(Math.floor(random() * RECORDS)).value.length;
  if (bytes !== reads * RECORD_BYTES) throw new Error('short random reads');
  return perSecond(reads, performance.now() - start);
}

async function recovery(dir: string): Promise<object> {
  const path = join(dir, 'recovery');
  const log = await Log.open(path);
  const value = Buffer.alloc(RECORD_BYTES, 9);
  const target = RECOVERY_GIB * 1024 ** 3;
  while (log.sizeBytes < target) for (let i = 0; i < 10_000; i++) log.append({ value, term: 1 });
  const records = log.nextOffset;
  const bytes = log.sizeBytes;
  await log.close();

  let start = performance.now();
  const reopened = await Log.open(path);
  const openMs = performance.now() - start;
  if (reopened.nextOffset !== records) throw new Error('recovery lost records');
  const segments = reopened.segmentCount;
  await reopened.close();

  // Worst case: every index file lost, each store scanned and checksummed in full.
  for (const name of readdirSync(path)) if (name.endsWith('.index')) unlinkSync(join(path, name));
  start = performance.now();
  const rebuilt = await Log.open(path);
  const rebuildMs = performance.now() - start;
  if (rebuilt.nextOffset !== records) throw new Error('index rebuild lost records');
  await rebuilt.close();
  return {
    storeBytes: bytes,
    records,
    segments,
    openMs: Math.round(openMs),
    openWithoutIndexesMs: Math.round(rebuildMs),
  };
}

const dir = makeTempDir('bench-log');
try {
  const buffered = await bufferedAppends(dir);
  const sequential = sequentialRead(buffered.log);
  const random = randomRead(buffered.log);
  await buffered.log.close();
  const group = await groupCommit(dir);
  const recovered = await recovery(dir);
  const cpu = cpus()[0];
  console.log(
    JSON.stringify(
      {
        bench: 'log',
        date: new Date().toISOString(),
        machine: {
          cpu: cpu?.model,
          cores: cpus().length,
          memGiB: Math.round(totalmem() / 1024 ** 3),
          node: process.version,
          platform: process.platform,
          loadAvg1m: Number(loadavg()[0]?.toFixed(1)),
        },
        recordBytes: RECORD_BYTES,
        records: RECORDS,
        bufferedAppendsPerSec: buffered.appendsPerSec,
        finalSyncMs: buffered.syncMs,
        groupCommit: group,
        sequentialReadRecordsPerSec: sequential,
        randomReadRecordsPerSec: random,
        recovery: recovered,
      },
      null,
      2,
    ),
  );
} finally {
  removeTempDir(dir);
}
