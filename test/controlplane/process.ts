/**
 * A control-plane child process: started with its output in a log file, stopped by pid
 * (SIGTERM, then SIGKILL after a bound), and registered with an exit-time cleanup so that
 * an interrupted or crashed test run does not leave etcd or kube-apiserver running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a process ended: exit code or signal. */
export type ExitStatus = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

const live = new Set<ManagedProcess>();
const dirs = new Set<string>();
let hooked = false;

/** Kills every live process (SIGKILL) and removes registered directories, synchronously. */
function cleanupNow(): void {
  for (const p of live) p.killNow();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', cleanupNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      cleanupNow();
      // Re-raise with the default action so the exit status still says "killed by signal".
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

/** Registers a directory to delete at process exit if {@link unregisterTempDir} was not called. */
export function registerTempDir(dir: string): void {
  installExitHooks();
  dirs.add(dir);
}

/** Forgets a directory registered with {@link registerTempDir} (the owner removed or kept it). */
export function unregisterTempDir(dir: string): void {
  dirs.delete(dir);
}

/** A running child process whose stdout and stderr go to `logPath`. */
export class ManagedProcess {
  readonly #child: ChildProcess;
  #exit: ExitStatus | null = null;
  readonly #exited: Promise<ExitStatus>;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    this.#exited = new Promise((res) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        live.delete(this);
        res(this.#exit);
      });
    });
  }

  /** Starts `binary args…`; throws if the binary cannot be spawned at all. */
  static async start(name: string, binary: string, args: readonly string[], logPath: string): Promise<ManagedProcess> {
    installExitHooks();
    const fd = openSync(logPath, 'a');
    try {
      const child = spawn(binary, args, { stdio: ['ignore', fd, fd] });
      const p = new ManagedProcess(name, logPath, child);
      live.add(p);
      await Promise.race([once(child, 'spawn'), once(child, 'error').then(([e]) => Promise.reject(e as Error))]);
      return p;
    } finally {
      closeSync(fd);
    }
  }

  /** Process id. */
  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid`);
    return pid;
  }

  /** `null` while running, else how it ended. */
  get exitStatus(): ExitStatus | null {
    return this.#exit;
  }

  /** Resolves when the process exits. */
  get exited(): Promise<ExitStatus> {
    return this.#exited;
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGKILL now, without waiting (exit-time cleanup). */
  killNow(): void {
    if (this.#exit === null) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  /** SIGTERM, wait up to `timeoutMs`, then SIGKILL and wait for the exit. Idempotent. */
  async stop(timeoutMs: number): Promise<ExitStatus> {
    if (this.#exit !== null) return this.#exit;
    this.#child.kill('SIGTERM');
    const ac = new AbortController();
    const graceful = await Promise.race([
      this.#exited,
      sleep(timeoutMs, null, { signal: ac.signal }).catch(() => null),
    ]);
    ac.abort();
    if (graceful !== null) return graceful;
    this.#child.kill('SIGKILL');
    return this.#exited;
  }

  /** Human-readable description of an unexpected exit, with the log tail. */
  describeExit(): string {
    const s = this.#exit;
    const how =
      s === null ? 'is running' : s.signal !== null ? `was killed by ${s.signal}` : `exited with code ${s.code}`;
    return `${this.name} (pid ${this.#child.pid}) ${how}; last lines of ${this.logPath}:\n${this.logTail()}`;
  }
}
