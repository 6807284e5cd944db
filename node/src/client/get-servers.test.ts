import assert from 'node:assert/strict';
import type { GetServersResponse, Server } from '../gen/v1/log.js';
import { resolveServers } from './get-servers.js';

const server = (id: string, isLeader = false, rpcAddr = `${id}:8400`): Server => ({
  id,
  rpcAddr,
  isLeader,
  isVoter: true,
  externalRpcAddr: '',
});

describe('GetServers resolution: one rule for CommitLogClient and the grpc-js resolver', () => {
  /** Answers per candidate: servers, or an Error to throw. */
  const asker = (answers: Record<string, Server[] | Error>) => {
    const asked: string[] = [];
    const ask = (addr: string): Promise<GetServersResponse> => {
      asked.push(addr);
      const a = answers[addr];
      if (a === undefined || a instanceof Error) return Promise.reject(a ?? new Error(`no ${addr}`));
      return Promise.resolve({ servers: a });
    };
    return { asked, ask };
  };

  it('takes the first answer that names a leader, asking past answers without one', async () => {
    const { asked, ask } = asker({ s1: [server('a')], s2: new Error('down'), s3: [server('a'), server('b', true)] });
    const r = await resolveServers(['s1', 's2', 's1', 's3', 's4'], ask);
    assert.ok(r.ok);
    assert.equal(r.via, 's3');
    assert.deepEqual(asked, ['s1', 's2', 's3'], 'in order, each once, stopping at the leader');
  });

  it('falls back to the first non-empty answer when none names a leader', async () => {
    const { ask } = asker({ s1: [], s2: [server('a')], s3: [server('b')] });
    const r = await resolveServers(['s1', 's2', 's3'], ask);
    assert.ok(r.ok && r.via === 's2' && r.servers[0]?.id === 'a');
  });

  it('judges an answer by its usable servers only', async () => {
    const { ask } = asker({ s1: [server('a', true, '')], s2: [server('b', true)] });
    const r = await resolveServers(['s1', 's2'], ask, (s) => s.rpcAddr !== '');
    assert.ok(r.ok && r.via === 's2');
  });

  it('looks past answers whose leader is not trusted (a silent one the followers still name), keeping the first as a fallback', async () => {
    const { asked, ask } = asker({
      s1: [server('old', true), server('b')],
      s2: [server('old'), server('b', true)],
    });
    const notOld = (l: Server): boolean => l.id !== 'old';
    const r = await resolveServers(['s1', 's2'], ask, undefined, notOld);
    assert.ok(r.ok && r.via === 's2', 'the answer naming a trusted leader');
    assert.deepEqual(asked, ['s1', 's2']);
    const stale = await resolveServers(['s1'], asker({ s1: [server('old', true)] }).ask, undefined, notOld);
    assert.ok(stale.ok && stale.via === 's1', 'no other answer: the untrusted one, for the caller to judge');
  });

  it('reports every candidate tried and the last error when none answers', async () => {
    const { ask } = asker({ s1: new Error('one'), s2: new Error('two') });
    const r = await resolveServers(['s1', 's2', 's1'], ask);
    assert.ok(!r.ok);
    assert.deepEqual(r.tried, ['s1', 's2']);
    assert.match((r.lastError as Error).message, /two/);
  });
});
