/**
 * The one GetServers resolution of the client, used by CommitLogClient (client.ts) and by
 * the grpc-js resolver (grpc-lb.ts): ask the candidates in order (seeds first, then the
 * servers seen before) and take the first answer that names a leader; when no answer
 * does, the first non-empty one (a node that is not a member yet, or mid-election,
 * answers without a leader). An empty answer or a failed call moves on to the next.
 * A caller may distrust some leaders (CommitLogClient: one that went silent, which the
 * other servers keep naming until they elect another, Raft §5.2): an answer naming such a
 * leader is only a fallback, so the search goes on for an answer naming a trusted one.
 */
import type { GetServersResponse, Server } from '../gen/v1/log.js';

/** The outcome: the servers and who answered, or the last error (none answered usefully). */
export type ResolvedServers =
  | { readonly ok: true; readonly servers: readonly Server[]; readonly via: string }
  | { readonly ok: false; readonly tried: readonly string[]; readonly lastError: unknown };

/**
 * Asks `candidates` (duplicates dropped, order kept) by `ask` until one answers with a
 * leader; see the module header for the rule. `usable` filters each answer's servers
 * (e.g. those with a dialable address) before it is judged; `trusted` says whether an
 * answer's leader counts as one (default: every leader does).
 */
export async function resolveServers(
  candidates: readonly string[],
  ask: (addr: string) => Promise<GetServersResponse>,
  usable: (s: Server) => boolean = () => true,
  trusted: (leader: Server) => boolean = () => true,
): Promise<ResolvedServers> {
  const tried = [...new Set(candidates)];
  let fallback: { servers: Server[]; via: string } | undefined;
  let lastError: unknown;
  for (const addr of tried) {
    try {
      const servers = (await ask(addr)).servers.filter(usable);
      if (servers.length === 0) continue;
      if (servers.some((s) => s.isLeader && trusted(s))) return { ok: true, servers, via: addr };
      fallback ??= { servers, via: addr };
    } catch (err) {
      lastError = err;
    }
  }
  return fallback !== undefined ? { ok: true, ...fallback } : { ok: false, tried, lastError };
}
