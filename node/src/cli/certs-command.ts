/**
 * `commitlog certs`: a CA, server and client certificates as PEM files, cfssl-style names
 * (`ca.pem`/`ca-key.pem`, `server.pem`/`server-key.pem`, `<cn>-client.pem`), without cfssl.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCA, issueClientCert, issueServerCert, type PemPair } from '../tls/certs.js';
import { writePemPair } from '../tls/pem-files.js';

/** Options shared by the subcommands. */
export interface CertsFlags {
  readonly outDir: string;
  readonly days?: number;
}

function readCa(outDir: string, caCert?: string, caKey?: string): PemPair {
  const certFile = caCert ?? join(outDir, 'ca.pem');
  const keyFile = caKey ?? join(outDir, 'ca-key.pem');
  for (const f of [certFile, keyFile])
    if (!existsSync(f))
      throw new Error(
        `CA file ${f} not found: run \`commitlog certs ca --out-dir ${outDir}\` first or pass --ca-cert/--ca-key`,
      );
  return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
}

/** `certs ca`: writes ca.pem and ca-key.pem. Returns the files written. */
export async function certsCa(flags: CertsFlags & { cn?: string }): Promise<string[]> {
  const ca = await createCA({ commonName: flags.cn ?? 'commitlog CA', validDays: flags.days ?? 3650 });
  const p = writePemPair(flags.outDir, 'ca', ca);
  return [p.certFile, p.keyFile];
}

/** `certs server`: a server certificate with DNS and IP SANs. */
export async function certsServer(
  flags: CertsFlags & { name?: string; dns?: string[]; ip?: string[]; cn?: string; caCert?: string; caKey?: string },
): Promise<string[]> {
  const ca = readCa(flags.outDir, flags.caCert, flags.caKey);
  const pair = await issueServerCert(ca, {
    commonName: flags.cn,
    dnsNames: flags.dns ?? [],
    ipAddresses: flags.ip ?? [],
    validDays: flags.days ?? 365,
  });
  const p = writePemPair(flags.outDir, flags.name ?? 'server', pair);
  return [p.certFile, p.keyFile];
}

/** `certs client`: a client certificate whose CN is the ACL subject. */
export async function certsClient(
  flags: CertsFlags & { cn: string; name?: string; caCert?: string; caKey?: string },
): Promise<string[]> {
  const ca = readCa(flags.outDir, flags.caCert, flags.caKey);
  const pair = await issueClientCert(ca, { commonName: flags.cn, validDays: flags.days ?? 365 });
  const p = writePemPair(flags.outDir, flags.name ?? `${flags.cn}-client`, pair);
  return [p.certFile, p.keyFile];
}

/** `certs init`: CA + server certificate + one client certificate per CN (book: root, nobody). */
export async function certsInit(
  flags: CertsFlags & { dns?: string[]; ip?: string[]; client?: string[] },
): Promise<string[]> {
  const files = await certsCa(flags);
  files.push(
    ...(await certsServer({
      ...flags,
      dns: flags.dns?.length ? flags.dns : ['localhost'],
      ip: flags.ip?.length ? flags.ip : ['127.0.0.1'],
    })),
  );
  for (const cn of flags.client?.length ? flags.client : ['root', 'nobody'])
    files.push(...(await certsClient({ ...flags, cn })));
  return files;
}
