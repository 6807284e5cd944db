/**
 * The `--variant NAME=ROOT[,FLAG…]` argument of `npm run bench:cluster`: another commitlog
 * cluster, run from checkout ROOT with extra agent flags, measured in the same rounds.
 */

/** A parsed `--variant`. */
export interface Variant {
  readonly name: string;
  readonly root: string;
  readonly flags: readonly string[];
}

/**
 * Parses `NAME=ROOT[,FLAG…]`, splitting at the first '=' only: the flags carry their own
 * ("--gossip-preset=local"). Throws naming the expected shape.
 */
export function parseVariant(v: string): Variant {
  const eq = v.indexOf('=');
  const name = eq < 0 ? v : v.slice(0, eq);
  const [root, ...flags] = (eq < 0 ? '' : v.slice(eq + 1)).split(',');
  if (!/^[a-z][a-z0-9_]*$/i.test(name) || !root) throw new Error(`--variant NAME=ROOT[,FLAG...], got ${v}`);
  return { name, root, flags };
}
