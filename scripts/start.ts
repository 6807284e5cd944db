/**
 * `npm start`: runs a local three-node commitlog cluster on 127.0.0.1 (no Kubernetes).
 *
 * 1. Certificates (CA, a node certificate per node with CN "commitlog-node" and the node
 *    name as DNS SAN, used for serving and between nodes; client certificates "root" and
 *    "nobody"), the ACL and the gossip encryption key under `<dir>/certs`, `<dir>/acl` and
 *    `<dir>/gossip.key`, created once and reused. Gossip is encrypted (AES-256-GCM) and a
 *    member is admitted only if its certificate names it (node/src/agent/identity.ts).
 * 2. Three agent processes (node/src/agent/main.ts): node-i uses RPC base+10i, gossip
 *    base+10i+1, HTTP (metrics) base+10i+2, JSON API (HTTPS) base+10i+3 (base 8400 by default). node-0 has --bootstrap, which only
 *    matters the first time (empty data dir); every node has the others as gossip seeds.
 * 3. Waits until GetServers shows 3 voters and a leader, prints "cluster ready", the servers
 *    and commands to try (the CLI, and curl against the JSON API), and streams every node's log prefixed by its name.
 * 4. Ctrl-C / SIGTERM: SIGTERM to each node by pid, waits for them to exit (SIGKILL after 20 s).
 *
 * Flags: --fresh (wipe the directory first), --base-port N (env COMMITLOG_START_BASE_PORT),
 * --dir D (env COMMITLOG_START_DIR, default .tmp/local-cluster), --json (raw JSON logs).
 * Exit codes: 0 after a clean stop, 1 when a port is busy or the cluster does not form.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CommitLogClient } from '../node/src/client/index.js';
import {
  ensureLocalPki,
  ensureNodeCert,
  localPkiFlags,
  nodeCertFiles,
  type LocalPki,
} from '../node/src/agent/local-pki.js';
import { clientCredentials } from '../node/src/tls/index.js';
import { roleName } from '../node/src/cli/client-commands.js';
import { quietKnownWarnings } from '../node/src/observability/warnings.js';
import { AGENT_NODE_ARGS, agentProcessEnv } from '../node/src/agent/process-env.js';

// This process talks gRPC to 127.0.0.1 too: no DEP0123 in the quick start's output.
quietKnownWarnings();

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const AGENT = join(ROOT, 'node/src/agent/main.ts');
const NODES = 3;

const { values: args } = parseArgs({
  options: {
    fresh: { type: 'boolean', default: false },
    'base-port': { type: 'string', default: process.env.COMMITLOG_START_BASE_PORT ?? '8400' },
    dir: { type: 'string', default: process.env.COMMITLOG_START_DIR ?? join(ROOT, '.tmp/local-cluster') },
    json: { type: 'boolean', default: false },
  },
});
const base = Number(args['base-port']);
if (!Number.isInteger(base) || base < 1024 || base + 10 * NODES > 65535) {
  process.stderr.write(
    `npm start: --base-port must be an integer in [1024, ${65535 - 10 * NODES}], got ${args['base-port']}\n`,
  );
  process.exit(2);
}
const dir = resolve(args.dir);
const rel = (p: string): string => {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
};
const ports = (i: number): { rpc: number; gossip: number; http: number; json: number } => ({
  rpc: base + 10 * i,
  gossip: base + 10 * i + 1,
  http: base + 10 * i + 2,
  json: base + 10 * i + 3,
});
const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Fails with a clear message when any port we need is taken. */
async function checkPorts(): Promise<void> {
  const tcp = (port: number): Promise<boolean> =>
    new Promise((r) => {
      const s = createServer();
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
    });
  const udp = (port: number): Promise<boolean> =>
    new Promise((r) => {
      const s = createSocket('udp4');
      s.once('error', () => (s.close(), r(false)));
      s.bind(port, '127.0.0.1', () => s.close(() => r(true)));
    });
  const busy: string[] = [];
  for (let i = 0; i < NODES; i++) {
    const p = ports(i);
    if (!(await tcp(p.rpc))) busy.push(`${p.rpc} (node-${i} RPC)`);
    if (!(await tcp(p.gossip)) || !(await udp(p.gossip))) busy.push(`${p.gossip} (node-${i} gossip)`);
    if (!(await tcp(p.http))) busy.push(`${p.http} (node-${i} metrics)`);
    if (!(await tcp(p.json))) busy.push(`${p.json} (node-${i} JSON API)`);
  }
  if (busy.length > 0) {
    process.stderr.write(
      `npm start: port(s) already in use on 127.0.0.1: ${busy.join(', ')}.\n` +
        `Is another \`npm start\` running? Stop it, or pick other ports: npm start -- --base-port 9400\n`,
    );
    process.exit(1);
  }
}

interface NodeProc {
  readonly name: string;
  readonly proc: ChildProcess;
  exited: boolean;
  readonly done: Promise<void>;
}

const colors = ['\x1b[36m', '\x1b[35m', '\x1b[33m'];
const reset = '\x1b[0m';
const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const hidden = new Set(['level', 'time', 'msg', 'node', 'pid', 'hostname']);

/** One log line: "node-0 | 12:00:01 INFO  msg key=value …" (or the raw JSON with --json). */
function formatLine(name: string, i: number, line: string): string {
  const tty = process.stdout.isTTY;
  const prefix = tty ? `${colors[i % colors.length]}${name}${reset}` : name;
  if (args.json) return `${prefix} | ${line}`;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${prefix} | ${line}`;
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : '';
  const fields = Object.entries(o)
    .filter(([k]) => !hidden.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${prefix} | ${time} ${levels[o.level as number] ?? String(o.level)} ${String(o.msg ?? '')}${fields ? `  ${fields}` : ''}`;
}

function startNode(i: number, pki: LocalPki): NodeProc {
  const name = `node-${i}`;
  const p = ports(i);
  const seeds = Array.from({ length: NODES }, (_, j) => j)
    .filter((j) => j !== i)
    .map((j) => `127.0.0.1:${ports(j).gossip}`);
  const flags = [
    `--node-name=${name}`,
    `--data-dir=${join(dir, name)}`,
    `--bind-addr=127.0.0.1:${p.gossip}`,
    `--rpc-port=${p.rpc}`,
    `--http-port=${p.http}`,
    `--json-port=${p.json}`,
    '--cluster-id=local',
    ...Object.entries(localPkiFlags(pki, nodeCertFiles(pki, name))).map(([k, v]) => `--${k}=${v}`),
    '--gossip-preset=quiet',
    '--console', // loopback-only nodes: the console is safe to serve here
    `--start-join-addrs=${seeds.join(',')}`,
    ...(i === 0 ? ['--bootstrap'] : []),
  ];
  const proc = spawn(process.execPath, [...AGENT_NODE_ARGS, '--import', 'tsx', AGENT, ...flags], {
    cwd: ROOT,
    env: agentProcessEnv(), // bounded resident memory (node/src/agent/process-env.ts)
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node: NodeProc = {
    name,
    proc,
    exited: false,
    done: new Promise((r) =>
      proc.once('exit', (code, signal) => {
        node.exited = true;
        say(`${name} exited (${signal ?? `code ${code}`})`);
        r();
      }),
    ),
  };
  for (const s of [proc.stdout, proc.stderr])
    if (s) createInterface({ input: s }).on('line', (l) => say(formatLine(name, i, l)));
  say(
    `started ${name} (pid ${proc.pid ?? '?'}): RPC 127.0.0.1:${p.rpc}, gossip 127.0.0.1:${p.gossip}, metrics http://127.0.0.1:${p.http}/metrics, JSON API https://127.0.0.1:${p.json}/v1/`,
  );
  return node;
}

/** The curl lines printed when the cluster is ready (the README's quick start shows the same for base 8400). */
function curlExamples(k: string): string[] {
  const at = (i: number, path: string): string => `https://127.0.0.1:${ports(i).json}${path}`;
  return [
    `curl -s ${k} ${at(1, '/')} -d '{"record": {"value": "aGVsbG8="}}'`,
    `curl -s ${k} -X GET ${at(2, '/')} -d '{"offset": 0}'`,
    `curl -s ${k} '${at(1, '/v1/records?encoding=utf8')}' -d '{"records": [{"value": "hello"}, {"value": "world"}]}'`,
    `curl -s ${k} '${at(2, '/v1/records?from=0&max=10&encoding=utf8')}'`,
    `curl -s ${k} ${at(0, '/v1/servers')}`,
    `curl -sN ${k} '${at(0, '/v1/records/tail?from=0&encoding=utf8')}'   # NDJSON, follows new records (Ctrl-C)`,
  ];
}

async function waitReady(client: CommitLogClient, nodes: readonly NodeProc[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (nodes.some((n) => n.exited)) return false;
    try {
      const s = await client.getServers();
      if (s.length === NODES && s.filter((x) => x.isLeader).length === 1 && s.every((x) => x.isVoter && x.addr !== ''))
        return true;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

async function stopAll(nodes: readonly NodeProc[]): Promise<void> {
  for (const n of nodes) if (!n.exited && n.proc.pid !== undefined) process.kill(n.proc.pid, 'SIGTERM');
  await Promise.all(
    nodes.map(async (n) => {
      const t = setTimeout(() => {
        if (!n.exited && n.proc.pid !== undefined) process.kill(n.proc.pid, 'SIGKILL');
      }, 20_000);
      await n.done;
      clearTimeout(t);
    }),
  );
}

if (args.fresh) {
  say(`--fresh: removing ${rel(dir)}`);
  rmSync(dir, { recursive: true, force: true });
}
await checkPorts();
mkdirSync(dir, { recursive: true });
const { paths: pki, created } = await ensureLocalPki(dir);
for (let i = 0; i < NODES; i++) await ensureNodeCert(pki, `node-${i}`);
if (created) say(`created certificates, ACL and gossip key under ${rel(dir)}`);
const restart = existsSync(join(dir, 'node-0'));
say(
  restart
    ? `restarting the cluster from ${rel(dir)} (existing data; no second bootstrap)`
    : `starting a new 3-node cluster in ${rel(dir)}`,
);
const nodes = Array.from({ length: NODES }, (_, i) => startNode(i, pki));
let stopping = false;
const onSignal = (sig: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  say(`${sig}: stopping the nodes gracefully…`);
  void stopAll(nodes).then(() => {
    say('all nodes stopped');
    process.exit(0);
  });
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const client = new CommitLogClient({
  target: `commitlog:///127.0.0.1:${ports(0).rpc}`,
  credentials: clientCredentials({ caFile: pki.ca, certFile: pki.rootCert, keyFile: pki.rootKey }),
  refreshMs: 0,
});
const ready = await waitReady(client, nodes, 60_000);
const servers = ready ? await client.getServers() : [];
client.close();
if (!ready) {
  if (!stopping) {
    process.stderr.write(
      'npm start: the cluster did not form (3 voters and a leader) within 60 s; see the logs above. Stopping.\n',
    );
    stopping = true;
    await stopAll(nodes);
    process.exit(1);
  }
} else {
  const tls = `--ca-file ${rel(pki.ca)} --cert-file ${rel(pki.rootCert)} --key-file ${rel(pki.rootKey)}`;
  say('');
  say(`cluster ready: ${servers.length} voters, leader ${servers.find((s) => s.isLeader)?.id ?? '?'}`);
  // The same role names as `commitlog servers`, `status` and `members list`: leader, voter, learner.
  for (const s of servers) say(`  ${s.id.padEnd(7)} ${s.addr.padEnd(16)} ${roleName(s)}`);
  say('');
  say('try (any node accepts writes; followers forward them to the leader):');
  say(`  npm run -s cli -- produce --addr 127.0.0.1:${ports(1).rpc} ${tls} hello world`);
  say(`  npm run -s cli -- consume --addr 127.0.0.1:${ports(2).rpc} ${tls} --offset 0`);
  say(`  npm run -s cli -- servers --addr 127.0.0.1:${ports(0).rpc} ${tls}`);
  say(`  npm run -s cli -- status --addr 127.0.0.1:${ports(0).rpc} ${tls}`);
  say(`  metrics: curl -s http://127.0.0.1:${ports(0).http}/metrics | grep commitlog_raft`);
  say(`  console: ${[0, 1, 2].map((i) => `http://127.0.0.1:${ports(i).http}/console`).join('  ')}`);
  say('');
  say("JSON over HTTPS with curl and the same certificates (the book's shapes on /, the rest under /v1/):");
  for (const line of curlExamples(`--cacert ${rel(pki.ca)} --cert ${rel(pki.rootCert)} --key ${rel(pki.rootKey)}`))
    say(`  ${line}`);
  say('Ctrl-C stops all three nodes; `npm start` again restarts them with their data (`-- --fresh` starts over).');
  say('');
}
