/**
 * Scripted scenarios in the style of etcd-io/raft's interaction tests: a text file of
 * commands, each followed by `----` and the output it produced (messages delivered,
 * Readies, core log lines). `runScenario` executes a script and returns the file it
 * should be; the test compares, and UPDATE_GOLDEN=1 rewrites.
 *
 * `expect <id> key=value…` states the point of a script (role, term, lead, commit, applied,
 * last of a node) and throws when it does not hold: it is checked on every run, including
 * UPDATE_GOLDEN=1, so regenerating the golden output cannot silently accept a regression of
 * what the script exists to show (the invariant checker also runs after every delivery).
 */
import type { MemoryStorage } from '../core/memory-storage.js';
import { logIndex, nodeId, term as toTerm, type ConfChange, type Entry, type NodeId } from '../core/types.js';
import type { RaftConfig } from '../core/config.js';
import { SimCluster } from './cluster.js';
import { formatEntry } from './format.js';

const enc = new TextEncoder();

/** One parsed block: the command line and the expected output lines. */
export interface ScenarioBlock {
  readonly command: string;
  readonly expected: readonly string[];
}

/** Parses a scenario file: blocks separated by blank lines; `#` lines are comments kept before a command. */
export function parseScenario(text: string): { comments: string[]; block: ScenarioBlock }[] {
  const out: { comments: string[]; block: ScenarioBlock }[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const comments: string[] = [];
    while (i < lines.length && ((lines[i] ?? '').trim() === '' || (lines[i] ?? '').startsWith('#'))) {
      if ((lines[i] ?? '').startsWith('#')) comments.push(lines[i] ?? '');
      i++;
    }
    if (i >= lines.length) break;
    const command = (lines[i++] ?? '').trim();
    const expected: string[] = [];
    if ((lines[i] ?? '') === '----') {
      i++;
      while (i < lines.length && (lines[i] ?? '') !== '') expected.push(lines[i++] ?? '');
    }
    out.push({ comments, block: { command, expected } });
  }
  return out;
}

/** Runs a scenario file's commands on a fresh cluster; returns the regenerated file text. */
export function runScenario(text: string): string {
  const lines: string[] = [];
  const env: ScenarioEnv = { cluster: null, trace: (l) => lines.push(l) };
  const parts: string[] = [];
  for (const { comments, block } of parseScenario(text)) {
    lines.length = 0;
    exec(env, block.command, lines);
    const output = lines.length === 0 ? ['ok'] : lines.map((l) => (l === '' ? '.' : l));
    parts.push([...comments, block.command, '----', ...output].join('\n'));
  }
  return parts.join('\n\n') + '\n';
}

interface ScenarioEnv {
  cluster: SimCluster | null;
  readonly trace: (line: string) => void;
}

const flags: Record<string, (v: string) => Partial<Omit<RaftConfig, 'id'>>> = {
  prevote: (v) => ({ preVote: v === 'true' }),
  checkquorum: (v) => ({ checkQuorum: v === 'true' }),
  maxbatch: (v) => ({ maxEntryBatchBytes: Number(v) }),
};

function exec(env: ScenarioEnv, command: string, out: string[]): void {
  const [cmd, ...args] = command.split(/\s+/);
  if (cmd === 'cluster') {
    const kvs = args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]);
    let raft: Partial<Omit<RaftConfig, 'id'>> = {};
    for (const [k, v] of kvs) if (flags[k] !== undefined) raft = { ...raft, ...flags[k](v) };
    env.cluster = new SimCluster({ seed: 1, trace: env.trace, raft });
    env.cluster.verbose = true;
  }
  const c = env.cluster;
  if (c === null) throw new Error('the first command must be `cluster`');
  const kv = new Map(args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]));
  const pos = args.filter((a) => !a.includes('='));
  const ids = (xs: readonly string[]): NodeId[] => xs.map(nodeId);
  const raw = (id: string) => {
    const r = c.node(id).raw;
    if (r === null) throw new Error(`${id} is down`);
    return r;
  };
  switch (cmd) {
    case 'cluster': {
      // cluster <voter>... [learners=a,b] [prevote=false] [checkquorum=false] [maxbatch=N]
      const voters = ids(pos).sort();
      const learners = ids((kv.get('learners') ?? '').split(',').filter((s) => s !== '')).sort();
      for (const id of [...voters, ...learners]) c.addNode(id, { voters, learners });
      return;
    }
    case 'add-node':
      for (const id of ids(pos)) c.addNode(id, null);
      return;
    case 'set-log': {
      // set-log <id> term=T <term of entry 1> <term of entry 2> ...: replaces the node's durable log.
      const n = c.memoryNode(pos[0] ?? '');
      const st = n.storage.initialState();
      n.crash();
      const ents: Entry[] = pos.slice(1).map((t, i) => ({
        index: logIndex(i + 1),
        term: toTerm(Number(t)),
        type: 'data',
        data: enc.encode(`v${i + 1}`),
      }));
      (n as { storage: MemoryStorage }).storage.append(ents);
      n.storage.setHardState({
        term: toTerm(Number(kv.get('term') ?? '0')),
        vote: null,
        commit: logIndex(Number(kv.get('commit') ?? '0')),
      });
      n.storage.setConfState(st.confState);
      n.start();
      return;
    }
    case 'campaign':
      raw(pos[0] ?? '').campaign();
      return;
    case 'tick': {
      // tick <id>... [n=<times>]: ticks the listed nodes in turn.
      const times = Number(kv.get('n') ?? '1');
      for (let i = 0; i < times; i++) for (const id of pos) raw(id).tick();
      return;
    }
    case 'process':
      // process <id>...: each node persists and sends its pending Readies (no delivery).
      for (const id of pos) {
        const n = c.memoryNode(id);
        while (n.takeReady()) n.persist();
      }
      c.inv.step(c.nodes.values());
      return;
    case 'deliver': {
      // deliver [from->to]: delivers the messages in flight (all, or on one link).
      const [from, to] = (pos[0] ?? '->').split('->');
      const msgs = c.net.due(Number.MAX_SAFE_INTEGER);
      for (const m of msgs) {
        if ((from === '' || m.from === from) && (to === '' || m.to === to)) c.deliver(m);
        else c.net.send(0, m);
      }
      c.inv.step(c.nodes.values());
      return;
    }
    case 'cut':
      // cut a b: cuts the link between a and b in both directions (heal restores).
      c.net.setLink(nodeId(pos[0] ?? ''), nodeId(pos[1] ?? ''), false);
      c.net.setLink(nodeId(pos[1] ?? ''), nodeId(pos[0] ?? ''), false);
      return;
    case 'stabilize':
      c.stabilize();
      return;
    case 'propose': {
      const r = raw(pos[0] ?? '').propose(enc.encode(pos[1] ?? ''));
      out.push(`propose: ${JSON.stringify(r)}`);
      return;
    }
    case 'propose-conf': {
      const type = ({ 'add-learner': 'addLearner', promote: 'promote', remove: 'remove' } as const)[
        pos[1] as 'promote'
      ];
      const cc = { type, node: nodeId(pos[2] ?? '') } as ConfChange;
      out.push(`propose-conf: ${JSON.stringify(raw(pos[0] ?? '').proposeConfChange(cc))}`);
      return;
    }
    case 'transfer':
      out.push(`transfer: ${JSON.stringify(raw(pos[0] ?? '').transferLeadership(nodeId(pos[1] ?? '')))}`);
      return;
    case 'read-index': {
      raw(pos[0] ?? ''); // throws when down
      out.push(`read-index: ${JSON.stringify(c.readIndex(c.node(pos[0] ?? ''), pos[1] ?? ''))}`);
      return;
    }
    case 'partition': {
      const groups = args
        .join(' ')
        .split('|')
        .map((g) =>
          ids(
            g
              .trim()
              .split(/\s+/)
              .filter((s) => s !== ''),
          ),
        );
      c.net.partition(groups);
      return;
    }
    case 'heal':
      c.net.heal();
      return;
    case 'crash':
      c.node(pos[0] ?? '').crash();
      return;
    case 'restart':
      c.memoryNode(pos[0] ?? '').start();
      return;
    case 'compact': {
      const ok = c.node(pos[0] ?? '').compact(0);
      out.push(`compact: ${ok ? `snapshot at ${c.node(pos[0] ?? '').storage.snapshot().index}` : 'nothing to do'}`);
      return;
    }
    case 'drop': {
      const [from, to] = (pos[0] ?? '').split('->');
      out.push(`dropped ${c.net.drop((m) => m.from === from && m.to === to)}`);
      return;
    }
    case 'expect': {
      // expect <id> role=leader term=4 commit=0 …: the script's point, never rewritten.
      const id = pos[0] ?? '';
      const st = raw(id).status();
      const actual: Record<string, string> = {
        role: st.role,
        term: String(st.term),
        lead: st.lead ?? '-',
        commit: String(st.commit),
        applied: String(st.applied),
        last: String(st.lastIndex),
      };
      for (const [k, v] of kv) {
        if (!(k in actual)) throw new Error(`expect: unknown key ${k}`);
        if (actual[k] !== v)
          throw new Error(
            `expect failed (UPDATE_GOLDEN=1 does not rewrite it): ${id} ${k}=${actual[k]}, expected ${v}`,
          );
      }
      return;
    }
    case 'status':
      for (const id of pos) {
        const st = raw(id).status();
        out.push(
          `${id} ${st.role} term=${st.term} lead=${st.lead ?? '-'} commit=${st.commit} applied=${st.applied} last=${st.lastIndex} voters=(${st.confState.voters.join(' ')}) learners=(${st.confState.learners.join(' ')})`,
        );
      }
      return;
    case 'log':
      for (const id of pos) {
        const s = c.memoryNode(id).storage;
        const ents =
          s.lastIndex() >= s.firstIndex() ? s.entries(s.firstIndex(), logIndex(s.lastIndex() + 1), Infinity) : [];
        out.push(
          `${id} log (snapshot ${s.snapshot().index}/${s.snapshot().term}): [${ents.map(formatEntry).join(', ')}]`,
        );
      }
      return;
    case 'records':
      for (const id of pos)
        out.push(
          `${id} records: ${c
            .node(id)
            .sm.records.map((r) => `${r.offset}=${r.value}@${r.index}`)
            .join(' ')}`,
        );
      return;
    default:
      throw new Error(`unknown scenario command: ${command}`);
  }
}
