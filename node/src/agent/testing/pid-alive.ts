/**
 * Whether a process exists, for the fixtures that clean up after test processes that are
 * gone (port reservations here, the control plane's orphan reaper in test/controlplane).
 */

/**
 * Whether the process `pid` exists: signal 0 checks without sending a signal. EPERM means it
 * exists but belongs to another user, so it counts as alive (its files are not ours to take).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
