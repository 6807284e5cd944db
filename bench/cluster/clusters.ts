/**
 * The systems under test of `npm run bench:cluster`, each as separate processes on
 * 127.0.0.1 free ports in a temp directory:
 *
 * - a 3-node commitlog cluster started as `npm start` starts it (node/src/agent/main.ts with
 *   the same flags: mutual TLS with the local PKI, encrypted gossip, `--gossip-preset=quiet`,
 *   the console, default Raft preset, fsync on, default log levels), optionally from another
 *   checkout (`root`, e.g. the commit before a change) and with extra flags;
 * - a 3-member etcd cluster from the control-plane binary the test suite builds (fsync on,
 *   mutual TLS for clients and peers with the same CA and node certificates);
 * - the no-op grpc-js server (noop-server.ts), mutual TLS.
 *
 * Every process is stopped by its pid, also when a start fails midway (the members already
 * started are stopped before the error is thrown).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type ChannelCredentials, Metadata } from '@grpc/grpc-js';
import {
  ensureLocalPki,
  ensureNodeCert,
  localPkiFlags,
  nodeCertFiles,
  type LocalPki,
} from '../../node/src/agent/local-pki.js';
import { LogClient, type Server as ServerInfo } from '../../node/src/gen/v1/log.js';
import { isolatedClient } from '../../node/src/server/testing/fixtures.js';
import { clientCredentials } from '../../node/src/tls/index.js';
import { AGENT_NODE_ARGS, agentProcessEnv } from '../../node/src/agent/process-env.js';

/** Repository root of this checkout. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A free port on 127.0.0.1 for TCP, and for UDP too when `udp` (gossip binds both). */
export async function freePort(udp = false): Promise<number> {
  for (;;) {
    const s = createServer();
    const port = await new Promise<number>((r) =>
      s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)),
    );
    await new Promise<void>((r) => s.close(() => r()));
    if (!udp) return port;
    const ok = await new Promise<boolean>((r) => {
      const u = createSocket('udp4');
      u.once('error', () => (u.close(), r(false)));
      u.bind(port, '127.0.0.1', () => u.close(() => r(true)));
    });
    if (ok) return port;
  }
}

/** A started server process. */
export interface Proc {
  readonly name: string;
  /** host:port clients use. */
  readonly addr: string;
  proc: ChildProcess;
  /** Last stderr lines (failure messages). */
  stderr(): string;
}

function spawnLogged(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  stdoutFile?: string,
): { proc: ChildProcess; stderr: () => string } {
  // stdout to /dev/null (or appended to `stdoutFile`): the nodes still format and write every
  // line, as under `npm start`.
  const out = stdoutFile === undefined ? 'ignore' : openSync(stdoutFile, 'a');
  const proc = spawn(cmd, args, { cwd, env, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out); // the child has its own copy
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  // A failed spawn (no such binary) is an 'error' event: without a listener it kills the bench.
  proc.on('error', (e) => (err = `${err}spawn ${cmd}: ${e.message}\n`.slice(-4000)));
  return { proc, stderr: () => err };
}

/** Whether the process of `p` has exited, or never started (a failed spawn has no pid). */
const exited = (p: Proc): boolean => p.proc.exitCode !== null || p.proc.signalCode !== null || p.proc.pid === undefined;

/** Kills `p` with `signal` by pid and waits for its exit. */
export async function stopProc(p: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  process.kill(p.pid, signal);
  await exited;
}

/** Polls `check` until it returns a value, at most `timeoutMs`; throws `what` on timeout. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Options of {@link CommitlogCluster.start}. */
export interface CommitlogClusterOptions {
  /** Name of the cluster in the results ("commitlog", or a variant's name). */
  readonly name: string;
  /** Checkout whose node/src/agent/main.ts runs (default this one). */
  readonly root?: string;
  /** Extra agent flags (e.g. `--request-log-level=info`). */
  readonly flags?: readonly string[];
  /** Extra arguments for `node` itself (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  readonly pki: LocalPki;
  readonly credentials: ChannelCredentials;
  /** When set, each node's stdout (its log) is appended to `<logDir>/node-<i>.log`, across restarts. */
  readonly logDir?: string;
}

interface NodePorts {
  readonly rpc: number;
  readonly gossip: number;
  readonly http: number;
  readonly json: number;
}

/** A 3-node commitlog cluster of agent processes. */
export class CommitlogCluster {
  readonly nodes: Proc[] = [];
  private constructor(
    readonly o: CommitlogClusterOptions,
    private readonly dir: string,
    private readonly ports: readonly NodePorts[],
  ) {}

  /** Starts the three agents (node-0 bootstraps) and waits for 3 voters and a leader. */
  static async start(o: CommitlogClusterOptions): Promise<CommitlogCluster> {
    const dir = mkdtempSync(join(tmpdir(), `commitlog-bench-cluster-${o.name}-`));
    const ports: NodePorts[] = [];
    for (let i = 0; i < 3; i++)
      ports.push({
        rpc: await freePort(),
        gossip: await freePort(true),
        http: await freePort(),
        json: await freePort(),
      });
    const c = new CommitlogCluster(o, dir, ports);
    try {
      for (let i = 0; i < 3; i++) c.nodes.push(c.spawnNode(i));
      await c.waitFormed(120_000);
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  private spawnNode(i: number): Proc {
    const name = `node-${i}`;
    const p = this.ports[i] as NodePorts;
    const seeds = this.ports.filter((_, j) => j !== i).map((q) => `127.0.0.1:${q.gossip}`);
    const root = this.o.root ?? ROOT;
    // A variant's own --gossip-preset replaces ours (a checkout from before `quiet` existed
    // refuses it); the pseudo-flag --start-defaults=before drops the node arguments and
    // environment of process-env.ts: "as npm start started it before issue 15's levers".
    const extra = (this.o.flags ?? []).filter((f) => f !== '--start-defaults=before');
    const before = extra.length !== (this.o.flags ?? []).length;
    const ownPreset = extra.some((f) => f.startsWith('--gossip-preset='));
    // The flags of scripts/start.ts, on free ports.
    const flags = [
      `--node-name=${name}`,
      `--data-dir=${join(this.dir, name)}`,
      `--bind-addr=127.0.0.1:${p.gossip}`,
      `--rpc-port=${p.rpc}`,
      `--http-port=${p.http}`,
      `--json-port=${p.json}`,
      '--cluster-id=local',
      ...Object.entries(localPkiFlags(this.o.pki, nodeCertFiles(this.o.pki, name))).map(([k, v]) => `--${k}=${v}`),
      ...(ownPreset ? [] : ['--gossip-preset=quiet']),
      '--console',
      `--start-join-addrs=${seeds.join(',')}`,
      ...(i === 0 ? ['--bootstrap'] : []),
      ...extra,
    ];
    const { proc, stderr } = spawnLogged(
      process.execPath,
      // The node arguments and environment of scripts/start.ts too (node/src/agent/process-env.ts).
      [
        ...(before ? [] : AGENT_NODE_ARGS),
        ...(this.o.nodeArgs ?? []),
        '--import',
        'tsx',
        join(root, 'node/src/agent/main.ts'),
        ...flags,
      ],
      root,
      before ? process.env : agentProcessEnv(),
      this.o.logDir === undefined ? undefined : join(this.o.logDir, `${name}.log`),
    );
    return { name, addr: `127.0.0.1:${p.rpc}`, proc, stderr };
  }

  /** The metrics (HTTP) port of node `i`. */
  httpPort(i: number): number {
    return (this.ports[i] as NodePorts).http;
  }

  /** A client of node `i`. */
  client(i: number): LogClient {
    return new LogClient((this.nodes[i] as Proc).addr, this.o.credentials, isolatedClient);
  }

  /** GetServers from any live node. */
  async servers(): Promise<ServerInfo[]> {
    for (const [i, n] of this.nodes.entries()) {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) continue;
      const c = this.client(i);
      try {
        return await new Promise<ServerInfo[]>((res, rej) =>
          c.getServers({}, new Metadata(), { deadline: Date.now() + 2000 }, (e, r) => (e ? rej(e) : res(r.servers))),
        );
      } catch {
        // try the next node
      } finally {
        c.close();
      }
    }
    throw new Error(`${this.o.name}: no node answers GetServers`);
  }

  /** Waits for 3 voters with addresses and one leader; throws at once when a node exits. */
  async waitFormed(timeoutMs: number): Promise<void> {
    let dead: Proc | undefined;
    await waitFor(`${this.o.name}: 3 voters and a leader`, timeoutMs, async () => {
      // waitFor retries on a throw, so a dead node ends the wait by a value.
      dead = this.nodes.find(exited);
      if (dead) return true;
      const s = await this.servers();
      return s.length === 3 && s.filter((x) => x.isLeader).length === 1 && s.every((x) => x.isVoter && x.rpcAddr !== '')
        ? true
        : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.nodes.map((n) => `${n.name}: ${n.stderr()}`).join('\n')}`);
    });
    if (dead) throw new Error(`${this.o.name}/${dead.name} exited: ${dead.stderr()}`);
  }

  /** Index of the leader node (by its RPC address in GetServers). */
  async leaderIndex(): Promise<number> {
    const s = await this.servers();
    const leader = s.find((x) => x.isLeader);
    const i = this.nodes.findIndex((n) => n.addr === leader?.rpcAddr);
    if (i < 0) throw new Error(`${this.o.name}: no leader in ${JSON.stringify(s)}`);
    return i;
  }

  /** kill -9 node `i`. */
  async kill(i: number): Promise<void> {
    await stopProc((this.nodes[i] as Proc).proc, 'SIGKILL');
  }

  /** Restarts node `i` on its data directory and ports. */
  restart(i: number): void {
    const n = this.spawnNode(i);
    this.nodes[i] = n;
  }

  /** Pids of the running nodes. */
  pids(): number[] {
    return this.nodes.map((n) => n.proc.pid).filter((p): p is number => p !== undefined);
  }

  /** SIGTERM every node (SIGKILL after 15 s) and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const t = setTimeout(() => void stopProc(n.proc, 'SIGKILL'), 15_000);
        await stopProc(n.proc, 'SIGTERM');
        clearTimeout(t);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Creates the local PKI (CA, node-0..2 certificates, client "root", gossip key) under a temp dir. */
export async function benchPki(): Promise<{ pki: LocalPki; dir: string; credentials: ChannelCredentials }> {
  const dir = mkdtempSync(join(tmpdir(), 'commitlog-bench-pki-'));
  const { paths } = await ensureLocalPki(dir);
  for (let i = 0; i < 3; i++) await ensureNodeCert(paths, `node-${i}`);
  return {
    pki: paths,
    dir,
    credentials: clientCredentials({ caFile: paths.ca, certFile: paths.rootCert, keyFile: paths.rootKey }),
  };
}

/** A 3-member etcd cluster (fsync on), mutual TLS for clients and peers. */
export class EtcdCluster {
  readonly members: Proc[] = [];
  readonly metricsPorts: number[] = [];
  private constructor(private readonly dir: string) {}

  /** Starts the members and waits until each serves /health. */
  static async start(etcdBin: string, pki: LocalPki): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'commitlog-bench-etcd-'));
    const c = new EtcdCluster(dir);
    const ports = [];
    for (let i = 0; i < 3; i++)
      ports.push({ client: await freePort(), peer: await freePort(), metrics: await freePort() });
    const initial = ports.map((p, i) => `e${i}=https://127.0.0.1:${p.peer}`).join(',');
    try {
      await c.spawnMembers(etcdBin, pki, ports, initial);
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Spawns the members and waits for them; on a throw, start() stops those started. */
  private async spawnMembers(
    etcdBin: string,
    pki: LocalPki,
    ports: readonly { client: number; peer: number; metrics: number }[],
    initial: string,
  ): Promise<void> {
    for (const [i, p] of ports.entries()) {
      const certs = nodeCertFiles(pki, `node-${i}`);
      mkdirSync(join(this.dir, `e${i}`), { recursive: true });
      const { proc, stderr } = spawnLogged(
        etcdBin,
        [
          `--name=e${i}`,
          `--data-dir=${join(this.dir, `e${i}`)}`,
          `--listen-client-urls=https://127.0.0.1:${p.client}`,
          `--advertise-client-urls=https://127.0.0.1:${p.client}`,
          `--listen-peer-urls=https://127.0.0.1:${p.peer}`,
          `--initial-advertise-peer-urls=https://127.0.0.1:${p.peer}`,
          `--listen-metrics-urls=http://127.0.0.1:${p.metrics}`,
          `--initial-cluster=${initial}`,
          '--initial-cluster-state=new',
          '--initial-cluster-token=bench',
          `--cert-file=${certs.certFile}`,
          `--key-file=${certs.keyFile}`,
          `--trusted-ca-file=${pki.ca}`,
          '--client-cert-auth',
          `--peer-cert-file=${certs.certFile}`,
          `--peer-key-file=${certs.keyFile}`,
          `--peer-trusted-ca-file=${pki.ca}`,
          '--peer-client-cert-auth',
          '--log-level=warn',
        ],
        this.dir,
      );
      this.members.push({ name: `e${i}`, addr: `127.0.0.1:${p.client}`, proc, stderr });
      this.metricsPorts.push(p.metrics);
    }
    let dead: Proc | undefined;
    await waitFor('etcd: 3 members healthy with a leader', 60_000, async () => {
      dead = this.members.find(exited);
      return dead !== undefined || (await this.leaderIndex()) >= 0 ? true : undefined;
    });
    if (dead) throw new Error(`etcd ${dead.name} exited: ${dead.stderr()}`);
  }

  /** Index of the member whose metrics say `etcd_server_is_leader 1` (-1 if none). */
  async leaderIndex(): Promise<number> {
    for (const [i, port] of this.metricsPorts.entries()) {
      const r = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (/^etcd_server_is_leader 1$/m.test(await r.text())) return i;
    }
    return -1;
  }

  pids(): number[] {
    return this.members.map((m) => m.proc.pid).filter((p): p is number => p !== undefined);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => stopProc(m.proc)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The no-op grpc-js server (noop-server.ts) as a child process. */
export async function startNoop(pki: LocalPki): Promise<Proc> {
  const port = await freePort();
  const node0 = nodeCertFiles(pki, 'node-0');
  const { proc, stderr } = spawnLogged(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./noop-server.ts', import.meta.url)),
      String(port),
      node0.certFile,
      node0.keyFile,
      pki.ca,
    ],
    ROOT,
  );
  const p: Proc = { name: 'noop', addr: `127.0.0.1:${port}`, proc, stderr };
  let dead = false;
  await waitFor('the no-op server', 30_000, async () => {
    dead = exited(p);
    return dead ||
      (await new Promise<boolean>((r) => {
        const s = createServer();
        s.once('error', () => r(true));
        s.listen(port, '127.0.0.1', () => s.close(() => r(false)));
      }))
      ? true
      : undefined;
  }).catch(async (e: unknown) => {
    await stopProc(proc);
    throw e;
  });
  if (dead) throw new Error(`noop server exited: ${stderr()}`);
  return p;
}
