/**
 * The chaos tier's agents (runs inside the bridge namespace): real agent processes, each
 * started with `ip netns exec <prefix>-n<i>` so it lives in its own namespace advertising
 * 10.77.0.<i+1>, with the local PKI (a certificate naming each node) and gossip
 * encryption; their output is appended to `<logDir>/<name>.log` across restarts. Also the
 * orchestrator's view of them: Admin calls (status, members, remove, transfer) and the
 * heal condition of heal.ts, read from the nodes and their data directories.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ChannelCredentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ensureNodeCert, localPkiFlags, nodeCertFiles, type LocalPki } from '../../node/src/agent/local-pki.js';
import {
  AdminClient,
  Role,
  Suffrage,
  type GetStatusResponse,
  type Member,
  type MembershipResponse,
  type TransferLeadershipResponse,
} from '../../node/src/gen/v1/admin.js';
import { LogClient, type GetServersResponse, type Server } from '../../node/src/gen/v1/log.js';
import { unhealed, type NodeView } from './heal.js';
import { nodeIp } from './netns.js';

const MAIN = fileURLToPath(new URL('../../node/src/agent/main.ts', import.meta.url));

/** The RPC port every agent listens on (each in its own namespace). */
export const RPC = 8400;
/** The name the node certificates are checked against by the orchestrator's clients. */
export const TLS_NAME = 'localhost';
/** Channel options of the orchestrator's clients (the node certificates name `localhost`). */
export const CHANNEL = { 'grpc.ssl_target_name_override': TLS_NAME, 'grpc.default_authority': TLS_NAME };

type Unary<Req, Res> = (
  req: Req,
  md: Metadata,
  opts: { deadline: number },
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** The agents of one chaos run; node i is `c<i>` in namespace `nodeNs[i]`. */
export class ChaosAgents {
  private readonly procs = new Map<number, ChildProcess>();
  private readonly tails = new Map<number, string>();
  private readonly admins = new Map<number, AdminClient>();
  private readonly logs = new Map<number, LogClient>();

  constructor(
    private readonly o: {
      readonly root: string;
      readonly logDir: string;
      readonly pki: LocalPki;
      readonly nodeNs: readonly string[];
      readonly creds: ChannelCredentials;
    },
  ) {}

  /** Node i's name. */
  static nameOf(i: number): string {
    return `c${i}`;
  }

  /** Node i's data directory. */
  dataDir(i: number): string {
    return join(this.o.root, ChaosAgents.nameOf(i));
  }

  /** Node i's RPC address. */
  rpcAddr(i: number): string {
    return `${nodeIp(i)}:${RPC}`;
  }

  /** The last output of node i (for error reports). */
  tail(i: number): string {
    return this.tails.get(i) ?? '';
  }

  /** Whether node i's process is running (possibly stopped by SIGSTOP). */
  running(i: number): boolean {
    const p = this.procs.get(i);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Issues node i's certificate (once). */
  async prepare(i: number): Promise<void> {
    await ensureNodeCert(this.o.pki, ChaosAgents.nameOf(i));
  }

  /** Starts node i, joining gossip through the nodes in `seeds`. */
  start(i: number, seeds: readonly number[], bootstrap = false): void {
    const name = ChaosAgents.nameOf(i);
    const flags = {
      'node-name': name,
      'data-dir': this.dataDir(i),
      'bind-addr': `${nodeIp(i)}:8401`,
      'rpc-port': String(RPC),
      'http-port': '8402',
      'json-port': '0',
      'cluster-id': 'chaos',
      'gossip-preset': 'local',
      'start-join-addrs': seeds
        .filter((j) => j !== i)
        .map((j) => `${nodeIp(j)}:8401`)
        .join(','),
      'log-level': 'info',
      ...localPkiFlags(this.o.pki, nodeCertFiles(this.o.pki, name)),
    };
    const args = [...Object.entries(flags).map(([k, v]) => `--${k}=${v}`), ...(bootstrap ? ['--bootstrap'] : [])];
    // `ip netns exec` execs the command in place: the child's pid is the agent's.
    const p = spawn(
      'ip',
      ['netns', 'exec', this.o.nodeNs[i] as string, process.execPath, '--import', 'tsx', MAIN, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const file = createWriteStream(join(this.o.logDir, `${name}.log`), { flags: 'a' });
    file.write(`--- start ${new Date().toISOString()}${bootstrap ? ' (bootstrap)' : ''}\n`);
    const keep = (d: Buffer): void => {
      this.tails.set(i, (this.tail(i) + d.toString()).slice(-3000));
      file.write(d);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    p.once('exit', () => file.end());
    this.procs.set(i, p);
  }

  /** Sends `sig` to node i (SIGSTOP/SIGCONT for pauses). */
  signal(i: number, sig: NodeJS.Signals): void {
    this.procs.get(i)?.kill(sig);
  }

  /** Stops node i with `sig` (SIGKILL: a crash; SIGTERM: a pod deleted) and waits for it to exit. */
  async stop(i: number, sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(i);
    if (p === undefined || !this.running(i)) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGCONT');
    p.kill(sig);
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  }

  private admin(i: number): AdminClient {
    let c = this.admins.get(i);
    if (c === undefined) {
      c = new AdminClient(this.rpcAddr(i), this.o.creds, CHANNEL);
      this.admins.set(i, c);
    }
    return c;
  }

  private call<Req, Res>(i: number, f: (c: AdminClient) => Unary<Req, Res>, req: Req, ms: number): Promise<Res> {
    const c = this.admin(i);
    return new Promise((resolve, reject) =>
      f(c).call(c, req, new Metadata(), { deadline: Date.now() + ms }, (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );
  }

  /** Node i's own Admin GetStatus. */
  status(i: number): Promise<GetStatusResponse> {
    return this.call(i, (c) => c.getStatus as Unary<object, GetStatusResponse>, {}, 3000);
  }

  /** The configuration as node i reports it. */
  async members(i: number): Promise<Member[]> {
    return (await this.call(i, (c) => c.listMembers as Unary<object, { members: Member[] }>, {}, 3000)).members;
  }

  /** GetServers as node i answers it. */
  async servers(i: number): Promise<Server[]> {
    let c = this.logs.get(i);
    if (c === undefined) {
      c = new LogClient(this.rpcAddr(i), this.o.creds, CHANNEL);
      this.logs.set(i, c);
    }
    const lc = c;
    const r = await new Promise<GetServersResponse>((resolve, reject) =>
      lc.getServers({}, new Metadata(), { deadline: Date.now() + 3000 }, (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );
    return r.servers;
  }

  /** Admin RemoveMember at `leader` (resolves once the new configuration committed). */
  async remove(leader: number, id: string): Promise<Member[]> {
    const r = await this.call(
      leader,
      (c) => c.removeMember as Unary<{ id: string }, MembershipResponse>,
      { id },
      30_000,
    );
    return r.members;
  }

  /** Admin TransferLeadership at `leader` to `target` (empty: the most caught-up voter); the new leader. */
  async transfer(leader: number, target = ''): Promise<string> {
    const r = await this.call(
      leader,
      (c) => c.transferLeadership as Unary<{ targetId: string }, TransferLeadershipResponse>,
      { targetId: target },
      30_000,
    );
    return r.leaderId;
  }

  /** The index of the node that reports itself leader among `nodes`, if any. */
  async leader(nodes: readonly number[]): Promise<number | undefined> {
    const st = await Promise.all(nodes.map((i) => this.status(i).catch(() => undefined)));
    const at = st.findIndex((s) => s?.role === Role.ROLE_LEADER);
    return at === -1 ? undefined : nodes[at];
  }

  /** Why `nodes` are not a healed cluster (heal.ts), or undefined when they are. */
  async unhealed(nodes: readonly number[]): Promise<string | undefined> {
    const views: NodeView[] = await Promise.all(
      nodes.map(async (i) => {
        const s = await this.status(i).catch(() => undefined);
        return {
          name: ChaosAgents.nameOf(i),
          ...(s !== undefined
            ? { status: { isLeader: s.role === Role.ROLE_LEADER, leaderId: s.leaderId, term: s.term } }
            : {}),
          ...optional('storageId', () => readFileSync(join(this.dataDir(i), 'storage-id'), 'utf8').trim()),
          ...optional(
            'recorded',
            () =>
              JSON.parse(readFileSync(join(this.dataDir(i), 'member-storage.json'), 'utf8')) as Record<string, string>,
          ),
        };
      }),
    );
    const lead = views.findIndex((v) => v.status?.isLeader === true);
    const members =
      lead === -1
        ? undefined
        : await this.members(nodes[lead] as number)
            .then((ms) => ms.map((m) => ({ id: m.id, voter: m.suffrage === Suffrage.SUFFRAGE_VOTER, lag: m.lag })))
            .catch(() => undefined);
    return unhealed(
      nodes.map((i) => ChaosAgents.nameOf(i)),
      views,
      members,
    );
  }

  /** Closes the Admin clients and kills every agent still running. */
  async close(): Promise<void> {
    for (const c of [...this.admins.values(), ...this.logs.values()]) c.close();
    for (const i of this.procs.keys()) await this.stop(i);
  }
}

/** `{ [key]: read() }`, or `{}` when `read` throws (a file not written yet). */
function optional<K extends string, V>(key: K, read: () => V): { [P in K]?: V } {
  try {
    return { [key]: read() } as { [P in K]: V };
  } catch {
    return {};
  }
}
