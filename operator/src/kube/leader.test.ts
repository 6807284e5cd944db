import assert from 'node:assert/strict';
import { FakeKubeClient } from './testing/fake-client.js';
import { LeaderElector } from './leader.js';
import { formatMicroTime, parseMicroTime } from './micro-time.js';
import { RESOURCES } from './resources.js';
import { sleep, until } from './testing/wait.js';

describe('MicroTime', () => {
  it('has exactly six fractional digits, as the API server parses it', () => {
    assert.equal(formatMicroTime(new Date('2026-11-22T02:22:43.123Z')), '2026-11-22T02:22:43.123000Z');
    assert.equal(parseMicroTime('2026-11-22T02:22:43.123000Z')?.toISOString(), '2026-11-22T02:22:43.123Z');
    assert.equal(parseMicroTime('not a time'), undefined);
  });
});

describe('LeaderElector (Lease) against the recording fake', () => {
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    electors.length = 0;
  });

  function candidate(client: FakeKubeClient, identity: string, log: string[]): LeaderElector {
    const e = new LeaderElector(client, {
      namespace: 'ops',
      name: 'lock',
      identity,
      leaseDurationMs: 1000,
      renewDeadlineMs: 600,
      retryPeriodMs: 50,
      onStartedLeading: () => log.push(`${identity}:start`),
      onStoppedLeading: () => log.push(`${identity}:stop`),
    });
    electors.push(e);
    return e;
  }

  it('elects exactly one leader and hands over at once when it stops', async () => {
    const client = new FakeKubeClient();
    const log: string[] = [];
    const a = candidate(client, 'a', log);
    a.start();
    await until(() => a.isLeader, 'a leads');
    const b = candidate(client, 'b', log);
    b.start();
    await sleep(200);
    assert.equal(b.isLeader, false, 'b waits while a renews');
    await a.stop();
    await until(() => b.isLeader, 'b takes over');
    assert.deepEqual(log, ['a:start', 'a:stop', 'b:start']);
    const lease = client.peek<{
      metadata?: object;
      spec: { holderIdentity: string; leaseTransitions: number; renewTime: string };
    }>(RESOURCES.lease, 'ops', 'lock');
    assert.equal(lease?.spec.holderIdentity, 'b');
    assert.equal(lease?.spec.leaseTransitions, 1);
    assert.match(lease?.spec.renewTime ?? '', /\.\d{6}Z$/);
  });

  it('takes over a lease whose holder vanished without releasing, after the lease duration', async () => {
    const client = new FakeKubeClient();
    client.seed(RESOURCES.lease, {
      metadata: { name: 'lock', namespace: 'ops' },
      spec: {
        holderIdentity: 'dead',
        leaseDurationSeconds: 1,
        renewTime: formatMicroTime(new Date()),
        acquireTime: formatMicroTime(new Date()),
        leaseTransitions: 3,
      },
    });
    const log: string[] = [];
    const b = candidate(client, 'b', log);
    const started = Date.now();
    b.start();
    await until(() => b.isLeader, 'b takes the expired lease');
    assert.ok(Date.now() - started >= 900, 'not before the lease duration elapsed on our clock');
  });
});
