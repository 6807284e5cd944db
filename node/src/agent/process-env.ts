/**
 * How an agent process is started so that its resident memory stays bounded (issue 15):
 * `npm start`, `npm run bench:cluster` and the node image (node/Dockerfile, checked by
 * scripts/images/images.test.ts) all use these.
 *
 * Measured on a 3-node cluster after the bench's workloads (bench/cluster/memory.ts), what
 * held a node's memory outside the live objects was:
 * - V8's young generation: its semi-spaces grow with the allocation rate up to Node 24's
 *   default maximum (64 MiB each on this machine) and stay committed: 128 MiB of "new space"
 *   for a 30–80 MiB live heap. 16 MiB semi-spaces cap it at 32 MiB; the scavenges get more
 *   frequent but each costs what survives, not what was allocated (CPU per op unchanged
 *   within the noise of that run).
 * - glibc malloc arenas: one per thread that allocates (libuv's fs workers, V8's workers),
 *   each keeping freed memory; two arenas cut the non-heap anonymous memory from ~80 to ~50 MiB.
 * Both are process-start settings (V8 sizes its heap and glibc reads MALLOC_ARENA_MAX before
 * any of our code runs), hence flags and environment rather than code.
 */

/** Arguments for `node` itself, before the script. */
export const AGENT_NODE_ARGS: readonly string[] = ['--max-semi-space-size=16'];

/** Environment variables an agent process gets unless the caller's environment sets them. */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** `env` with {@link AGENT_ENV} filled in where `env` leaves them unset. */
export function agentProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...AGENT_ENV, ...env };
}
