/**
 * Starts the local test node, runs one command against it, stops it:
 *
 *   bash test/node/node.sh run -- tsx test/node/serve.ts <images.json> -- <command…>
 *
 * <images.json> is the output of `npm run -s images -- --json` (the commitlog images and the
 * sandbox image). The command runs in the node's namespaces with
 *   KUBECONFIG          the admin kubeconfig
 *   PATH                the test binaries (kubectl, helm, …) first
 *   E2E_NODE_IMAGE, E2E_OPERATOR_IMAGE   the images as pods name them (name:tag), unless
 *                       already set (any image imported here may be named, e.g. commitlog-pause)
 *   E2E_CONTAINERD_ADDRESS   the node's containerd socket (`ctr --address`, namespace k8s.io)
 * If the command fails and E2E_LOGS is set, the logs of every node component and every pod's
 * log files are copied into $E2E_LOGS/node/. Exits with the command's status.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testbinDir } from '../controlplane/config.js';
import { LocalNode, type ImageArchive } from './local-node.js';

interface Built extends ImageArchive {
  readonly ref: string;
}

function say(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] node: ${msg}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const imagesJson = argv[0];
  const command = argv.slice(sep + 1);
  if (sep !== 1 || imagesJson === undefined || command.length === 0) {
    say('usage: tsx test/node/serve.ts <images.json> -- <command…>');
    return 64;
  }
  const built = JSON.parse(readFileSync(imagesJson, 'utf8')) as Built[];
  const find = (n: string): Built => {
    const b = built.find((x) => x.name === n);
    if (b === undefined) throw new Error(`${imagesJson} has no ${n} (run npm run images)`);
    return b;
  };
  const t0 = Date.now();
  say('starting: control plane, containerd, kubelet, kube-proxy, CoreDNS, LoadBalancer and volume addons');
  const node = await LocalNode.start({
    images: [find('commitlog-node'), find('commitlog-operator')],
    pause: find('commitlog-pause'),
  });
  say(`ready in ${Math.round((Date.now() - t0) / 1000)}s (API server ${node.cp.server})`);
  let status = 1;
  try {
    status = await new Promise<number>((resolve, reject) => {
      const child = spawn(command[0] ?? '', command.slice(1), {
        stdio: 'inherit',
        env: {
          ...process.env,
          KUBECONFIG: node.cp.kubeconfigPath,
          PATH: `${testbinDir()}:${process.env['PATH'] ?? ''}`,
          // Set by the caller, they win (e.g. a deliberately broken image to test failure paths).
          E2E_NODE_IMAGE: process.env['E2E_NODE_IMAGE'] ?? find('commitlog-node').ref,
          E2E_OPERATOR_IMAGE: process.env['E2E_OPERATOR_IMAGE'] ?? find('commitlog-operator').ref,
          E2E_CONTAINERD_ADDRESS: join(node.dirs.containerd, 'containerd.sock'),
        },
      });
      const forward = (sig: NodeJS.Signals): void => {
        child.kill(sig);
      };
      process.on('SIGINT', forward).on('SIGTERM', forward);
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal !== null ? 128 + 15 : 1)));
    });
  } finally {
    const logs = process.env['E2E_LOGS'];
    if (status !== 0 && logs !== undefined && logs !== '') {
      node.collectLogs(join(logs, 'node'));
      say(`node and pod logs copied to ${join(logs, 'node')}`);
    }
    await node.stop();
  }
  return status;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(`ERROR: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
