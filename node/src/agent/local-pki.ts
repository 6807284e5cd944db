/**
 * The certificates and ACL of a local cluster (npm start, tests): a CA, ONE node
 * certificate (CN {@link NODE_CN}, IP SAN 127.0.0.1, DNS localhost; serverAuth + clientAuth,
 * used for gRPC, Raft and Produce forwarding) and client certificates "root" and "nobody".
 *
 * ACL subject of nodes: the node certificate's CN. The policy grants it produce, consume
 * and admin, because a follower forwards Produce to the leader with that identity.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCA, issueClientCert, issueServerCert } from '../tls/certs.js';
import { writePemPair } from '../tls/pem-files.js';

/** CN of the node certificate: the ACL subject of node-to-node calls. */
export const NODE_CN = 'commitlog-node';

const MODEL = fileURLToPath(new URL('../../config/acl/model.conf', import.meta.url));

/** Paths of a local PKI. */
export interface LocalPki {
  readonly ca: string;
  readonly nodeCert: string;
  readonly nodeKey: string;
  readonly rootCert: string;
  readonly rootKey: string;
  readonly nobodyCert: string;
  readonly nobodyKey: string;
  readonly aclModel: string;
  readonly aclPolicy: string;
}

/** The file layout under `dir`. */
export function localPkiPaths(dir: string): LocalPki {
  const c = join(dir, 'certs');
  return {
    ca: join(c, 'ca.pem'),
    nodeCert: join(c, 'node.pem'),
    nodeKey: join(c, 'node-key.pem'),
    rootCert: join(c, 'root-client.pem'),
    rootKey: join(c, 'root-client-key.pem'),
    nobodyCert: join(c, 'nobody-client.pem'),
    nobodyKey: join(c, 'nobody-client-key.pem'),
    aclModel: join(dir, 'acl', 'model.conf'),
    aclPolicy: join(dir, 'acl', 'policy.csv'),
  };
}

/** Creates the PKI and ACL under `dir` unless every file exists already; returns the paths and whether it created them. */
export async function ensureLocalPki(dir: string): Promise<{ readonly paths: LocalPki; readonly created: boolean }> {
  const paths = localPkiPaths(dir);
  if (Object.values(paths).every((p) => existsSync(p))) return { paths, created: false };
  const certs = join(dir, 'certs');
  const ca = await createCA({ commonName: 'commitlog local CA' });
  writePemPair(certs, 'ca', ca);
  writePemPair(certs, 'node', await issueServerCert(ca, { commonName: NODE_CN, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] }));
  for (const cn of ['root', 'nobody']) writePemPair(certs, `${cn}-client`, await issueClientCert(ca, { commonName: cn }));
  mkdirSync(join(dir, 'acl'), { recursive: true });
  copyFileSync(MODEL, paths.aclModel);
  const rules = ['root', NODE_CN].flatMap((sub) => ['produce', 'consume', 'admin'].map((act) => `p, ${sub}, *, ${act}`));
  writeFileSync(paths.aclPolicy, `${rules.join('\n')}\n`);
  return { paths, created: true };
}

/** The agent flags that use this PKI (TLS with client certificates, ACL). */
export function localPkiFlags(p: LocalPki): Record<string, string> {
  return {
    'server-tls-cert-file': p.nodeCert,
    'server-tls-key-file': p.nodeKey,
    'server-tls-ca-file': p.ca,
    'acl-model-file': p.aclModel,
    'acl-policy-file': p.aclPolicy,
  };
}
