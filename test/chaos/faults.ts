/**
 * The chaos tier's faults: how each is injected and healed (run.ts holds each 2-5 s between
 * the two, one at a time, then waits for the cluster to heal). Network faults act inside a
 * node's own namespace only (its `eth0`, its iptables); process faults act on agent
 * processes the run started; membership faults go through the agents' Admin service the
 * way the operator does (leadership moved off a member before it is removed); the rogue
 * runs in a namespace of its own (rogue.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync, truncateSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { LocalPki } from '../../node/src/agent/local-pki.js';
import { ChaosAgents } from './agents.js';
import { inNs, nodeIp } from './netns.js';
import { ROGUE_MODES } from './rogue.js';

const ROGUE = fileURLToPath(new URL('./rogue.ts', import.meta.url));

/** The fault kinds, in the order the RNG indexes them (all on by default). */
export const FAULTS = [
  'isolate-leader',
  'split-2-1',
  'one-way',
  'netem',
  'kill-restart',
  'pause-leader',
  'wipe-follower',
  'damage-tail',
  'remove-add',
  'add-remove',
  'rogue-gossip',
] as const;
export type FaultKind = (typeof FAULTS)[number];

/** Node index of the fourth agent of `add-remove`, and of the rogue's namespace. */
export const EXTRA_NODE = 3;
export const ROGUE_NODE = 4;
/** Namespaces a run needs: the three nodes, the fourth agent of `add-remove`, the rogue's. */
export const NAMESPACES = ROGUE_NODE + 1;

/** What a fault needs from the run. */
export interface FaultContext {
  readonly agents: ChaosAgents;
  /** Namespace of node i (0-2 the cluster, {@link EXTRA_NODE}, {@link ROGUE_NODE}). */
  readonly ns: (i: number) => string;
  /** The cluster's nodes (0..2). */
  readonly members: readonly number[];
  readonly pki: LocalPki;
  readonly netem: boolean;
  /** Uniform integer in [0, n). */
  readonly pick: (n: number) => number;
  /** Waits (bounded) for a value, retrying on errors. */
  readonly waitFor: <T>(what: string, ms: number, f: () => Promise<T | undefined>) => Promise<T>;
  /** Records a violation found during the fault (it fails the run). */
  readonly problem: (msg: string) => void;
  readonly say: (msg: string) => void;
}

/** An injected fault: the node it hit, what was done, and how to heal it. */
export interface Injected {
  readonly node: number;
  readonly detail?: string;
  heal(): Promise<string | undefined>;
}

/** Injects `kind`, with `lead` the current leader (or a guess). */
export async function inject(c: FaultContext, kind: FaultKind, lead: number): Promise<Injected> {
  const follower = (): number =>
    c.members[(c.members.indexOf(lead) + 1 + c.pick(c.members.length - 1)) % c.members.length] as number;
  switch (kind) {
    case 'isolate-leader':
    case 'split-2-1': {
      const node = kind === 'isolate-leader' ? lead : (c.members[c.pick(c.members.length)] as number);
      inNs(c.ns(node), 'ip', 'link', 'set', 'eth0', 'down');
      return { node, heal: () => (inNs(c.ns(node), 'ip', 'link', 'set', 'eth0', 'up'), done()) };
    }
    case 'one-way': {
      // Only one direction of the node's traffic is dropped (the other flows): inside its namespace.
      const node = c.members[c.pick(c.members.length)] as number;
      const [chain, dir] = c.pick(2) === 0 ? ['INPUT', '-i'] : ['OUTPUT', '-o'];
      inNs(c.ns(node), 'iptables', '-A', chain as string, dir as string, 'eth0', '-j', 'DROP');
      return {
        node,
        detail: chain === 'INPUT' ? 'drops what it receives' : 'drops what it sends',
        heal: () => (inNs(c.ns(node), 'iptables', '-F'), done()),
      };
    }
    case 'netem': {
      const node = c.members[c.pick(c.members.length)] as number;
      degrade(c.ns(node), c.netem, c.pick);
      return { node, heal: () => (undegrade(c.ns(node)), done()) };
    }
    case 'kill-restart': {
      const node = c.members[c.pick(c.members.length)] as number;
      await c.agents.stop(node);
      return { node, heal: () => (c.agents.start(node, c.members), done()) };
    }
    case 'pause-leader':
      c.agents.signal(lead, 'SIGSTOP');
      return { node: lead, heal: () => (c.agents.signal(lead, 'SIGCONT'), done()) };
    case 'wipe-follower': {
      const node = follower();
      await c.agents.stop(node);
      rmSync(c.agents.dataDir(node), { recursive: true, force: true });
      return { node, heal: () => (c.agents.start(node, c.members), done()) };
    }
    case 'damage-tail': {
      const node = follower();
      await c.agents.stop(node);
      const detail = damageTail(join(c.agents.dataDir(node), 'raft', 'log'), c.pick);
      return { node, detail, heal: () => (c.agents.start(node, c.members), done()) };
    }
    case 'remove-add':
      return removeAdd(c, c.members[c.pick(c.members.length)] as number, lead);
    case 'add-remove':
      return addRemove(c);
    case 'rogue-gossip':
      return rogue(c, lead);
  }
}

const done = (): Promise<undefined> => Promise.resolve(undefined);

/**
 * Delay and loss on `ns`'s eth0: netem where the kernel has it; otherwise random loss with
 * iptables' statistic match (rules in that namespace only) and a tbf rate limit whose queue
 * adds delay.
 */
function degrade(ns: string, netem: boolean, pick: (n: number) => number): void {
  const loss = 5 + pick(15);
  if (netem) {
    inNs(
      ns,
      'tc',
      'qdisc',
      'add',
      'dev',
      'eth0',
      'root',
      'netem',
      'delay',
      `${50 + pick(150)}ms`,
      '20ms',
      'loss',
      `${loss}%`,
    );
    return;
  }
  for (const chain of ['INPUT', 'OUTPUT'])
    inNs(
      ns,
      'iptables',
      '-A',
      chain,
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      String(loss / 100),
      '-j',
      'DROP',
    );
  inNs(
    ns,
    'tc',
    'qdisc',
    'add',
    'dev',
    'eth0',
    'root',
    'tbf',
    'rate',
    `${256 + pick(768)}kbit`,
    'burst',
    '16kbit',
    'latency',
    '200ms',
  );
}

function undegrade(ns: string): void {
  inNs(ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root');
  inNs(ns, 'iptables', '-F');
}

/** Whether the kernel has the netem qdisc (tried on `lo` of namespace `ns`, then removed). */
export function netemAvailable(ns: string): boolean {
  try {
    inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms');
    inNs(ns, 'tc', 'qdisc', 'del', 'dev', 'lo', 'root');
    return true;
  } catch {
    return false;
  }
}

/**
 * Cuts or garbles the end of the last segment's store file in `logDir` (the node is
 * stopped): up to 4 KiB, at random. Returns what it did.
 */
export function damageTail(logDir: string, pick: (n: number) => number): string {
  const last = readdirSync(logDir)
    .filter((f) => f.endsWith('.store'))
    .sort((x, y) => Number.parseInt(x, 10) - Number.parseInt(y, 10))
    .at(-1);
  if (last === undefined) return 'no segment to damage';
  const file = join(logDir, last);
  const size = statSync(file).size;
  const n = Math.min(size, 1 + pick(4096));
  if (pick(2) === 0) {
    truncateSync(file, size - n);
    return `cut the last ${n} of ${size} bytes of ${last}`;
  }
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, randomBytes(n), 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  return `garbled the last ${n} of ${size} bytes of ${last}`;
}

/** Retries an Admin change until it succeeds (a change may be refused while another is pending). */
function change<T>(c: FaultContext, what: string, f: () => Promise<T>): Promise<T> {
  return c.waitFor(what, 60_000, async () => f());
}

/** The current leader among `nodes`, waited for. */
function leaderOf(c: FaultContext, nodes: readonly number[]): Promise<number> {
  return c.waitFor('a leader', 60_000, () => c.agents.leader(nodes));
}

/** Removes `id` through the leader the way the operator does: leadership moved off it first. */
async function removeMember(c: FaultContext, nodes: readonly number[], node: number): Promise<void> {
  const id = ChaosAgents.nameOf(node);
  await change(c, `RemoveMember ${id}`, async () => {
    let l = await leaderOf(c, nodes);
    if (l === node) {
      const to = await c.agents.transfer(l);
      c.say(`transferred leadership from ${id} to ${to} before removing it`);
      l = await leaderOf(c, nodes);
      if (l === node) return undefined;
    }
    // A retry after a reply that was lost: the removal may have committed already.
    if (!(await c.agents.members(l)).some((m) => m.id === id)) return true;
    await c.agents.remove(l, id);
    return true;
  });
}

/**
 * A scale-down and back up: `node` removed from the configuration through the Admin service,
 * then stopped (SIGTERM, as a pod is deleted); at the heal it starts again on its data
 * directory (the volume outlives the pod) and gossip brings it back as a learner, then a voter.
 */
async function removeAdd(c: FaultContext, node: number, lead: number): Promise<Injected> {
  await removeMember(c, c.members, node);
  await c.agents.stop(node, 'SIGTERM');
  return {
    node,
    detail: node === lead ? 'the leader (leadership transferred first)' : 'a follower',
    heal: () => (c.agents.start(node, c.members), done()),
  };
}

/**
 * A scale-up and back down: a fourth agent joins (a learner, promoted once caught up: four
 * voters), and at the heal it is removed through the Admin service (leadership moved off it
 * first), stopped, and its data directory deleted.
 */
async function addRemove(c: FaultContext): Promise<Injected> {
  const node = EXTRA_NODE;
  const all = [...c.members, node];
  await c.agents.prepare(node);
  c.agents.start(node, c.members);
  await c.waitFor(`${ChaosAgents.nameOf(node)} a caught-up voter of four`, 240_000, () =>
    c.agents.unhealed(all).then((why) => (why === undefined ? true : undefined)),
  );
  return {
    node,
    detail: 'a fourth voter',
    heal: async () => {
      await removeMember(c, all, node);
      await c.agents.stop(node, 'SIGTERM');
      rmSync(c.agents.dataDir(node), { recursive: true, force: true });
      return undefined;
    },
  };
}

/**
 * A rogue gossip member (rogue.ts) in its own namespace: an impostor of a member, a stranger
 * with the gossip key but no cluster certificate, or a process without the key. While it
 * runs and after it leaves, no node's GetServers and no configuration may list anything but
 * the three members, at their own addresses.
 */
async function rogue(c: FaultContext, lead: number): Promise<Injected> {
  const mode = ROGUE_MODES[c.pick(ROGUE_MODES.length)] as (typeof ROGUE_MODES)[number];
  const victim = c.members.filter((m) => m !== lead)[c.pick(c.members.length - 1)] as number;
  const name = mode === 'impostor' ? ChaosAgents.nameOf(victim) : mode === 'stranger' ? 'rogue' : 'plain';
  const seeds = c.members.map((i) => `${nodeIp(i)}:8401`).join(',');
  const p: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      c.ns(ROGUE_NODE),
      process.execPath,
      '--import',
      'tsx',
      ROGUE,
      mode,
      name,
      nodeIp(ROGUE_NODE),
      seeds,
      c.pki.gossipKey,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => c.say(`rogue: ${d.toString().trim()}`));
  const exited = new Promise((r) => p.once('exit', r));
  // Its start (a CA, a certificate, gossip) takes seconds on a busy machine: the hold starts once it joined.
  const ready = await c
    .waitFor('the rogue to join gossip', 60_000, () =>
      Promise.resolve(
        out
          .split('\n')
          .filter((l) => l.startsWith('{"ready"'))
          .map((l) => JSON.parse(l) as { joined: number })[0],
      ),
    )
    .catch((e: unknown) => {
      p.kill('SIGKILL');
      throw e;
    });
  if (mode === 'plaintext' && ready.joined > 0)
    c.problem(`rogue plaintext "${name}": ${ready.joined} member(s) accepted a join without the gossip key`);
  const expected = new Map(c.members.map((i) => [ChaosAgents.nameOf(i), c.agents.rpcAddr(i)]));
  const check = async (): Promise<void> => {
    for (const i of c.members) {
      const servers = await c.agents.servers(i).catch(() => undefined);
      for (const s of servers ?? [])
        if (expected.get(s.id) !== s.rpcAddr)
          c.problem(`rogue ${mode} "${name}": GetServers on ${ChaosAgents.nameOf(i)} lists ${s.id} at ${s.rpcAddr}`);
      const members = await c.agents.members(i).catch(() => undefined);
      for (const m of members ?? [])
        if (!expected.has(m.id))
          c.problem(`rogue ${mode} "${name}": ${m.id} is in ${ChaosAgents.nameOf(i)}'s configuration`);
    }
  };
  let watching = true;
  const watch = (async () => {
    while (watching) {
      await check();
      await sleep(500);
    }
  })();
  return {
    node: ROGUE_NODE,
    detail: `${mode} "${name}"`,
    heal: async () => {
      watching = false;
      await watch;
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
      await check();
      return out.trim().split('\n').at(-1);
    },
  };
}
