/**
 * gRPC credentials from PEM files, for the server (reloaded when the files change) and
 * for clients.
 *
 * Server side: grpc-js (1.14) lets a ServerCredentials object push new secure-context
 * options to its http2 servers (`setSecureContext`), which affects only new TLS
 * handshakes: connections already open keep their session. We feed it through the
 * experimental CertificateProvider interface from a {@link FileWatcher}.
 *
 * Mutual TLS: when a client CA is configured the server *requests* a client certificate
 * but does not fail the handshake without a valid one; instead every Log/Admin call on such
 * a connection is answered UNAUTHENTICATED (grpc-js exposes the peer certificate only
 * for authorized sockets). That gives callers a gRPC status instead of a bare connection
 * failure, and lets health checks work without a certificate.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import {
  credentials as grpcCredentials,
  type ChannelCredentials,
  experimental,
  ServerCredentials,
} from '@grpc/grpc-js';
import { FileWatcher } from './file-watcher.js';

/** PEM files of a TLS endpoint. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that client (or server, for a client) certificates must chain to. */
  readonly caFile?: string | undefined;
}

/** Thrown when TLS files are missing or unusable. */
export class TlsFilesError extends Error {
  readonly code = 'TLS_FILES';
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'TlsFilesError';
  }
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsFilesError(`cannot read ${what} file ${file}: ${(err as Error).message}`, file);
  }
}

interface Loaded {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** Reads and validates the files (key matches certificate; CA parses). */
export function loadTlsFiles(files: TlsFiles): Loaded {
  const cert = read(files.certFile, 'certificate');
  const key = read(files.keyFile, 'private key');
  const ca = files.caFile ? read(files.caFile, 'CA') : undefined;
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new TlsFilesError(
      `unusable TLS files (${files.certFile}, ${files.keyFile}${files.caFile ? `, ${files.caFile}` : ''}): ${(err as Error).message}`,
    );
  }
  return { cert, key, ca };
}

type IdentityListener = experimental.IdentityCertificateUpdateListener;
type CaListener = experimental.CaCertificateUpdateListener;

/**
 * A grpc-js CertificateProvider backed by files: loads them at construction (throws
 * {@link TlsFilesError} if unusable) and again whenever they change on disk. A change
 * that leaves the files unusable (e.g. key replaced before certificate) keeps the last
 * good pair and is retried on the next event.
 */
export class ReloadingCertificateProvider implements experimental.CertificateProvider {
  private current: Loaded;
  private readonly identity = new Set<IdentityListener>();
  private readonly cas = new Set<CaListener>();
  private readonly watcher: FileWatcher;
  /** Number of successful reloads since start (for tests and metrics). */
  reloads = 0;

  constructor(
    private readonly files: TlsFiles,
    onReload: (err: unknown | null) => void = () => {},
  ) {
    this.current = loadTlsFiles(files);
    const paths = [files.certFile, files.keyFile, ...(files.caFile ? [files.caFile] : [])];
    this.watcher = new FileWatcher(
      paths,
      () => {
        this.current = loadTlsFiles(this.files);
        this.reloads++;
        for (const l of this.cas) l(this.caUpdate());
        for (const l of this.identity) l(this.identityUpdate());
        onReload(null);
      },
      (err) => onReload(err),
      { pollMs: 60_000 },
    );
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: this.current.cert, privateKey: this.current.key };
  }

  private caUpdate(): experimental.CaCertificateUpdate | null {
    return this.current.ca ? { caCertificate: this.current.ca } : null;
  }

  /** Re-reads the files now (the watcher does this by itself). */
  checkNow(): void {
    this.watcher.check();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.cas.add(listener);
    // Deliver on the next tick, as grpc-js's own provider does: grpc-js registers its
    // watcher only after adding the listener, so a synchronous call would be lost.
    process.nextTick(() => {
      if (this.cas.has(listener)) listener(this.caUpdate());
    });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.cas.delete(listener);
  }
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.add(listener);
    process.nextTick(() => {
      if (this.identity.has(listener)) listener(this.identityUpdate());
    });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identity.delete(listener);
  }

  /** Stops watching the files. */
  close(): void {
    this.watcher.close();
  }
}

/** Server credentials plus the provider to close on shutdown. */
export interface ServerTls {
  readonly credentials: ServerCredentials;
  /** True when a client CA is configured (mutual TLS: calls need a verified client certificate). */
  readonly mutual: boolean;
  readonly provider: ReloadingCertificateProvider | undefined;
  close(): void;
}

/**
 * Builds server credentials: insecure when `files` is undefined, else TLS from reloading
 * files, mutual when `files.caFile` is set.
 */
export function serverTls(files: TlsFiles | undefined, onReload?: (err: unknown | null) => void): ServerTls {
  if (!files) {
    return { credentials: ServerCredentials.createInsecure(), mutual: false, provider: undefined, close: () => {} };
  }
  const provider = new ReloadingCertificateProvider(files, onReload);
  const mutual = files.caFile !== undefined;
  // requireClientCertificate=false: see the file comment (UNAUTHENTICATED per call instead).
  const credentials = experimental.createCertificateProviderServerCredentials(
    provider,
    mutual ? provider : null,
    false,
  );
  return { credentials, mutual, provider, close: () => provider.close() };
}

/** Client TLS files: all optional; a CA to trust the server, a cert+key for mutual TLS. */
export interface ClientTlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/**
 * Builds client channel credentials: insecure when nothing is given (and `insecure` is
 * true), else TLS trusting `caFile` (or the system roots) with an optional client pair.
 */
export function clientCredentials(files: ClientTlsFiles, insecure = false): ChannelCredentials {
  if (insecure) return grpcCredentials.createInsecure();
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new TlsFilesError('a client certificate needs both --cert-file and --key-file');
  }
  return grpcCredentials.createSsl(
    files.caFile ? read(files.caFile, 'CA') : null,
    files.keyFile ? read(files.keyFile, 'private key') : null,
    files.certFile ? read(files.certFile, 'certificate') : null,
  );
}

/** Client credentials whose files are re-read when they change, plus the provider to close. */
export interface ReloadingClientTls {
  readonly credentials: ChannelCredentials;
  readonly provider: ReloadingCertificateProvider;
  close(): void;
}

/**
 * Builds client channel credentials from files that are reloaded when they change (a client
 * that mounts its Secret, as a pod does): every new connection's handshake uses the files as
 * they are then, connections already open keep their session. What a client needs to live
 * through a phased CA rotation (trust bundle first, then its re-issued certificate, then the
 * new CA alone) and short-lived certificates without a restart. Throws {@link TlsFilesError}
 * when the files are unusable at start; a later unusable change keeps the last good set.
 */
export function reloadingClientCredentials(
  files: TlsFiles & { readonly caFile: string },
  onReload?: (err: unknown | null) => void,
): ReloadingClientTls {
  const provider = new ReloadingCertificateProvider(files, onReload);
  return {
    credentials: experimental.createCertificateProviderChannelCredentials(provider, provider),
    provider,
    close: () => provider.close(),
  };
}

/** Client credentials from PEM strings (tests, operator). */
export function clientCredentialsFromPem(
  caPem: string,
  pair?: { certPem: string; keyPem: string },
): ChannelCredentials {
  return grpcCredentials.createSsl(
    Buffer.from(caPem),
    pair ? Buffer.from(pair.keyPem) : null,
    pair ? Buffer.from(pair.certPem) : null,
  );
}
