/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. a bench:cluster node run with
 * BENCH_CLUSTER_PROFILE_DIR) as self time: the busy share of each category (Node's TLS,
 * HTTP/2, streams and net; grpc-js; logging; the project's folders; GC) and the top
 * functions. A native function without a script (a TLS write, a syscall wrapper) is charged
 * to the category of its nearest JavaScript caller, shown as "native:<name>" in the top list.
 * `tsx bench/cluster/profile-summary.ts FILE.cpuprofile [topN] [FROM-TO]` prints JSON; with
 * FROM-TO (ms since the profile started) only that window counts, e.g. one bench phase (the
 * node's start-up — tsx compiling TypeScript, reflection descriptors — otherwise dominates
 * a short run); `busyPerSecond` shows where the phases are.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The category of a script URL (empty for natives). */
export function categoryOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (native, unattributed)';
  if (url.includes('node_modules/@grpc/grpc-js')) return 'grpc-js';
  if (/node_modules\/(pino|sonic-boom|thread-stream)/.test(url)) return 'logging (pino)';
  if (url.includes('node_modules/prom-client')) return 'metrics (prom-client)';
  if (url.includes('node_modules/')) return `npm:${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? '?'}`;
  const own = /\/node\/src\/([^/]+)\//.exec(url);
  if (own) return `commitlog:${own[1]}`;
  if (/node:(internal\/)?(_)?tls|internal\/tls/.test(url)) return 'node:tls';
  if (url.includes('internal/http2')) return 'node:http2';
  if (url.includes('js_stream_socket')) return 'node:js_stream_socket (JS stream under TLS)';
  if (/internal\/streams|stream_base_commons/.test(url)) return 'node:streams';
  if (url === 'node:net' || url.includes('internal/net')) return 'node:net';
  if (url.startsWith('node:')) return 'node:other';
  return url === '' ? '' : 'other';
}

/** Self-time summary of a profile: busy ms, categories and top functions with their share of busy time. */
export function summarize(p: CpuProfile, top = 25, window?: readonly [number, number]) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
  const self = new Map<number, number>();
  const perSecond: number[] = [];
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const d = p.timeDeltas[i] ?? 0;
    t += d;
    const s = Math.floor(t / 1e6);
    while (perSecond.length <= s) perSecond.push(0);
    if (!idleIds.has(id)) perSecond[s] = (perSecond[s] ?? 0) + d / 1e4;
    if (window !== undefined && (t < window[0] * 1000 || t >= window[1] * 1000)) continue;
    self.set(id, (self.get(id) ?? 0) + d);
  }
  const cat = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id) as ProfileNode;
    const { functionName, url, lineNumber } = n.callFrame;
    let c = categoryOf(url, functionName);
    let label = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|node\/src)\//, '$1/')}:${lineNumber + 1}`;
    if (c === '') {
      label = `native:${functionName}`;
      for (let q = parent.get(id); q !== undefined && c === ''; q = parent.get(q)) {
        const f = (byId.get(q) as ProfileNode).callFrame;
        c = categoryOf(f.url, f.functionName);
      }
      if (c === '') c = 'other';
      label = `${label} (under ${c})`;
    }
    total += us;
    if (c === 'idle') {
      idle += us;
      continue;
    }
    cat.set(c, (cat.get(c) ?? 0) + us);
    fns.set(label, (fns.get(label) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number): number => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const sorted = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ name: k, pctOfBusy: pct(us) }));
  return {
    wallMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    window: window ?? null,
    busyPerSecond: perSecond.map((x) => Math.round(x)).join(' '),
    categories: sorted(cat, 100),
    topFunctions: sorted(fns, top),
  };
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: tsx bench/cluster/profile-summary.ts FILE.cpuprofile [topN]');
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const w = process.argv[4]?.split('-').map(Number);
  const window = w?.length === 2 ? ([w[0], w[1]] as [number, number]) : undefined;
  process.stdout.write(`${JSON.stringify(summarize(p, Number(process.argv[3] ?? 25), window), null, 2)}\n`);
}
