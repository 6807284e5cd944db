/**
 * Resident memory of a process group, read from /proc (Linux): what `test:stress` samples
 * to catch a test run whose memory runs away (one `npm test` was OOM-killed by the kernel
 * with the mocha process at 23 GB, and did not reproduce) before the kernel does, and to
 * say which process it was.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One process of the group. */
export interface ProcessMemory {
  readonly pid: number;
  readonly rssMb: number;
  /** The start of its command line. */
  readonly cmd: string;
}

/** The group's total and its largest process. */
export interface GroupMemory {
  readonly totalMb: number;
  readonly processes: number;
  readonly largest: ProcessMemory | undefined;
}

const PAGE = 4096;

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** Memory of every process whose process group is `pgid` (`procRoot` for tests). */
export function groupMemory(pgid: number, procRoot = '/proc'): GroupMemory {
  let totalMb = 0;
  let processes = 0;
  let largest: ProcessMemory | undefined;
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(join(procRoot, name, 'stat'), 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const f = statFields(stat);
    // After the name: state(0) ppid(1) pgrp(2) … rss(21), in pages (proc(5)).
    if (Number(f[2]) !== pgid) continue;
    const rssMb = (Number(f[21]) * PAGE) / 2 ** 20;
    processes++;
    totalMb += rssMb;
    if (largest === undefined || rssMb > largest.rssMb) {
      let cmd = '';
      try {
        cmd = readFileSync(join(procRoot, name, 'cmdline'), 'utf8')
          .replaceAll('\0', ' ')
          .trim()
          .slice(0, 200);
      } catch {
        /* exited */
      }
      largest = { pid: Number(name), rssMb, cmd };
    }
  }
  return { totalMb, processes, largest };
}

/** The anonymous/file split of one process (/proc/<pid>/smaps_rollup), for a memory finding. */
export function memoryBreakdown(pid: number, procRoot = '/proc'): string {
  try {
    return readFileSync(join(procRoot, String(pid), 'smaps_rollup'), 'utf8')
      .split('\n')
      .filter((l) => /^(Rss|Anonymous|Pss_File|Pss_Anon|Swap):/.test(l))
      .map((l) => l.replace(/\s+/g, ' '))
      .join('; ');
  } catch (e) {
    return `no smaps_rollup: ${(e as Error).message}`;
  }
}
