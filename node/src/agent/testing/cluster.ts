/**
 * In-process agents on 127.0.0.1 with free ports, real TLS (the local PKI), real fsync,
 * Raft `test` preset and gossip `local` preset — for the agent's tests. Temp directories
 * are removed by {@link TestAgents.destroy}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../gen/v1/admin.js';
import { LogClient } from '../../gen/v1/log.js';
import { silentLogger } from '../../observability/logger.js';
import { clientCredentials } from '../../tls/credentials.js';
import { Agent } from '../agent.js';
import { resolveClusterAgentConfig } from '../config.js';
import { ensureLocalPki, ensureNodeCert, localPkiFlags, type LocalPki } from '../local-pki.js';

/** Polls `f` every `pollMs` (20 ms by default) until it returns a value that is not undefined/false, or throws after `ms` (30 s by default: generous, because a loaded CI machine is slow and a bound costs nothing when the state arrives). */
export async function eventually<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
  pollMs = 20,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** A set of in-process agents sharing one PKI. */
export class TestAgents {
  readonly agents = new Map<string, Agent>();
  private constructor(
    readonly root: string,
    readonly pki: LocalPki,
  ) {}

  /** Creates the temp dir and the PKI. */
  static async create(): Promise<TestAgents> {
    const root = mkdtempSync(join(tmpdir(), 'commitlog-agent-'));
    const { paths } = await ensureLocalPki(root);
    return new TestAgents(root, paths);
  }

  /** Starts agent `name`; `bootstrap` for the first, else it joins through the gossip of the running ones. */
  async start(name: string, o: { bootstrap?: boolean; extra?: Record<string, unknown> } = {}): Promise<Agent> {
    const seeds = [...this.agents.values()].map((a) => a.gossipAddr);
    const config = resolveClusterAgentConfig(
      {
        'node-name': name,
        'data-dir': join(this.root, name),
        'bind-addr': '127.0.0.1:0',
        'rpc-port': 0,
        'http-port': 0,
        'json-port': 0,
        'cluster-id': 'test',
        'raft-preset': 'test',
        'gossip-preset': 'local',
        'start-join-addrs': seeds.join(','),
        'request-log-level': 'silent',
        ...localPkiFlags(this.pki, await ensureNodeCert(this.pki, name)),
        ...(o.bootstrap ? { bootstrap: true } : {}),
        ...o.extra,
      },
      {},
      {},
    );
    const agent = await Agent.start(config, silentLogger());
    this.agents.set(name, agent);
    return agent;
  }

  /**
   * Starts agents `names` in order (the first bootstraps, each later one joins through the
   * gossip of those before it; `extra(name)` adds flags to its configuration) and waits,
   * bounded by `ms` (120 s by default: real processes on a loaded machine), until a leader has
   * as many voters as there are names. Resolves with that leader.
   */
  async startVoters(
    names: readonly string[],
    o: { extra?: (name: string) => Record<string, unknown>; ms?: number } = {},
  ): Promise<Agent> {
    for (const [i, name] of names.entries())
      await this.start(name, { bootstrap: i === 0, ...(o.extra ? { extra: o.extra(name) } : {}) });
    return eventually(
      `a leader with ${names.length} voters`,
      () => {
        const l = this.leader();
        return l !== undefined && l.node.status().members.filter((m) => m.suffrage === 'voter').length === names.length
          ? l
          : undefined;
      },
      o.ms ?? 120_000,
    );
  }

  /** The agent `name`. */
  get(name: string): Agent {
    const a = this.agents.get(name);
    if (a === undefined) throw new Error(`agent ${name} is not running`);
    return a;
  }

  /** The agent that is leader now, if any. */
  leader(): Agent | undefined {
    return [...this.agents.values()].find((a) => a.node.isLeader);
  }

  /** A Log client as "root" to agent `name`. */
  logClient(name: string): LogClient {
    return new LogClient(this.get(name).rpcAddr, this.credentials());
  }

  /** An Admin client as "root" to agent `name`. */
  adminClient(name: string): AdminClient {
    return new AdminClient(this.get(name).rpcAddr, this.credentials());
  }

  /** Root's client credentials. */
  credentials(): ReturnType<typeof clientCredentials> {
    return clientCredentials({ caFile: this.pki.ca, certFile: this.pki.rootCert, keyFile: this.pki.rootKey });
  }

  /** Stops agent `name` gracefully (or abruptly with `abort`). */
  async stop(name: string, abort = false): Promise<void> {
    const a = this.agents.get(name);
    this.agents.delete(name);
    await (abort ? a?.abort() : a?.stop());
  }

  /** Stops every agent and removes the temp dir. */
  async destroy(): Promise<void> {
    await Promise.all([...this.agents.keys()].map((n) => this.stop(n, true)));
    rmSync(this.root, { recursive: true, force: true });
  }
}
