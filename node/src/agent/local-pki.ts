/**
 * The certificates, ACL and gossip key of a local cluster (npm start, tests): a CA, a node
 * certificate per node name (CN {@link NODE_CN}, DNS SANs the node name and localhost, IP
 * SAN 127.0.0.1; serverAuth + clientAuth, used for gRPC, Raft and Produce forwarding),
 * client certificates "root" and "nobody", and an AES-256 gossip key (gossip is encrypted
 * by default). A shared node certificate (`node.pem`, no node name) remains for tools that
 * run one node.
 *
 * ACL subject of nodes: the node certificate's CN. The policy grants it produce, consume
 * and admin, because a follower forwards Produce to the leader with that identity. The
 * node NAME is bound to the certificate by its DNS SAN (node/src/agent/identity.ts), as
 * the operator's certificates carry the pod name.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCA, issueClientCert, issueServerCert } from '../tls/certs.js';
import { readPemPair, writeFileAtomic, writePemPair } from '../tls/pem-files.js';

/** CN of the node certificate: the ACL subject of node-to-node calls. */
export const NODE_CN = 'commitlog-node';

const MODEL = fileURLToPath(new URL('../../config/acl/model.conf', import.meta.url));

/** Paths of a local PKI. */
export interface LocalPki {
  readonly ca: string;
  readonly caKey: string;
  readonly nodeCert: string;
  readonly nodeKey: string;
  readonly rootCert: string;
  readonly rootKey: string;
  readonly nobodyCert: string;
  readonly nobodyKey: string;
  readonly aclModel: string;
  readonly aclPolicy: string;
  /** The gossip key file (one base64 AES-256 key), passed as --gossip-key-file. */
  readonly gossipKey: string;
}

/** The file layout under `dir`. */
export function localPkiPaths(dir: string): LocalPki {
  const c = join(dir, 'certs');
  return {
    ca: join(c, 'ca.pem'),
    caKey: join(c, 'ca-key.pem'),
    nodeCert: join(c, 'node.pem'),
    nodeKey: join(c, 'node-key.pem'),
    rootCert: join(c, 'root-client.pem'),
    rootKey: join(c, 'root-client-key.pem'),
    nobodyCert: join(c, 'nobody-client.pem'),
    nobodyKey: join(c, 'nobody-client-key.pem'),
    aclModel: join(dir, 'acl', 'model.conf'),
    aclPolicy: join(dir, 'acl', 'policy.csv'),
    gossipKey: join(dir, 'gossip.key'),
  };
}

/** Writes a fresh gossip key to `file` unless it exists (a cluster keeps its key across restarts). */
function ensureGossipKey(file: string): boolean {
  if (existsSync(file)) return false;
  writeFileAtomic(file, `${randomBytes(32).toString('base64')}\n`, 0o600);
  return true;
}

/** Creates the PKI and ACL under `dir` unless every file exists already; returns the paths and whether it created them. */
export async function ensureLocalPki(dir: string): Promise<{ readonly paths: LocalPki; readonly created: boolean }> {
  const paths = localPkiPaths(dir);
  mkdirSync(dir, { recursive: true });
  // A directory from before gossip encryption gets its key without a new PKI.
  const newKey = ensureGossipKey(paths.gossipKey);
  if (Object.values(paths).every((p) => existsSync(p))) return { paths, created: newKey };
  const certs = join(dir, 'certs');
  const ca = await createCA({ commonName: 'commitlog local CA' });
  writePemPair(certs, 'ca', ca);
  writePemPair(
    certs,
    'node',
    await issueServerCert(ca, { commonName: NODE_CN, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] }),
  );
  for (const cn of ['root', 'nobody'])
    writePemPair(certs, `${cn}-client`, await issueClientCert(ca, { commonName: cn }));
  mkdirSync(join(dir, 'acl'), { recursive: true });
  copyFileSync(MODEL, paths.aclModel);
  const rules = ['root', NODE_CN].flatMap((sub) =>
    ['produce', 'consume', 'admin'].map((act) => `p, ${sub}, *, ${act}`),
  );
  writeFileSync(paths.aclPolicy, `${rules.join('\n')}\n`);
  return { paths, created: true };
}

/**
 * Issues (once) the certificate of node `name`: `certs/node-<name>.pem`, DNS SANs `name` and
 * localhost, IP SAN 127.0.0.1, CN {@link NODE_CN}. Returns its paths.
 */
export async function ensureNodeCert(
  p: LocalPki,
  name: string,
): Promise<{ readonly certFile: string; readonly keyFile: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(name))
    throw new Error(`node name "${name}" cannot be a DNS name in a certificate`);
  const files = nodeCertFiles(p, name);
  if (existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  const ca = readPemPair({ certFile: p.ca, keyFile: p.caKey });
  return writePemPair(
    dirname(p.ca),
    `node-${name}`,
    await issueServerCert(ca, { commonName: NODE_CN, ipAddresses: ['127.0.0.1'], dnsNames: [name, 'localhost'] }),
  );
}

/** Where {@link ensureNodeCert} keeps node `name`'s certificate and key. */
export function nodeCertFiles(p: LocalPki, name: string): { readonly certFile: string; readonly keyFile: string } {
  return { certFile: join(dirname(p.ca), `node-${name}.pem`), keyFile: join(dirname(p.ca), `node-${name}-key.pem`) };
}

/**
 * The agent flags that use this PKI (TLS with client certificates, ACL). With `node` (from
 * {@link ensureNodeCert}) the node serves and dials with its own certificate, which names
 * it — what a multi-node cluster needs (node/src/agent/identity.ts) — and encrypts gossip
 * with the cluster's key.
 */
export function localPkiFlags(
  p: LocalPki,
  node?: { readonly certFile: string; readonly keyFile: string },
): Record<string, string> {
  return {
    'server-tls-cert-file': node?.certFile ?? p.nodeCert,
    'server-tls-key-file': node?.keyFile ?? p.nodeKey,
    'server-tls-ca-file': p.ca,
    'acl-model-file': p.aclModel,
    'acl-policy-file': p.aclPolicy,
    // A node of a cluster (node certificate given) also encrypts gossip with the cluster's key.
    ...(node !== undefined ? { 'gossip-key-file': p.gossipKey } : {}),
  };
}
