/**
 * A local cluster of real `commitlog agent` processes (node/src/cli/main.ts), for tests that
 * need a running cluster from the outside: its /metrics (promtool lint), a Prometheus that
 * scrapes it (the Grafana dashboard). Every node on free ports of 127.0.0.1, mutual TLS from a
 * local PKI, the `test` Raft preset and the `local` gossip preset; n0 bootstraps, the others
 * join it through gossip.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalPki, ensureNodeCert, localPkiFlags, type LocalPki } from '../../agent/local-pki.js';
import { eventually } from '../../agent/testing/cluster.js';
import { freePort } from '../../agent/testing/processes.js';
import { startCliAgent, type CliAgent } from './fixtures.js';

/** Options of {@link startCliCluster}. */
export interface CliClusterOptions {
  /** Number of nodes, n0 … n(size-1). */
  readonly size: number;
  /** The cluster id in the nodes' config file; also names the temp directory. */
  readonly clusterId: string;
  /** How long every node may take to answer /readyz 200 (default 60 s). */
  readonly readyTimeoutMs?: number;
  /** Picks a free port of 127.0.0.1 (default {@link freePort}; tests of the retry inject one). */
  readonly freePort?: () => Promise<number>;
}

/** Start attempts per node when a port it was given is taken before it binds (EADDRINUSE). */
const START_ATTEMPTS = 3;

/** A running {@link startCliCluster} cluster. */
export interface CliCluster {
  /** The temp directory: PKI, config file, one data directory per node. */
  readonly dir: string;
  /** The local PKI (`rootCert`/`rootKey` are a client certificate with every right). */
  readonly pki: LocalPki;
  /** The agents, n0 first; each answered /readyz 200. */
  readonly agents: readonly CliAgent[];
  /** SIGKILLs every agent still running and removes {@link dir}. Safe to call twice. */
  destroy(): void;
}

/**
 * Starts `size` agents and resolves once each answers /readyz with 200. On a failure the
 * agents started so far are killed and the directory removed before the error is thrown.
 */
export async function startCliCluster(o: CliClusterOptions): Promise<CliCluster> {
  const dir = mkdtempSync(join(tmpdir(), `commitlog-${o.clusterId}-`));
  const agents: CliAgent[] = [];
  const destroy = (): void => {
    for (const a of agents) if (a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = (await ensureLocalPki(dir)).paths;
    const config = join(dir, 'node.yaml');
    writeFileSync(
      config,
      `cluster-id: ${o.clusterId}\nraft-preset: test\ngossip-preset: local\nrequest-log-level: silent\n`,
    );
    const port = o.freePort ?? freePort;
    // A port found free is closed again before the agent binds it, and on a busy machine the
    // kernel can hand it to another socket meanwhile (a stress run saw "cannot listen for gossip
    // on 127.0.0.1:42091: EADDRINUSE"): such a start is retried on new ports, with the node's
    // data directory removed first (the failed start created it, and n0 bootstraps only an
    // empty one).
    const start = async (name: string, extra: string[]): Promise<{ agent: CliAgent; gossip: number }> => {
      for (let attempt = 1; ; attempt++) {
        const gossip = await port();
        try {
          const agent = await startCliAgent([
            'agent',
            '--node-name',
            name,
            '--data-dir',
            join(dir, name),
            '--config-file',
            config,
            '--bind-addr',
            `127.0.0.1:${gossip}`,
            '--rpc-port',
            String(await port()),
            '--http-port',
            String(await port()),
            ...Object.entries(localPkiFlags(pki, await ensureNodeCert(pki, name))).flatMap(([k, v]) => [`--${k}`, v]),
            ...extra,
          ]);
          return { agent, gossip };
        } catch (err) {
          if (attempt >= START_ATTEMPTS || !String((err as Error).message).includes('EADDRINUSE')) throw err;
          rmSync(join(dir, name), { recursive: true, force: true });
        }
      }
    };
    const first = await start('n0', ['--bootstrap']);
    agents.push(first.agent);
    for (let i = 1; i < o.size; i++)
      agents.push((await start(`n${i}`, ['--start-join-addrs', `127.0.0.1:${first.gossip}`])).agent);
    for (const a of agents)
      await eventually(
        `node on ${a.httpPort} ready`,
        async () => (await fetch(`http://127.0.0.1:${a.httpPort}/readyz`)).status === 200,
        o.readyTimeoutMs ?? 60_000,
      );
    return { dir, pki, agents, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}
