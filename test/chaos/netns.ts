/**
 * The chaos tier's network: one bridge namespace `<prefix>-br` holding bridge `br0`
 * (10.77.0.254/24), and one namespace `<prefix>-n<i>` per node whose `eth0` (10.77.0.<i+1>/24)
 * is one end of a veth pair whose other end sits on the bridge. Every link is created inside
 * the namespaces (never in the host's), so deleting the namespaces removes all of it; the
 * host's own network is never touched. Faults act on one node's `eth0` inside its namespace.
 */
import { execFileSync } from 'node:child_process';

/** A node's address on the chaos bridge. */
export const nodeIp = (i: number): string => `10.77.0.${i + 1}`;

/** The bridge namespace's own address (the orchestrator's clients dial from it). */
export const BRIDGE_IP = '10.77.0.254';

/** Runs `ip …` (or another command with `cmd`), throwing with its stderr on failure. */
export function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `cmd args…` inside namespace `ns`. */
export function inNs(ns: string, cmd: string, ...args: string[]): string {
  return sh('ip', 'netns', 'exec', ns, cmd, ...args);
}

/** The names of one chaos network. */
export interface ChaosNet {
  readonly bridge: string;
  readonly nodes: readonly string[];
}

/** The namespace names for `prefix` and `n` nodes (pure). */
export function netNames(prefix: string, n: number): ChaosNet {
  return { bridge: `${prefix}-br`, nodes: Array.from({ length: n }, (_, i) => `${prefix}-n${i}`) };
}

/** Whether this process can build namespaces: root and a working `ip netns`; otherwise why not. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN)';
  try {
    sh('ip', 'netns', 'list');
    sh('tc', '-V');
  } catch (e) {
    return `ip netns / tc unavailable: ${(e as Error).message.split('\n')[0] ?? ''}`;
  }
  return undefined;
}

/** Creates the namespaces, the bridge and the veth pairs. On any failure it removes what it made and throws. */
export function createNet(net: ChaosNet): void {
  try {
    sh('ip', 'netns', 'add', net.bridge);
    inNs(net.bridge, 'ip', 'link', 'set', 'lo', 'up');
    inNs(net.bridge, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
    inNs(net.bridge, 'ip', 'addr', 'add', `${BRIDGE_IP}/24`, 'dev', 'br0');
    inNs(net.bridge, 'ip', 'link', 'set', 'br0', 'up');
    net.nodes.forEach((ns, i) => {
      sh('ip', 'netns', 'add', ns);
      inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
      // Created in the bridge namespace, the node end moved straight into the node's.
      inNs(net.bridge, 'ip', 'link', 'add', `b${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      inNs(net.bridge, 'ip', 'link', 'set', `b${i}`, 'master', 'br0');
      inNs(net.bridge, 'ip', 'link', 'set', `b${i}`, 'up');
      inNs(ns, 'ip', 'addr', 'add', `${nodeIp(i)}/24`, 'dev', 'eth0');
      inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
    });
  } catch (e) {
    deleteNet(net);
    throw e;
  }
}

/**
 * Removes the namespaces of `net` (by name; missing ones are skipped). Processes still
 * inside one of them (agents of a crashed run, all started by the chaos tier) are killed by
 * pid first, so no namespace outlives the run. Returns what it could not remove.
 */
export function deleteNet(net: ChaosNet): string[] {
  const failed: string[] = [];
  const existing = new Set(
    sh('ip', 'netns', 'list')
      .split('\n')
      .map((l) => l.split(' ')[0]),
  );
  for (const ns of [...net.nodes, net.bridge]) {
    if (!existing.has(ns)) continue;
    try {
      for (const pid of sh('ip', 'netns', 'pids', ns)
        .split('\n')
        .filter((p) => p !== ''))
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      sh('ip', 'netns', 'del', ns);
    } catch (e) {
      failed.push(`${ns}: ${(e as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  return failed;
}
