/**
 * The live cluster console in a real headless browser: Debian's chromium driven over the
 * Chrome DevTools Protocol (Node's built-in WebSocket; no browser download, no driver
 * package). Three agents with `console: true`; the page served by a follower must show three
 * members and one leader, and must update by itself (server-sent events, no reload) after a
 * leadership transfer. A screenshot is saved for review.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestAgents, eventually } from '../../node/src/agent/testing/cluster.js';
import { call } from '../../node/src/server/testing/fixtures.js';
import type { TransferLeadershipResponse } from '../../node/src/gen/v1/admin.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
/** Where the screenshot goes (git-ignored). */
export const SCREENSHOT = resolve(import.meta.dirname, '..', '.cache', 'console.png');

/** A minimal CDP session on one page. */
class Page {
  private next = 1;
  private readonly pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (e: MessageEvent) => {
      const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p || msg.id === undefined) return;
      this.pending.delete(msg.id);
      if (msg.error) p.fail(new Error(msg.error.message));
      else p.ok(msg.result);
    });
  }
  static async open(wsUrl: string): Promise<Page> {
    const ws = new WebSocket(wsUrl);
    await new Promise<void>((ok, fail) => {
      ws.addEventListener('open', () => ok());
      ws.addEventListener('error', () => fail(new Error(`cannot connect to ${wsUrl}`)));
    });
    return new Page(ws);
  }
  send<T>(method: string, params: object = {}): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((ok, fail) => this.pending.set(id, { ok: ok as (v: unknown) => void, fail }));
  }
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value: T } }>('Runtime.evaluate', { expression, returnByValue: true });
    return r.result.value;
  }
  close(): void {
    this.ws.close();
  }
}

describe('the live console in headless chromium (3 nodes, updates after a leadership transfer)', function () {
  this.timeout(180_000);
  let t: TestAgents | undefined;
  let browser: ChildProcess | undefined;
  let profile: string | undefined;
  let page: Page | undefined;

  before(async function () {
    if (!CHROMIUM) {
      console.log(
        '    SKIPPED: no chromium (Debian package `chromium`; .ci/run installs it), so the console cannot be tested in a browser',
      );
      this.skip();
    }
    t = await TestAgents.create();
    await t.start('a', { bootstrap: true, extra: { console: true } });
    await t.start('b', { extra: { console: true } });
    await t.start('c', { extra: { console: true } });
    const agents = t;
    await eventually(
      'three voters',
      () =>
        agents
          .get('a')
          .node.status()
          .members.filter((m) => m.suffrage === 'voter').length === 3,
      30_000,
    );
    profile = mkdtempSync(join(tmpdir(), 'commitlog-chromium-'));
    browser = spawn(
      CHROMIUM as string,
      [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--window-size=1100,900',
        `--user-data-dir=${profile}`,
        '--remote-debugging-address=127.0.0.1',
        '--remote-debugging-port=0',
        'about:blank',
      ],
      // Its own process group, so cleanup can stop chromium's helpers (renderer, zygote) too.
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const b = browser;
    const devtools = await new Promise<string>((ok, fail) => {
      let err = '';
      const timer = setTimeout(
        () => fail(new Error(`chromium did not start its DevTools endpoint within 60 s:\n${err}`)),
        60_000,
      );
      b.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /DevTools listening on (ws:\/\/[^\s]+)/.exec(err);
        if (m?.[1]) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      b.once('exit', (code) => fail(new Error(`chromium exited (${String(code)}):\n${err}`)));
    });
    const http = new URL(devtools.replace('ws://', 'http://')).host;
    const follower = [...agents.agents.values()].find((a) => !a.node.isLeader);
    assert.ok(follower);
    const target = (await (
      await fetch(`http://${http}/json/new?http://127.0.0.1:${follower.httpPort}/console`, { method: 'PUT' })
    ).json()) as { webSocketDebuggerUrl: string };
    page = await Page.open(target.webSocketDebuggerUrl);
  });

  after(async () => {
    page?.close();
    try {
      const b = browser;
      if (b?.pid !== undefined && b.exitCode === null && b.signalCode === null) {
        const exited = new Promise((r) => b.once('exit', r));
        // The group of the browser we started (by its pid): its helpers kept writing into the
        // profile while rmSync ran (ENOTEMPTY, and the agents below were never stopped).
        process.kill(-b.pid, 'SIGKILL');
        await exited;
      }
      if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    } finally {
      await t?.destroy();
    }
  });

  const view = (): Promise<{ rows: string[][]; leader: string; updates: number; state: string }> =>
    (page as Page).eval(
      `({ rows: [...document.querySelectorAll('#members tr')].map((tr) => [...tr.children].map((td) => td.textContent)),
          leader: document.getElementById('leader').textContent, updates: Number(document.getElementById('updates').textContent),
          state: document.getElementById('state').textContent })`,
    );

  it('shows three members, exactly one leader, and the live state', async () => {
    const v = await eventually(
      'three members on the page',
      async () => {
        const x = await view();
        return x.rows.length === 3 && x.state === 'live' ? x : undefined;
      },
      30_000,
    );
    assert.deepEqual(v.rows.map((r) => r[0]).sort(), ['a', 'b', 'c']);
    assert.deepEqual(v.rows.map((r) => r[1]).sort(), ['leader', 'voter', 'voter']);
    assert.equal(v.rows.find((r) => r[1] === 'leader')?.[0], v.leader);
  });

  it('updates without a reload after a leadership transfer, and saves a screenshot', async () => {
    const agents = t as TestAgents;
    const before = await view();
    const target = ['a', 'b', 'c'].find((n) => n !== before.leader) as string;
    const leaderName = before.leader;
    await call<TransferLeadershipResponse>((cb) =>
      agents.adminClient(leaderName).transferLeadership({ targetId: target }, cb),
    );
    const after = await eventually(
      `the page shows ${target} as leader`,
      async () => {
        const x = await view();
        return x.leader === target && x.rows.find((r) => r[1] === 'leader')?.[0] === target ? x : undefined;
      },
      30_000,
    );
    assert.ok(after.updates > before.updates, 'the same page received new snapshots');
    const history = await (page as Page).eval<string[]>(
      `[...document.querySelectorAll('#history tr')].map((tr) => tr.children[1].textContent)`,
    );
    assert.equal(history[0], target, 'newest leader first in the history');
    assert.ok(history.includes(leaderName));
    const log = agents.logClient(target);
    try {
      await call((cb) =>
        log.produce({ record: { value: Buffer.from('hello console'), offset: 0, term: 0, type: 0 } }, cb),
      );
    } finally {
      log.close();
    }
    await eventually(
      'the record on the page',
      async () =>
        (await (page as Page).eval<string>(`document.getElementById('records').textContent`)).includes('hello console'),
      30_000,
    );
    const shot = await (page as Page).send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
    writeFileSync(SCREENSHOT, Buffer.from(shot.data, 'base64'));
    console.log(`    screenshot: ${SCREENSHOT}`);
  });
});
