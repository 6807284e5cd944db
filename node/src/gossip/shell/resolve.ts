/**
 * Seed resolution. Seeds are `host:port`; a host name is resolved to all its addresses on
 * every join attempt, because in Kubernetes the pods behind a headless Service come and go.
 */
import { lookup } from 'node:dns/promises';
import { type Address } from '../core/types.js';
import { formatAddress, parseAddress } from './net-transport.js';

/** A seed that could not be resolved. */
export interface SeedError {
  readonly seed: string;
  readonly reason: string;
}

/** Resolves each seed to every address it currently names. */
export async function resolveSeeds(
  seeds: readonly string[],
): Promise<{ readonly addrs: Address[]; readonly errors: SeedError[] }> {
  const addrs: Address[] = [];
  const errors: SeedError[] = [];
  await Promise.all(
    seeds.map(async (seed) => {
      try {
        const { host, port } = parseAddress(seed);
        const found = await lookup(host, { all: true });
        for (const f of found) addrs.push(formatAddress(f.address, port));
      } catch (e) {
        errors.push({ seed, reason: e instanceof Error ? e.message : String(e) });
      }
    }),
  );
  return { addrs: [...new Set(addrs)], errors };
}
