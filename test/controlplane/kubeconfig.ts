/**
 * Kubeconfig files for the test control plane: one per client identity, each with the CA
 * and a client certificate embedded, so the file alone is enough (for kubectl, helm and
 * @kubernetes/client-node).
 */
import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { CertAndKey } from './pki.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Renders a kubeconfig for `user` against `server` (an https URL). */
export function renderKubeconfig(
  server: string,
  caPem: string,
  user: string,
  client: CertAndKey,
  namespace = 'default',
): string {
  const cluster = 'commitlog-test';
  const context = `${user}@${cluster}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [
      { name: user, user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) } },
    ],
    contexts: [{ name: context, context: { cluster, user, namespace } }],
    'current-context': context,
  });
}

/** Writes the kubeconfig to `path` (mode 0600) and returns it loaded. */
export function writeKubeconfig(path: string, text: string): KubeConfig {
  writeFileSync(path, text, { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromString(text);
  return kc;
}
