/**
 * Reaping what an earlier test run left behind when it was killed with SIGKILL (no exit
 * hook runs then): each control plane records its owner pid and child pids in
 * `<dir>/owner.json`; a later start removes directories whose owner is dead and kills their
 * children — only pids whose command line still names that directory, so a recycled pid is
 * never touched.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../../node/src/agent/testing/pid-alive.js';

/** Prefix of every control plane's temporary directory in the OS temp dir. */
export const tempDirPrefix = 'commitlog-cp-';

interface OwnerFile {
  readonly ownerPid: number;
  readonly pids: readonly number[];
}

/** Records (overwrites) the owner file of `dir`. */
export function writeOwnerFile(dir: string, pids: readonly number[]): void {
  const o: OwnerFile = { ownerPid: process.pid, pids };
  writeFileSync(join(dir, 'owner.json'), JSON.stringify(o));
}

function cmdlineMentions(pid: number, text: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** Kills orphans of dead owners and removes their directories; returns the directories reaped. */
export function reapStale(root = tmpdir()): string[] {
  const reaped: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(root).filter((e) => e.startsWith(tempDirPrefix));
  } catch {
    return reaped;
  }
  for (const e of entries) {
    const dir = join(root, e);
    let owner: OwnerFile;
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as OwnerFile;
    } catch {
      continue; // Being created right now, or not ours: leave it.
    }
    if (pidAlive(owner.ownerPid)) continue;
    for (const pid of owner.pids) {
      if (pidAlive(pid) && cmdlineMentions(pid, dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Exited meanwhile.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
