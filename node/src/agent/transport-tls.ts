/**
 * The Raft transport's TLS material from files, reloaded when they change.
 *
 * Kubernetes rotates a mounted Secret in place (it swaps the `..data` symlink), and the
 * operator renews node certificates before they expire; the gRPC server already follows
 * its files (node/src/tls/credentials.ts). This does the same for the Raft TcpTransport,
 * with the same {@link FileWatcher}: on a change it re-reads and checks the files (the key
 * must match the certificate, the CA must parse) and calls `updateTls`, which affects new
 * connections only — open Raft connections keep their session, as for gRPC.
 *
 * A bad or half-written set (e.g. the key replaced before the certificate) keeps the
 * previous material and logs a warning; the watcher retries on the next change and on a
 * slow poll, so the second half of a two-step write is picked up.
 */
import type { TransportTls } from '../raft/index.js';
import { loadTlsFiles } from '../tls/credentials.js';
import { FileWatcher, type FileWatcherOptions } from '../tls/file-watcher.js';

/** The PEM files of a node's Raft identity: its certificate and key, and the cluster CA. */
export interface TransportTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** What {@link watchTransportTls} needs of a transport (TcpTransport has it). */
export interface TlsUpdatable {
  updateTls(tls: TransportTls): void;
}

/** Where {@link watchTransportTls} reports. */
export interface TransportTlsLogger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/**
 * Reads and checks the files (key matches certificate, CA parses).
 * @throws TlsFilesError naming the unreadable or unusable file(s).
 */
export function readTransportTls(files: TransportTlsFiles): TransportTls {
  const { cert, key, ca } = loadTlsFiles(files);
  return {
    certPem: cert.toString('utf8'),
    keyPem: key.toString('utf8'),
    caPem: (ca ?? Buffer.alloc(0)).toString('utf8'),
  };
}

/** A running watch; {@link close} it when the transport stops. */
export interface TransportTlsWatch {
  /** Re-reads now if the files changed (the watcher does this by itself). */
  checkNow(): void;
  close(): void;
}

/**
 * Calls `transport.updateTls` whenever the files change to a usable set. `onReload` gets
 * null after a reload, the error after a rejected change (metrics).
 */
export function watchTransportTls(
  transport: TlsUpdatable,
  files: TransportTlsFiles,
  o: {
    readonly logger: TransportTlsLogger;
    readonly onReload?: (err: unknown) => void;
    readonly watcher?: FileWatcherOptions;
  },
): TransportTlsWatch {
  const paths = [...new Set([files.certFile, files.keyFile, files.caFile])];
  const watcher = new FileWatcher(
    paths,
    () => {
      // Throws before updateTls when the set is unusable: the watcher keeps the old digest and retries.
      transport.updateTls(readTransportTls(files));
      o.logger.info({ files: paths }, 'raft transport TLS files reloaded; new connections use them');
      o.onReload?.(null);
    },
    (err) => {
      o.logger.warn(
        { err: (err as Error).message, files: paths },
        'raft transport TLS files changed but do not load; keeping the previous certificate',
      );
      o.onReload?.(err);
    },
    { pollMs: 60_000, ...o.watcher },
  );
  return { checkNow: () => watcher.check(), close: () => watcher.close() };
}
