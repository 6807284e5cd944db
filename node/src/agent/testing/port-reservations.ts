/**
 * Port reservations shared by every test process on the machine (the real-process fixtures'
 * {@link freePort}). A port checked free is not yet bound: between the check and the agent's
 * bind, another test process (a second stress series, a CI run beside it) could check the
 * same port free and hand it out too — a stress run saw an agent exit with "cannot listen for
 * HTTP on 127.0.0.1:10796: EADDRINUSE" while two mocha processes picked ports. So a port is
 * handed out only by the process that created its reservation file, `<dir>/<port>`, with
 * O_EXCL (one creator wins), holding its pid. The files go when the process exits; the file
 * of a process that is gone (killed) is taken over. The only gap left is two processes taking
 * over the same dead process's file at the same instant.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from './pid-alive.js';

/** Where the reservation files live (one per port). */
export const RESERVATIONS_DIR = join(tmpdir(), 'commitlog-test-ports');

/** The reservation files this process created: file → its directory. */
const mine = new Map<string, string>();
let cleanupArmed = false;

function create(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Reserves `port` for this process: true when this process holds it now (it created the
 * file, or took over the file of a process that is gone), false when another live process
 * holds it. Reservations last until this process exits.
 */
export function reservePort(port: number, dir = RESERVATIONS_DIR): boolean {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, String(port));
  let won = create(file);
  if (!won) {
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (owner === process.pid) return false; // this process holds it: never handed out twice
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) return false;
    try {
      unlinkSync(file);
    } catch {
      // another process took it over first
    }
    won = create(file);
  }
  if (won) {
    mine.set(file, dir);
    if (!cleanupArmed) {
      cleanupArmed = true;
      process.once('exit', () => releaseAll());
    }
  }
  return won;
}

/** Removes this process's reservation files (in `dir` only, when given): on exit, and in tests. */
export function releaseAll(dir?: string): void {
  for (const [f, d] of [...mine]) {
    if (dir !== undefined && d !== dir) continue;
    mine.delete(f);
    try {
      if (Number(readFileSync(f, 'utf8').trim()) === process.pid) unlinkSync(f);
    } catch {
      // already gone
    }
  }
}
