/**
 * Test helper: runs gossip members as child processes (testdata/member.ts) and waits for
 * the JSON lines they print. Used only by the loopback integration tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const SCRIPT = fileURLToPath(new URL('../testdata/member.ts', import.meta.url));

/** One line printed by a member. */
export type Line = { readonly type: string } & Record<string, unknown>;

/** A member process. */
export class MemberProcess {
  readonly lines: Line[] = [];
  private waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  private readonly child: ChildProcess;
  addr = '';
  exited = false;

  constructor(
    readonly name: string,
    config: object,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify({ name, ...config })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.on('exit', () => (this.exited = true));
    const stdout = this.child.stdout;
    if (stdout === null) throw new Error('no stdout');
    createInterface({ input: stdout }).on('line', (raw) => {
      let l: Line;
      try {
        l = JSON.parse(raw) as Line;
      } catch {
        return;
      }
      this.lines.push(l);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(l)) return true;
        w.resolve(l);
        return false;
      });
    });
  }

  /** Waits for the first line (past or future) matching `pred`, failing after `ms`. */
  waitFor(pred: (l: Line) => boolean, ms: number, what: string): Promise<Line> {
    const seen = this.lines.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (l: Line) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${this.name}: no ${what} within ${ms} ms; lines: ${JSON.stringify(this.lines.slice(-8))}`));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** Waits for a membership event about `member`. */
  event(type: string, member: string, ms = 8000): Promise<Line> {
    return this.waitFor(
      (l) => l.type === 'event' && l.event === type && l.member === member,
      ms,
      `${type} event for ${member}`,
    );
  }

  /** Starts and waits until the member prints its address. */
  async ready(ms = 10_000): Promise<this> {
    const l = await this.waitFor((x) => x.type === 'ready', ms, 'ready');
    this.addr = String(l.addr);
    return this;
  }

  /** Sends a command line. */
  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** kill -9 by pid. */
  kill9(): void {
    if (this.child.pid !== undefined && !this.exited) process.kill(this.child.pid, 'SIGKILL');
  }

  /** Waits for exit (kills after `ms`). */
  async exit(ms = 5000): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.kill9();
      }, ms);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Ends the member: closes stdin (clean stop) and waits, killing if needed. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.child.stdin?.end();
    await this.exit(3000);
  }
}
