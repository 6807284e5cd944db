import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Log } from './log.js';
import { isValueFor } from './testing/crash-values.js';
import { seededRandom, seedFromEnv } from './testing/rng.js';
import { makeTempDir, removeTempDir } from './testing/temp-dir.js';

const CHILD = fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url));
const ROUNDS = Number(process.env.LOG_CRASH_ROUNDS ?? 20);

/** Runs the child until it has acknowledged something, then SIGKILLs it after `delayMs`. */
function runAndKill(dir: string, seed: number, delayMs: number): Promise<{ maxSynced: number; ready: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killTimer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!killTimer && out.includes('synced')) killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited by itself (${signal ?? _code}): ${err}`));
      let maxSynced = -1;
      for (const line of out.split('\n')) {
        const m = /^synced (\d+)$/.exec(line);
        if (m) maxSynced = Math.max(maxSynced, Number(m[1]));
      }
      resolve({ maxSynced, ready: out.startsWith('ready') });
    });
  });
}

describe('crash safety (SIGKILL during appends and syncs)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = makeTempDir('crash')));
  afterEach(() => removeTempDir(dir));

  it(`after each of ${ROUNDS} kills every acknowledged record is present and intact, and nothing corrupt is returned`, async function () {
    const seed = seedFromEnv('LOG_CRASH_SEED');
    const random = seededRandom(seed);
    const replay = `replay with LOG_CRASH_SEED=${seed} npx mocha node/src/log/crash.test.ts`;
    let acknowledged = -1;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const { maxSynced, ready } = await runAndKill(dir, Math.floor(random() * 2 ** 32), Math.floor(random() * 120));
        assert.ok(ready, 'child started');
        acknowledged = Math.max(acknowledged, maxSynced);
        const log = await Log.open(dir, { maxStoreBytes: 64 * 1024 });
        try {
          assert.ok(
            log.nextOffset > acknowledged,
            `round ${round}: acknowledged ${acknowledged} but nextOffset is ${log.nextOffset}`,
          );
          let offset = log.lowestOffset;
          while (offset < log.nextOffset) {
            const records = log.readRange(offset, { maxCount: 5000 });
            for (const r of records) {
              assert.equal(r.offset, offset, `round ${round}: offsets are consecutive`);
              assert.ok(isValueFor(r.offset, r.value), `round ${round}: record ${r.offset} is intact`);
              offset++;
            }
          }
          assert.equal(log.toDataOffset(log.nextOffset), log.nextDataOffset);
        } finally {
          await log.close();
        }
      }
      assert.ok(acknowledged > 0, 'the children acknowledged records');
    } catch (err) {
      console.error(`crash test failed; ${replay}`);
      throw err;
    }
  });
});
