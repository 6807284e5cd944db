/**
 * Agent processes (node/src/agent/main.ts) on 127.0.0.1 for the real-process tests: free
 * ports picked up front, the local PKI, kill -9 and graceful SIGTERM by pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reservePort } from './port-reservations.js';
import { ensureLocalPki, ensureNodeCert, localPkiFlags, nodeCertFiles, type LocalPki } from '../local-pki.js';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** The first port of the kernel's ephemeral range (outgoing connections take their local ports from it). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Whether `port` can be bound on 127.0.0.1 now, for TCP and for UDP (gossip uses both). */
async function bindable(port: number): Promise<boolean> {
  const tcp = createServer();
  const tcpOk = await new Promise<boolean>((r) => {
    tcp.once('error', () => r(false));
    tcp.listen(port, '127.0.0.1', () => r(true));
  });
  if (!tcpOk) return false;
  const udp = createSocket('udp4');
  const udpOk = await new Promise<boolean>((r) => {
    udp.once('error', () => r(false));
    udp.bind(port, '127.0.0.1', () => r(true));
  });
  await new Promise<void>((r) => udp.close(() => r()));
  await new Promise<void>((r) => tcp.close(() => r()));
  return udpOk;
}

/** Ports this process has handed out: never handed out twice. */
const handedOut = new Set<number>();

/**
 * A port on 127.0.0.1 that was free for TCP and UDP when checked, below the kernel's
 * ephemeral range. A port the OS picks with listen(0) comes from that range, and between
 * the check and the agent's bind an outgoing connection of any process on the machine can
 * take it as its local port (stress runs saw "cannot listen for gossip on 127.0.0.1:42091:
 * EADDRINUSE", and an agent that never answered on 127.0.0.1:32999); below the range only
 * another process's explicit bind can. This process never hands a port out twice, and no
 * two test processes hand out the same one (a reservation file each, port-reservations.ts). Picked at
 * random in [10000, ephemeral low), checked, at most 100 tries; then the OS's pick.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let i = 0; i < 100 && low > 10_001; i++) {
    const port = 10_000 + randomInt(low - 10_000);
    // Reserved across processes (port-reservations.ts) before the bind check: a port another
    // test process handed out and has not bound yet checks free here too.
    if (handedOut.has(port) || !reservePort(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

/** One agent process. */
export interface AgentProcess {
  readonly name: string;
  readonly rpcAddr: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Last lines of the process's output, stdout (its log) and stderr interleaved (for failure messages). */
  stderr(): string;
}

/** Agent processes sharing a temp dir and PKI. */
export class AgentProcesses {
  readonly procs = new Map<string, AgentProcess>();
  private constructor(
    readonly root: string,
    readonly pki: LocalPki,
    private readonly ports: Map<string, { rpc: number; gossip: number; http: number }>,
  ) {}

  /** Picks ports for `names` and creates the PKI. */
  static async create(names: readonly string[]): Promise<AgentProcesses> {
    const root = mkdtempSync(join(tmpdir(), 'commitlog-agent-procs-'));
    const { paths } = await ensureLocalPki(root);
    const ports = new Map<string, { rpc: number; gossip: number; http: number }>();
    for (const n of names) {
      ports.set(n, { rpc: await freePort(), gossip: await freePort(), http: await freePort() });
      await ensureNodeCert(paths, n);
    }
    return new AgentProcesses(root, paths, ports);
  }

  /** RPC address of `name`. */
  rpcAddr(name: string): string {
    return `127.0.0.1:${this.port(name).rpc}`;
  }

  /** The metrics/health HTTP port of `name`. */
  httpPort(name: string): number {
    return this.port(name).http;
  }

  private port(name: string): { rpc: number; gossip: number; http: number } {
    const p = this.ports.get(name);
    if (p === undefined) throw new Error(`unknown node ${name}`);
    return p;
  }

  /**
   * Spawns agent `name`; every other planned node is a gossip seed. `flags` are more
   * command-line flags (`{ 'external-addr': '127.0.0.1:1234' }`), overriding the defaults.
   */
  start(name: string, o: { bootstrap?: boolean; flags?: Readonly<Record<string, string>> } = {}): AgentProcess {
    const p = this.port(name);
    const seeds = [...this.ports.entries()].filter(([n]) => n !== name).map(([, q]) => `127.0.0.1:${q.gossip}`);
    const flags = {
      'node-name': name,
      'data-dir': join(this.root, name),
      'bind-addr': `127.0.0.1:${p.gossip}`,
      'rpc-port': String(p.rpc),
      'http-port': String(p.http),
      'json-port': '0',
      'cluster-id': 'proc-test',
      'gossip-preset': 'local',
      'start-join-addrs': seeds.join(','),
      // info: a failure report then shows how far each process got (the tail of its log on stdout).
      'log-level': 'info',
      ...localPkiFlags(this.pki, nodeCertFiles(this.pki, name)),
      ...o.flags,
    };
    const args = [...Object.entries(flags).map(([k, v]) => `--${k}=${v}`), ...(o.bootstrap ? ['--bootstrap'] : [])];
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const keep = (d: Buffer): void => {
      err = (err + d.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const ap: AgentProcess = {
      name,
      rpcAddr: this.rpcAddr(name),
      proc,
      exited: new Promise((r) => proc.once('exit', (code) => r(code))),
      stderr: () => err,
    };
    this.procs.set(name, ap);
    return ap;
  }

  /** kill -9 `name`. */
  async kill(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (p?.proc.pid === undefined || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
    p.proc.kill('SIGKILL');
    await p.exited;
  }

  /** SIGTERM every running process (by pid), SIGKILL after `graceMs`, then remove the temp dir. */
  async destroy(graceMs = 15_000): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(async (p) => {
        if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
        p.proc.kill('SIGTERM');
        const t = setTimeout(() => p.proc.kill('SIGKILL'), graceMs);
        await p.exited;
        clearTimeout(t);
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}
