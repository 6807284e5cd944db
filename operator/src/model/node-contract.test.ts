/**
 * The contract between the model and the node: what the operator renders for a pod of
 * examples/full.yaml — the ConfigMap's node.yaml and external.yaml, the server-TLS and
 * gossip Secrets, the StatefulSet's environment (downward API values filled in and $(VAR)
 * expanded as the kubelet does) — is materialized into a temp dir exactly as the kubelet
 * mounts it, and the real cluster agent (a child process: the operator imports nothing of
 * the node but its generated gRPC clients) resolves its configuration from it and starts.
 * Then the kubelet's probes are asked the way the StatefulSet asks them: plaintext gRPC
 * health on the RPC port, liveness "" and readiness `log.v1.Log`.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { V1ConfigMap, V1Container, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
  type HealthCheckResponse,
} from '../../../node/src/gen/grpc/health/v1/health.js';
import { createCa, gossipKey, issueLeaf } from '../certs/pki.js';
import { until } from '../kube/testing/wait.js';
import { allObjects, desiredObjects } from './index.js';
import { Bootstrap } from './inputs.js';
import { clientDnsNames, NODE_CN, OPERATOR_CN, PATHS, podDnsNames } from './names.js';
import { loadExample } from './testing/support.js';
import { validateCluster } from './validate.js';

// The image's entry point: the container runs `commitlog <args>` = `commitlog agent --config-file …`,
// which resolves its options with resolveClusterAgentConfig (node/src/agent/config.ts).
const cliMain = resolve(import.meta.dirname, '../../../node/src/cli/main.ts');

/** One pod's mounts and environment, materialized under `dir/<pod>`. */
interface MaterializedPod {
  readonly args: string[];
  readonly env: Record<string, string>;
}

describe('node contract: the cluster agent runs on what the model renders (examples/full.yaml)', function () {
  this.timeout(40_000);
  let dir: string;
  const children: ChildProcess[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-contract-'));
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function render(): Promise<{ objs: ReturnType<typeof allObjects>; ns: string }> {
    const c = loadExample('full.yaml');
    const v = validateCluster(c);
    assert.ok(v.ok);
    const n = c.metadata.name;
    const ns = c.metadata.namespace ?? 'default';
    const now = new Date();
    const ca = await createCa('contract CA', now, 30);
    const servers = Object.fromEntries(
      await Promise.all(
        [0, 1].map(
          async (i) =>
            [
              `${n}-${i}`,
              await issueLeaf(
                ca,
                {
                  commonName: NODE_CN,
                  dnsNames: [...podDnsNames(n, ns, i), ...clientDnsNames(n, ns), 'localhost'],
                  usage: 'server',
                },
                now,
                30,
              ),
            ] as const,
        ),
      ),
    );
    const client = await issueLeaf(ca, { commonName: OPERATOR_CN, dnsNames: [], usage: 'client' }, now, 30);
    const users = Object.fromEntries(v.spec.acl.rules.map((r) => [r.user, client]));
    const objs = allObjects(
      desiredObjects(c, v.spec, {
        clusterId: 'cid-contract',
        bootstrap: Bootstrap.allowed,
        statefulSetReplicas: 2,
        gossipKey: gossipKey(),
        externalAddresses: { [`${n}-0`]: '203.0.113.9:30400' },
        certificates: { caCertPem: ca.certPem, servers, users, operator: client },
      }),
    );
    return { objs, ns };
  }

  /** Mounts every volume of the pod template as the kubelet would, under `root`, and builds the container's environment. */
  function materialize(objs: ReturnType<typeof allObjects>, ns: string, pod: string, podIp: string): MaterializedPod {
    const root = join(dir, pod);
    const remap = (p: string): string =>
      p
        .replaceAll(PATHS.config, join(root, 'config'))
        .replaceAll(PATHS.tls, join(root, 'tls'))
        .replaceAll(PATHS.gossip, join(root, 'gossip'))
        .replaceAll(PATHS.data, join(root, 'data'));
    const sts = objs.find((o) => o.kind === 'StatefulSet') as V1StatefulSet;
    const spec = sts.spec?.template.spec;
    const container = spec?.containers[0] as V1Container;
    for (const m of container.volumeMounts ?? []) {
      const vol = spec?.volumes?.find((v) => v.name === m.name);
      const target = remap(m.mountPath);
      mkdirSync(target, { recursive: true });
      // A ConfigMap volume holds its data as text; a Secret volume the decoded bytes.
      if (vol?.configMap) {
        const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === vol.configMap?.name) as V1ConfigMap;
        for (const [k, val] of Object.entries(cm.data ?? {})) writeFileSync(join(target, k), val);
      } else if (vol?.secret) {
        const s = objs.find((o) => o.kind === 'Secret' && o.metadata?.name === vol.secret?.secretName) as V1Secret;
        assert.ok(s, `Secret ${vol.secret.secretName} is rendered`);
        for (const [k, val] of Object.entries(s.data ?? {})) writeFileSync(join(target, k), Buffer.from(val, 'base64'));
      }
    }
    // The downward API, then $(VAR) expansion of earlier entries.
    const fields: Record<string, string> = { 'metadata.name': pod, 'metadata.namespace': ns, 'status.podIP': podIp };
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) {
      if (e.valueFrom?.fieldRef)
        env[e.name] =
          fields[e.valueFrom.fieldRef.fieldPath] ?? assert.fail(`unknown fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      else if (e.value !== undefined)
        env[e.name] = remap(e.value.replace(/\$\((\w+)\)/g, (_m, k: string) => env[k] ?? ''));
    }
    assert.equal(container.args?.[0], 'agent');
    return { args: (container.args ?? []).map(remap), env };
  }

  /** The mounted node.yaml names the pod's paths; point them into the temp dir (paths only, values unchanged otherwise). */
  function remapConfigFile(pod: string): void {
    const root = join(dir, pod);
    const file = join(root, 'config', 'node.yaml');
    const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const [k, val] of Object.entries(doc)) {
      if (typeof val === 'string')
        doc[k] = val
          .replaceAll(PATHS.config, join(root, 'config'))
          .replaceAll(PATHS.tls, join(root, 'tls'))
          .replaceAll(PATHS.gossip, join(root, 'gossip'))
          .replaceAll(PATHS.data, join(root, 'data'));
    }
    writeFileSync(file, JSON.stringify(doc));
  }

  function start(p: MaterializedPod): { child: ChildProcess; out: () => string } {
    // Test-only overrides: loopback and free ports instead of the pod's 0.0.0.0:8401/8400/8402/8403.
    const env = {
      ...process.env,
      ...p.env,
      COMMITLOG_BIND_ADDR: '127.0.0.1:0',
      COMMITLOG_RPC_PORT: '0',
      COMMITLOG_HTTP_PORT: '0',
      COMMITLOG_JSON_PORT: '0',
      COMMITLOG_GOSSIP_ADVERTISE_ADDR: '',
      COMMITLOG_RAFT_PRESET: 'test',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...p.args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    return { child, out: () => out };
  }

  const started = (out: string): Record<string, unknown> | undefined =>
    out
      .split('\n')
      .filter((l) => l.includes('"agent started"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)[0];

  it('pod 0 bootstraps, pod 1 does not; both start; the plaintext probes see liveness and then readiness on the RPC port', async () => {
    const { objs, ns } = await render();
    const pods = ['orders-0', 'orders-1'].map((pod) => {
      const m = materialize(objs, ns, pod, '127.0.0.1');
      remapConfigFile(pod);
      // The env var the StatefulSet sets from status.podIP, as the agent receives it.
      assert.equal(m.env.COMMITLOG_GOSSIP_ADVERTISE_ADDR, '127.0.0.1:8401');
      assert.equal(m.env.COMMITLOG_NODE_NAME, pod);
      return { pod, run: start(m) };
    });
    const [p0, p1] = pods.map((p) => p.run);
    assert.ok(p0 && p1);
    await until(
      () => [p0, p1].every((p) => started(p.out()) !== undefined || p.child.exitCode !== null),
      'both agents to start',
      25_000,
      50,
    );
    const s0 = started(p0.out());
    const s1 = started(p1.out());
    assert.ok(s0, `orders-0 did not start:\n${p0.out()}`);
    assert.ok(s1, `orders-1 did not start:\n${p1.out()}`);
    assert.equal(s0.bootstrap, true, 'ordinal 0 may bootstrap');
    assert.equal(s1.bootstrap, false, 'the shared file allows bootstrap for ordinal 0 only');
    assert.equal(s0.clusterId, 'cid-contract');
    assert.equal(s0.externalAddr, '203.0.113.9:30400', "orders-0's entry of external.yaml");
    assert.equal(s1.externalAddr, undefined);

    const check = (port: unknown, service: string): Promise<Serving> => {
      const h = new HealthClient(`127.0.0.1:${String(port)}`, credentials.createInsecure());
      return new Promise<Serving>((res, rej) =>
        h.check(
          { service },
          new Metadata(),
          { deadline: Date.now() + 3000 },
          (err: ServiceError | null, r: HealthCheckResponse) => {
            h.close();
            if (err) rej(err);
            else res(r.status);
          },
        ),
      );
    };
    assert.equal(await check(s0.rpcPort, ''), Serving.SERVING, 'liveness');
    await until(
      async () => (await check(s0.rpcPort, 'log.v1.Log')) === Serving.SERVING,
      'orders-0 ready (bootstrapped leader)',
      10_000,
      100,
    );
    // orders-1 cannot reach the seeds (cluster DNS names) here: live, never added, not ready.
    assert.equal(await check(s1.rpcPort, ''), Serving.SERVING);
    assert.equal(await check(s1.rpcPort, 'log.v1.Log'), Serving.NOT_SERVING);

    for (const p of [p0, p1]) p.child.kill('SIGTERM');
    const codes = await Promise.all(
      [p0, p1].map(
        (p) =>
          new Promise<number | null>((r) =>
            p.child.exitCode !== null ? r(p.child.exitCode) : p.child.on('exit', (code) => r(code)),
          ),
      ),
    );
    assert.deepEqual(codes, [0, 0], 'graceful stop');
  });
});
