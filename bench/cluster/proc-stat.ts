/**
 * CPU time and resident memory of a process from /proc (Linux), for processes the bench does
 * not run itself (etcd, the agents): `utime + stime` from /proc/<pid>/stat, `VmRSS` from
 * /proc/<pid>/status. Parsers are pure (tested on sample text); readers return 0 when the
 * process is gone.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux port that matters). */
export const USER_HZ = 100;

/**
 * CPU seconds (user + system) in the text of /proc/<pid>/stat. Field 2 (comm) may contain
 * spaces and parentheses, so fields are counted after the last ')'.
 */
export function parseStatCpuSeconds(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc stat line: ${stat}`);
  return (utime + stime) / USER_HZ;
}

/** Resident set size in MiB from the text of /proc/<pid>/status (VmRSS line), or 0 when absent. */
export function parseStatusRssMiB(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m?.[1] === undefined ? 0 : Number(m[1]) / 1024;
}

/** CPU seconds used so far by `pid` (0 when it has exited). */
export function cpuSeconds(pid: number): number {
  try {
    return parseStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/** Resident memory of `pid` in MiB (0 when it has exited). */
export function rssMiB(pid: number): number {
  try {
    return parseStatusRssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** Summed CPU seconds of `pids`. */
export function totalCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((s, p) => s + cpuSeconds(p), 0);
}

/** Read and write syscalls counted so far (`syscr`, `syscw`; all threads) in the text of /proc/<pid>/io. */
export function parseIoSyscalls(io: string): { readonly reads: number; readonly writes: number } {
  const r = /^syscr:\s+(\d+)$/m.exec(io)?.[1];
  const w = /^syscw:\s+(\d+)$/m.exec(io)?.[1];
  if (r === undefined || w === undefined) throw new Error(`unexpected /proc io text: ${io}`);
  return { reads: Number(r), writes: Number(w) };
}

/** Summed read and write syscalls of `pids` so far (a process that has exited counts 0). */
export function totalIoSyscalls(pids: readonly number[]): { readonly reads: number; readonly writes: number } {
  let reads = 0;
  let writes = 0;
  for (const p of pids) {
    try {
      const c = parseIoSyscalls(readFileSync(`/proc/${p}/io`, 'utf8'));
      reads += c.reads;
      writes += c.writes;
    } catch {
      // gone
    }
  }
  return { reads, writes };
}
