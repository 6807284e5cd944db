import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { type MemberEvent } from '../core/types.js';
import { Registry } from 'prom-client';
import { Gossip } from './gossip.js';
import { registerGossipMetrics } from './prometheus.js';
import { parseAddress } from './net-transport.js';
import { resolveSeeds } from './resolve.js';

const until = async (pred: () => boolean, ms: number, what: string): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('gossip shell (in-process, loopback)', function () {
  this.timeout(15_000);
  const key = randomBytes(32).toString('base64');
  const cfg = (name: string) => ({
    name,
    preset: 'local' as const,
    bindAddr: '127.0.0.1',
    bindPort: 0,
    encryptionKeys: [key],
  });
  let a: Gossip;
  let b: Gossip;

  beforeEach(async () => {
    a = await Gossip.start(cfg('a'));
    b = await Gossip.start(cfg('b'));
  });
  afterEach(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('join returns how many seeds answered and both sides see each other', async () => {
    const r = await b.join([a.address]);
    assert.deepEqual(r, { joined: 1, errors: [] });
    await until(() => a.aliveMembers().length === 2, 3000, 'a sees b');
    assert.equal(a.member('b')?.addr, b.address);
    assert.equal(a.localMember().name, 'a');
  });

  it('events() yields membership events in order and ends on stop', async () => {
    const seen: MemberEvent[] = [];
    const done = (async () => {
      for await (const e of a.events()) seen.push(e);
    })();
    await b.join([a.address]);
    b.setTags({ role: 'voter' });
    await until(() => seen.some((e) => e.type === 'update'), 3000, 'update');
    await a.stop();
    await done;
    assert.deepEqual(
      seen.map((e) => `${e.type} ${e.member.name}`),
      ['join b', 'update b'],
    );
  });

  it('garbage, truncated, unencrypted and oversized input is dropped and counted; the member keeps working', async () => {
    await b.join([a.address]);
    const { host, port } = parseAddress(a.address);
    const udp = dgram.createSocket('udp4');
    const send = (buf: Buffer) => new Promise<void>((r) => udp.send(buf, port, host, () => r()));
    await send(randomBytes(64)); // unknown envelope (or bad decrypt)
    await send(Buffer.of(0x02, 1, 2, 3)); // truncated AES-GCM envelope
    await send(Buffer.concat([Buffer.of(0x01), randomBytes(30)])); // plain while encryption is on
    await send(Buffer.concat([Buffer.of(0x02), randomBytes(60_000)])); // large, fails to decrypt
    udp.close();
    // A TCP frame announcing 1 GiB.
    await new Promise<void>((resolve) => {
      const s = net.connect({ host, port }, () => s.write(Buffer.from([0x40, 0, 0, 0, 1, 2, 3])));
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    await until(
      () => Object.values(a.metrics().transport.dropped).reduce((x, y) => x + (y ?? 0), 0) >= 5,
      3000,
      'drops counted',
    );
    const d = a.metrics().transport.dropped;
    assert.ok((d['truncated'] ?? 0) >= 1, JSON.stringify(d));
    assert.ok((d['unencrypted'] ?? 0) >= 1, JSON.stringify(d));
    assert.ok((d['frame-too-large'] ?? 0) >= 1, JSON.stringify(d));
    // Still probing and answering.
    const probes = a.metrics().protocol.probes;
    await until(() => a.metrics().protocol.probes > probes + 2, 3000, 'more probes');
    assert.equal(a.metrics().protocol.probeFailures, 0);
    assert.deepEqual(
      a
        .aliveMembers()
        .map((m) => m.name)
        .sort(),
      ['a', 'b'],
    );
  });

  it('keys rotate at runtime without losing the member: install everywhere, use, remove the old', async () => {
    await b.join([a.address]);
    const k2 = randomBytes(32);
    const k1 = Buffer.from(key, 'base64');
    a.keyring?.install(k2);
    b.keyring?.install(k2);
    b.keyring?.use(k2);
    a.keyring?.use(k2);
    a.keyring?.remove(k1);
    b.keyring?.remove(k1);
    const probes = a.metrics().protocol.probes;
    await until(() => a.metrics().protocol.probes > probes + 3, 3000, 'probes under the new key');
    assert.equal(a.metrics().protocol.probeFailures, 0);
    assert.equal(a.member('b')?.state, 'alive');
  });

  it('metrics count members by state and are exported to Prometheus at scrape time', async () => {
    await b.join([a.address]);
    assert.deepEqual(a.metrics().members, { alive: 2, suspect: 0, dead: 0, left: 0 });
    const reg = new Registry();
    registerGossipMetrics(a, reg);
    const text = await reg.metrics();
    assert.match(text, /commitlog_gossip_members\{state="alive"\} 2/);
    assert.match(text, /commitlog_gossip_protocol_total\{event="probes"\} \d+/);
  });
});

describe('gossip seed resolution', () => {
  it('resolves host names on every call and reports unusable seeds', async () => {
    const r = await resolveSeeds(['localhost:7946', '127.0.0.1:7947', 'not-a-seed']);
    assert.ok(
      r.addrs.includes('127.0.0.1:7946' as never) || r.addrs.includes('[::1]:7946' as never),
      JSON.stringify(r),
    );
    assert.ok(r.addrs.includes('127.0.0.1:7947' as never));
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]?.seed, 'not-a-seed');
  });
});
