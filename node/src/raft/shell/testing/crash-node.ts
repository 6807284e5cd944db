/**
 * A Raft node in its own process, for the real-process fault test (crash.test.ts). Started as
 * `node --import tsx crash-node.ts <config-json>`; talks to the parent over the IPC channel:
 * requests `{ rid, op: 'propose' | 'status' | 'dump', value? }`, replies `{ rid, ok, ... }`.
 * The parent kills it with SIGKILL; nothing here tries to shut down cleanly on that.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeId } from '../../core/types.js';
import { RaftShellError } from '../errors.js';
import { startTcpNode } from './tcp-node.js';

interface ChildConfig {
  readonly id: string;
  readonly dir: string;
  readonly port: number;
  readonly peers: Record<string, string>;
  readonly voters: string[];
  readonly pkiDir: string;
  readonly clusterId: string;
}

type Request =
  { rid: number; op: 'propose'; value: string } | { rid: number; op: 'status' } | { rid: number; op: 'dump' };

const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const pem = (f: string): string => readFileSync(join(cfg.pkiDir, f), 'utf8');
const certs = Object.fromEntries(cfg.voters.map((v) => [v, { certPem: pem(`${v}.crt`), keyPem: pem(`${v}.key`) }]));
const n = await startTcpNode({
  id: nodeId(cfg.id),
  dir: cfg.dir,
  clusterId: cfg.clusterId,
  bootstrap: { voters: cfg.voters.map(nodeId) },
  peers: cfg.peers,
  port: cfg.port,
  pki: { ca: { certPem: pem('ca.crt'), keyPem: '' }, certs },
  raftConfig: { electionTicks: 10, heartbeatTicks: 1 },
  shellConfig: { tickMs: 30 },
});

const reply = (m: object): void => {
  process.send?.(m);
};

process.on('message', (raw) => {
  const req = raw as Request;
  if (req.op === 'status') {
    const s = n.node.status();
    reply({
      rid: req.rid,
      ok: true,
      role: s.role,
      leader: s.leader,
      term: s.term,
      applied: s.applied,
      commit: s.commit,
    });
  } else if (req.op === 'dump') {
    const log = n.node.storage.log;
    const end = n.node.committedDataEnd;
    const values: string[] = [];
    for (let d = log.lowestDataOffset; d < end;) {
      const rs = log.readDataRange(d, { endOffset: n.node.appliedIndex + 1 });
      if (rs.length === 0) break;
      for (const r of rs) values.push(Buffer.from(r.value).toString('utf8'));
      d = (rs.at(-1)?.dataOffset ?? d) + 1;
    }
    reply({ rid: req.rid, ok: true, lowestDataOffset: log.lowestDataOffset, values });
  } else {
    n.node.propose(Buffer.from(req.value)).then(
      (r) => reply({ rid: req.rid, ok: true, dataOffset: r.dataOffset, index: r.index }),
      (e: unknown) =>
        reply({
          rid: req.rid,
          ok: false,
          code: e instanceof RaftShellError ? e.code : 'ERROR',
          leaderHint: (e as { leaderHint?: unknown }).leaderHint ?? null,
        }),
    );
  }
});
process.on('disconnect', () => {
  void n.close().finally(() => process.exit(0));
});
reply({ ready: true, port: n.mux.port });
