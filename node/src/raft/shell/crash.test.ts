import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '../core/env.js';
import { makeTestPki } from './testing/tcp-node.js';

const CHILD = fileURLToPath(new URL('./testing/crash-node.ts', import.meta.url));

interface Reply {
  readonly rid?: number;
  readonly ok?: boolean;
  readonly ready?: boolean;
  readonly [k: string]: unknown;
}

/** One node process and its IPC request/reply channel. */
class Child {
  proc: ChildProcess;
  private rid = 0;
  private readonly pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  readonly ready: Promise<void>;
  alive = true;
  constructor(
    readonly id: string,
    config: object,
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    this.proc.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    this.ready = new Promise((resolve, reject) => {
      this.proc.on('message', (m: Reply) => {
        if (m.ready === true) return resolve();
        const p = m.rid !== undefined ? this.pending.get(m.rid) : undefined;
        if (p !== undefined && m.rid !== undefined) {
          this.pending.delete(m.rid);
          p.resolve(m);
        }
      });
      this.proc.on('exit', (code, sig) => {
        this.alive = false;
        const e = new Error(`${id} exited (${code ?? sig}) ${stderr}`);
        reject(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
    });
  }
  request(msg: object, timeoutMs = 3000): Promise<Reply> {
    if (!this.alive) return Promise.reject(new Error(`${this.id} is down`));
    const rid = ++this.rid;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error('timeout'));
      }, timeoutMs);
      this.pending.set(rid, {
        resolve: (r) => (clearTimeout(t), resolve(r)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      this.proc.send({ rid, ...msg });
    });
  }
  kill(): Promise<void> {
    if (!this.alive || this.proc.pid === undefined) return Promise.resolve();
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    process.kill(this.proc.pid, 'SIGKILL');
    return exited;
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('raft shell: real processes over TCP+TLS, kill -9 the leader under load', function () {
  this.timeout(90_000);

  it('keeps every acknowledged proposal on the survivors and on the restarted node', async () => {
    const seed = Number(process.env.RAFT_CRASH_SEED ?? Math.floor(Math.random() * 1e9));
    const replay = `RAFT_CRASH_SEED=${seed} npx mocha node/src/raft/shell/crash.test.ts`;
    console.log(`      seed ${seed} (replay: ${replay})`);
    const rng = seededRng(seed);
    const root = mkdtempSync(join(tmpdir(), 'commitlog-raft-crash-'));
    const ids = ['p0', 'p1', 'p2'];
    const children = new Map<string, Child>();
    try {
      const pki = await makeTestPki(ids);
      const pkiDir = join(root, 'pki');
      mkdirSync(pkiDir);
      writeFileSync(join(pkiDir, 'ca.crt'), pki.ca.certPem);
      for (const id of ids) {
        writeFileSync(join(pkiDir, `${id}.crt`), pki.certs[id]?.certPem ?? '');
        writeFileSync(join(pkiDir, `${id}.key`), pki.certs[id]?.keyPem ?? '');
      }
      const ports = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await freePort()] as const)));
      const configOf = (id: string): object => ({
        id,
        dir: join(root, id),
        port: ports[id],
        peers: Object.fromEntries(ids.filter((p) => p !== id).map((p) => [p, `127.0.0.1:${ports[p]}`])),
        voters: ids,
        pkiDir,
        clusterId: 'crash-test',
      });
      for (const id of ids) children.set(id, new Child(id, configOf(id)));
      await Promise.all([...children.values()].map((c) => c.ready));

      const acked = new Map<string, number>();
      let leader: Child | null = null;
      const findLeader = async (): Promise<Child | null> => {
        for (const c of children.values()) {
          if (!c.alive) continue;
          const s = await c.request({ op: 'status' }, 1000).catch(() => null);
          if (s?.role === 'leader') return c;
        }
        return null;
      };
      let n = 0;
      let stop = false;
      const proposer = async (): Promise<void> => {
        while (!stop) {
          if (leader === null || !leader.alive) {
            leader = await findLeader();
            if (leader === null) {
              await sleep(50);
              continue;
            }
          }
          const value = `v${n++}`;
          const r = await leader.request({ op: 'propose', value }).catch(() => null);
          if (r?.ok === true) acked.set(value, r.dataOffset as number);
          else leader = null;
        }
      };
      const proposers = Array.from({ length: 4 }, () => proposer());

      const waitAcks = async (k: number, ms: number): Promise<void> => {
        const target = acked.size + k;
        const deadline = Date.now() + ms;
        while (acked.size < target) {
          if (Date.now() > deadline) throw new Error(`only ${acked.size}/${target} acks within ${ms} ms (${replay})`);
          await sleep(20);
        }
      };
      await waitAcks(20, 20_000);
      await sleep(200 + rng.nextInt(1500));
      const victim = (await findLeader()) ?? assert.fail('no leader before the kill');
      const ackedBeforeKill = acked.size;
      await victim.kill();
      console.log(`      killed leader ${victim.id} (pid ${victim.proc.pid}) after ${ackedBeforeKill} acks`);
      await waitAcks(50, 20_000);
      const newLeader = await findLeader();
      assert.ok(newLeader !== null && newLeader.id !== victim.id, 'a new leader was elected');
      const restarted = new Child(victim.id, configOf(victim.id));
      children.set(victim.id, restarted);
      await restarted.ready;
      await waitAcks(30, 20_000);
      stop = true;
      await Promise.all(proposers);

      // Every node catches up to the highest commit, then every acknowledged value is where it was acknowledged.
      const statuses = await Promise.all([...children.values()].map((c) => c.request({ op: 'status' })));
      const commit = Math.max(...statuses.map((s) => s.commit as number));
      const deadline = Date.now() + 15_000;
      for (const c of children.values()) {
        while (((await c.request({ op: 'status' })).applied as number) < commit) {
          if (Date.now() > deadline) assert.fail(`${c.id} did not catch up to ${commit} (${replay})`);
          await sleep(50);
        }
      }
      const dumps = await Promise.all(
        [...children.values()].map(async (c) => {
          const r = await c.request({ op: 'dump' }, 10_000);
          return { id: c.id, values: r.values as string[], low: r.lowestDataOffset as number };
        }),
      );
      for (const { id, values, low } of dumps) {
        for (const [value, off] of acked)
          assert.equal(values[off - low], value, `${id}: acknowledged ${value} at data offset ${off} (${replay})`);
      }
      const [a, ...rest] = dumps.map((d) => d.values);
      for (const b of rest) {
        const len = Math.min(a?.length ?? 0, b.length);
        assert.deepEqual(b.slice(0, len), a?.slice(0, len), `committed prefixes agree (${replay})`);
      }
      assert.ok(acked.size >= ackedBeforeKill + 80);
    } finally {
      for (const c of children.values()) await c.kill();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
