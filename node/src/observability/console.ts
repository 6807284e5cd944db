/**
 * The live cluster console on the node's HTTP port: `GET /console` is one self-contained
 * page (no external assets, no framework), `GET /console/events` a server-sent event stream
 * of {@link ConsoleSnapshot}s — sent at once, then whenever the snapshot changes (checked
 * every `intervalMs`), with a comment line every 15 s to keep proxies from closing it.
 *
 * Read-only: the page shows what /metrics already exposes, plus the last few records
 * (values cut to 64 bytes). It is OFF unless the node is started with `--console`
 * (`npm start` turns it on for its loopback-only nodes): the HTTP port is unauthenticated,
 * and a pod's metrics port is often reachable beyond the pod.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One member as the console shows it (lag is known on the leader only). */
export interface ConsoleMember {
  readonly id: string;
  readonly role: 'leader' | 'voter' | 'learner';
  readonly match?: number;
  readonly lag?: number;
}

/** Everything one update of the page shows. */
export interface ConsoleSnapshot {
  readonly node: string;
  readonly clusterId: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commit: number;
  readonly applied: number;
  readonly members: readonly ConsoleMember[];
  /** Leaders seen by this node, oldest first: term, leader, ISO time first seen. */
  readonly leaderHistory: readonly { readonly term: number; readonly leader: string | null; readonly at: string }[];
  /** The newest records, newest last: offset, size, value as text (cut). */
  readonly records: readonly { readonly offset: number; readonly bytes: number; readonly text: string }[];
}

/** Where the console reads from (the agent provides it). */
export interface ConsoleSource {
  snapshot(): Promise<ConsoleSnapshot>;
}

/** Serves the console's two paths; returns false for any other path. */
export function handleConsole(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  source: ConsoleSource,
  intervalMs = 250,
): boolean {
  if (path === '/console' || path === '/console/') {
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      })
      .end(PAGE);
    return true;
  }
  if (path !== '/console/events') return false;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  let last = '';
  let closed = false;
  let busy = false;
  const tick = (): void => {
    if (busy || closed) return;
    busy = true;
    source.snapshot().then(
      (s) => {
        busy = false;
        const json = JSON.stringify(s);
        if (json !== last && !closed) res.write(`data: ${json}\n\n`);
        last = json;
      },
      (err: unknown) => {
        busy = false;
        if (!closed) res.write(`event: problem\ndata: ${JSON.stringify(String(err))}\n\n`);
      },
    );
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', () => {
    closed = true;
    clearInterval(timer);
    clearInterval(keepAlive);
  });
  return true;
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>commitlog console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#f7f8fa}
h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1rem;margin:1.4rem 0 .4rem}
.muted{color:#6b7280}table{border-collapse:collapse;background:#fff;min-width:28rem}
th,td{padding:.3rem .7rem;border-bottom:1px solid #e5e7eb;text-align:left;font-variant-numeric:tabular-nums}
th{background:#eef0f4}.leader{color:#0a7d32;font-weight:600}.learner{color:#8a5a00}
#state{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#e5e7eb}
#state.live{background:#d1fae5}code{font-size:12px}
</style></head><body>
<h1>commitlog <span id="cluster" class="muted"></span></h1>
<div class="muted">node <b id="node">…</b> · role <b id="role">…</b> · term <b id="term">…</b> ·
commit <b id="commit">…</b> · applied <b id="applied">…</b> · leader <b id="leader">…</b> ·
<span id="state">connecting</span> · updates <span id="updates">0</span></div>
<h2>Members</h2>
<table><thead><tr><th>id</th><th>role</th><th>match</th><th>lag</th></tr></thead><tbody id="members"></tbody></table>
<h2>Leader history</h2>
<table><thead><tr><th>term</th><th>leader</th><th>first seen</th></tr></thead><tbody id="history"></tbody></table>
<h2>Recent records</h2>
<table><thead><tr><th>offset</th><th>bytes</th><th>value</th></tr></thead><tbody id="records"></tbody></table>
<script>
const $ = (id) => document.getElementById(id);
const row = (cells, cls) => { const tr = document.createElement('tr'); if (cls) tr.className = cls;
  for (const c of cells) { const td = document.createElement('td'); td.textContent = c === undefined || c === null ? '–' : String(c); tr.appendChild(td); } return tr; };
let updates = 0;
function render(s) {
  $('cluster').textContent = s.clusterId; $('node').textContent = s.node; $('role').textContent = s.role;
  $('term').textContent = s.term; $('commit').textContent = s.commit; $('applied').textContent = s.applied;
  $('leader').textContent = s.leader || 'none';
  $('members').replaceChildren(...s.members.map((m) => row([m.id, m.role, m.match, m.lag], m.role)));
  $('history').replaceChildren(...s.leaderHistory.slice().reverse().map((h) => row([h.term, h.leader || 'none', h.at])));
  $('records').replaceChildren(...s.records.slice().reverse().map((r) => row([r.offset, r.bytes, r.text])));
  $('updates').textContent = String(++updates);
}
const es = new EventSource('/console/events');
es.onopen = () => { $('state').textContent = 'live'; $('state').className = 'live'; };
es.onerror = () => { $('state').textContent = 'reconnecting'; $('state').className = ''; };
es.onmessage = (e) => render(JSON.parse(e.data));
</script></body></html>
`;
