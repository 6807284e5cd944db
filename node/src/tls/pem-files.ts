/**
 * Writing certificate/key pairs to disk with cfssl's naming, as the book's Makefile did:
 * `<name>.pem` and `<name>-key.pem`. Writes are atomic (temp file + rename) so a watcher
 * never reads half a file, and keys are mode 0600.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PemPair } from './certs.js';

/** Paths of a pair written by {@link writePemPair}. */
export interface PemPaths {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Writes `content` to `file` atomically with the given mode. */
export function writeFileAtomic(file: string, content: string | Buffer, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}

/** Writes `pair` as `<dir>/<name>.pem` and `<dir>/<name>-key.pem` (creating `dir`). */
export function writePemPair(dir: string, name: string, pair: PemPair): PemPaths {
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  writeFileAtomic(keyFile, pair.keyPem, 0o600);
  writeFileAtomic(certFile, pair.certPem);
  return { certFile, keyFile };
}

/** Reads a pair written by {@link writePemPair}. */
export function readPemPair(paths: PemPaths): PemPair {
  return { certPem: readFileSync(paths.certFile, 'utf8'), keyPem: readFileSync(paths.keyFile, 'utf8') };
}
