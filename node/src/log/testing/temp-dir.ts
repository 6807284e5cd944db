/**
 * Test helpers of the log: temporary directories that are always removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates a fresh temporary directory whose name starts with `commitlog-<prefix>-`. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `commitlog-${prefix}-`));
}

/** Removes a directory made by {@link makeTempDir}. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The bytes of a string, as record values in tests. */
export function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}
