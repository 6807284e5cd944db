import assert from 'node:assert/strict';
import { GossipConfigError, coreParams, presets, resolveConfig } from './config.js';

describe('gossip config', () => {
  it('defaults to the lan preset (memberlist DefaultLANConfig values)', () => {
    const c = resolveConfig({ name: 'n1', advertiseAddr: '10.0.0.1' });
    assert.equal(c.probeIntervalMs, 1000);
    assert.equal(c.probeTimeoutMs, 500);
    assert.equal(c.indirectChecks, 3);
    assert.equal(c.pushPullIntervalMs, 30_000);
    assert.equal(c.bindPort, 8401);
  });

  it('the local preset is fast and overridable', () => {
    const c = resolveConfig({ name: 'n1', preset: 'local', bindAddr: '127.0.0.1', probeIntervalMs: 300 });
    assert.equal(c.gossipIntervalMs, presets.local.gossipIntervalMs);
    assert.equal(c.probeIntervalMs, 300);
  });

  it('cluster id is carried in the tags', () => {
    assert.deepEqual(resolveConfig({ name: 'n', bindAddr: '127.0.0.1', clusterId: 'c' }).tags, { clusterId: 'c' });
    assert.equal(resolveConfig({ name: 'n', bindAddr: '127.0.0.1', tags: { clusterId: 'd' } }).clusterId, 'd');
  });

  it('rejects bad values with the field named', () => {
    const bad: [object, string][] = [
      [{ name: 'bad name!' }, 'name'],
      [{ name: 'n', bindAddr: '127.0.0.1', probeTimeoutMs: 2000 }, 'probeTimeoutMs'],
      [{ name: 'n' }, 'advertiseAddr'],
      [{ name: 'n', bindAddr: '127.0.0.1', seeds: ['nohost'] }, 'seeds'],
      [{ name: 'n', bindAddr: '127.0.0.1', encryptionKeys: ['c2hvcnQ='] }, 'encryptionKeys'],
      [{ name: 'n', bindAddr: '127.0.0.1', gossipNodes: 0 }, 'gossipNodes'],
      [{ name: 'n', bindAddr: '127.0.0.1', clusterId: 'a', tags: { clusterId: 'b' } }, 'clusterId'],
      [
        { name: 'n', bindAddr: '127.0.0.1', tags: { a: 'x'.repeat(500), b: 'y'.repeat(500), c: 'z'.repeat(500) } },
        'tags',
      ],
      [{ name: 'n', bindAddr: '127.0.0.1', tags: { a: 'x'.repeat(600) } }, 'tags'],
    ];
    for (const [input, field] of bad) {
      assert.throws(
        () => resolveConfig(input as never),
        (e: unknown) => e instanceof GossipConfigError && e.field === field,
        field,
      );
    }
  });

  it('the core packet budget is the UDP buffer net of the envelope', () => {
    assert.equal(coreParams(presets.lan, false).packetBudget, 1399);
    assert.equal(coreParams(presets.lan, true).packetBudget, 1371);
  });
});
