/**
 * The contract between the model and the node: the real `commitlog agent` (run as a child
 * process through its CLI, not imported) starts with the ConfigMap's node.yaml, the
 * StatefulSet's environment (with $(VAR) expanded as the kubelet does) and the Secret's
 * files, at the paths the pod would see (rewritten into a temp dir).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { V1ConfigMap, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { createCa, issueLeaf } from '../certs/pki.js';
import { until } from '../kube/wait.js';
import { allObjects, desiredObjects } from './index.js';
import { Bootstrap } from './inputs.js';
import { clientDnsNames, NODE_CN, OPERATOR_CN, PATHS, podDnsNames } from './names.js';
import { loadExample } from './test-support.js';
import { validateCluster } from './validate.js';

const cliMain = resolve(import.meta.dirname, '../../../node/src/cli/main.ts');

describe('node contract: commitlog agent accepts what the model renders', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'commitlog-contract-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('starts with node.yaml, the pod environment and the mounted certificates', async () => {
    const c = loadExample('minimal.yaml');
    const v = validateCluster(c);
    assert.ok(v.ok);
    const now = new Date();
    const ca = await createCa('contract CA', now, 30);
    const server = await issueLeaf(ca, { commonName: NODE_CN, dnsNames: [...podDnsNames('demo', 'default', 0), ...clientDnsNames('demo', 'default'), 'localhost'], usage: 'server' }, now, 30);
    const client = await issueLeaf(ca, { commonName: OPERATOR_CN, dnsNames: [], usage: 'client' }, now, 30);
    const objs = allObjects(desiredObjects(c, v.spec, {
      clusterId: 'cid', bootstrap: Bootstrap.allowed, statefulSetReplicas: 1, gossipKey: 'a2V5',
      externalAddresses: {},
      certificates: { caCertPem: ca.certPem, servers: { 'demo-0': server }, users: { root: client }, operator: client },
    }));
    const remap = (p: string): string => p.replaceAll(PATHS.config, join(dir, 'config')).replaceAll(PATHS.tls, join(dir, 'tls'))
      .replaceAll(PATHS.gossip, join(dir, 'gossip')).replaceAll(PATHS.data, join(dir, 'data'));
    const cm = objs.find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
    const mount = (sub: string, files: Record<string, string>, decode: boolean): void => {
      mkdirSync(join(dir, sub), { recursive: true });
      for (const [k, val] of Object.entries(files)) writeFileSync(join(dir, sub, k), decode ? Buffer.from(val, 'base64') : remap(val));
    };
    mount('config', cm.data ?? {}, false);
    mount('tls', (objs.find((o) => o.metadata?.name === 'demo-server-tls') as V1Secret).data ?? {}, true);
    mount('gossip', (objs.find((o) => o.metadata?.name === 'demo-gossip') as V1Secret).data ?? {}, true);

    // The container's environment, expanded like the kubelet does ($(VAR) of earlier entries).
    const sts = objs.find((o) => o.kind === 'StatefulSet') as V1StatefulSet;
    const container = sts.spec?.template.spec?.containers[0];
    const env: Record<string, string> = { POD_NAME: 'demo-0', POD_NAMESPACE: 'default' };
    for (const e of container?.env ?? []) {
      if (e.value !== undefined) env[e.name] = remap(e.value.replace(/\$\((\w+)\)/g, (_m, k: string) => env[k] ?? ''));
    }
    // Test-only overrides: loopback and free ports instead of the pod's 0.0.0.0:8401/8400/8402.
    Object.assign(env, { COMMITLOG_BIND_ADDR: '127.0.0.1:0', COMMITLOG_RPC_PORT: '0', COMMITLOG_HTTP_PORT: '0' });

    const args = (container?.args ?? []).map(remap);
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => out.includes('agent started') || child.exitCode !== null, 'the agent to start', 20_000, 50);
      assert.ok(out.includes('agent started'), `the agent did not start:\n${out}`);
      child.kill('SIGTERM');
      await exited;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
