import assert from 'node:assert/strict';
import { ScenarioNet, scenarioParams } from './testing/scenario-harness.js';
import { nodeName } from './types.js';

/** GIVEN a, b, c joined through a and fully converged. */
function threeMembers(net = new ScenarioNet()): ScenarioNet {
  net.start('a', { clusterId: 'x' });
  net.start('b', { clusterId: 'x' });
  net.start('c', { clusterId: 'x' });
  net.join('b', 'a');
  net.join('c', 'a');
  net.advance(200);
  for (const o of ['a', 'b', 'c']) {
    assert.deepEqual(
      net
        .core(o)
        .members()
        .map((m) => `${m.name}:${m.state}`)
        .sort(),
      ['a:alive', 'b:alive', 'c:alive'],
      `${o} should see all three alive`,
    );
  }
  return net;
}

describe('gossip core: SWIM protocol rules (scenarios on the pure core)', () => {
  it('join: a push/pull with the seed makes both sides see each other and emit join', () => {
    const net = new ScenarioNet();
    net.start('a');
    net.start('b');
    net.join('b', 'a');
    assert.deepEqual(net.joinResults, [{ observer: 'b', ok: true }]);
    assert.deepEqual(net.eventsAt('a'), ['join a', 'join b']);
    assert.deepEqual(net.eventsAt('b'), ['join b', 'join a']);
  });

  it('probe → ack: a healthy member answers the direct ping and is never suspected', () => {
    const net = threeMembers();
    net.advance(1000);
    const pings = net.sentBy('a', 'ping');
    assert.ok(pings.length >= 5, `a probes every interval (${pings.length})`);
    for (const p of pings) {
      const seq = p.msg.type === 'ping' ? p.msg.seq : -1;
      assert.ok(net.sent.some((s) => s.msg.type === 'ack' && s.msg.seq === seq && s.to === net.addr('a')));
    }
    assert.equal(net.core('a').metrics.probeFailures, 0);
    assert.equal(net.sentBy('a', 'indirect-ping').length, 0);
    assert.equal(net.events.filter((e) => e.event.type === 'failed').length, 0);
  });

  it('probe timeout → indirect probe through k others → nack → suspect → dead (failed event)', () => {
    const net = threeMembers();
    net.kill('c');
    net.advance(400);
    // a pinged c, got nothing, asked b to probe c; b tried and reported a nack.
    const ping = net.sentBy('a', 'ping', 'c')[0];
    assert.ok(ping, 'a pinged c');
    const ind = net
      .sentBy('a', 'indirect-ping', 'b')
      .find((s) => s.msg.type === 'indirect-ping' && s.msg.target === 'c');
    assert.ok(ind, 'a asked b to probe c');
    assert.ok(ind.at - ping.at >= scenarioParams.probeTimeoutMs, 'indirect only after the direct timeout');
    assert.ok(
      net.sentBy('b', 'ping', 'c').some((s) => s.at >= ind.at),
      'b relayed a ping to c',
    );
    assert.ok(net.sentBy('b', 'nack', 'a').length > 0, 'b told a it could not reach c (Lifeguard nack)');
    assert.ok(net.sentBy('a', 'suspect').length + net.sentBy('b', 'suspect').length > 0, 'c was suspected');
    // Suspicion runs out (max 3×3×100 ms without confirmations): c is declared dead.
    net.advance(1500);
    assert.equal(net.core('a').member(nodeName('c'))?.state, 'dead');
    assert.equal(net.core('b').member(nodeName('c'))?.state, 'dead');
    assert.deepEqual(
      net.eventsAt('a').filter((e) => e.endsWith(' c')),
      ['join c', 'failed c'],
    );
  });

  it('indirect probe: a member unreachable only from the prober is acked through a relay, not suspected', () => {
    const net = threeMembers();
    net.drop = (from, to) => from === 'b' && to === net.addr('c');
    net.advance(1500);
    assert.ok(net.sentBy('b', 'indirect-ping').length > 0, 'b fell back to indirect probes');
    assert.ok(net.sentBy('a', 'ack', 'b').length > 0, "a relayed c's acks to b");
    assert.equal(net.core('b').member(nodeName('c'))?.state, 'alive');
    assert.equal(net.core('b').metrics.suspicionsRaised, 0);
  });

  it('TCP fallback probe: a member whose UDP is blocked but whose stream answers is not suspected', () => {
    const net = threeMembers(new ScenarioNet({ ...scenarioParams, streamFallbackPing: true }));
    net.drop = (_from, to, kind) => kind === 'udp' && to === net.addr('c');
    net.advance(1500);
    assert.ok(
      net.streams.some((s) => s.from === 'a' && s.to === net.addr('c') && s.purpose === 'ping'),
      'a fell back to a TCP ping',
    );
    assert.equal(net.core('a').member(nodeName('c'))?.state, 'alive');
    assert.equal(net.core('a').metrics.suspicionsRaised, 0);
  });

  it('refutation: a suspected member that is alive raises its incarnation and stays alive', () => {
    const net = threeMembers();
    const before = net.core('c').member(nodeName('c'))?.incarnation ?? -1;
    // b accuses c (as if b's probes of c had failed); a believes it and gossips it on.
    net
      .core('a')
      .receivePacket(net.now, net.addr('b'), [
        { type: 'suspect', incarnation: before as never, node: nodeName('c'), from: nodeName('b') },
      ]);
    assert.equal(net.core('a').member(nodeName('c'))?.state, 'suspect');
    net.advance(300);
    const after = net.core('c').member(nodeName('c'))?.incarnation ?? -1;
    assert.ok(after > before, `c refuted with a higher incarnation (${before} → ${after})`);
    assert.ok(net.core('c').metrics.refutations > 0);
    for (const o of ['a', 'b']) {
      const m = net.core(o).member(nodeName('c'));
      assert.equal(m?.state, 'alive', `${o} sees c alive`);
      assert.equal(m?.incarnation, after);
    }
    assert.equal(net.events.filter((e) => e.event.type === 'failed').length, 0);
  });

  it('an alive claim with an older incarnation never overrides a newer record', () => {
    const net = threeMembers();
    net.core('c').setTags(net.now, { clusterId: 'x', v: '2' });
    net.advance(200);
    const cur = net.core('a').member(nodeName('c'));
    net
      .core('a')
      .receivePacket(net.now, net.addr('b'), [
        { type: 'alive', incarnation: 0 as never, node: nodeName('c'), addr: net.addr('c'), tags: { clusterId: 'x' } },
      ]);
    assert.deepEqual(net.core('a').member(nodeName('c')), cur);
  });

  it('leave vs failure: a graceful leave is recorded as left (leave event), never failed', () => {
    const net = threeMembers();
    net.core('c').leave(net.now);
    net.advance(100);
    assert.equal(net.core('c').pendingBroadcasts, 0, 'leave broadcast fully sent');
    net.kill('c');
    net.advance(2000);
    for (const o of ['a', 'b']) {
      assert.equal(net.core(o).member(nodeName('c'))?.state, 'left');
      assert.deepEqual(
        net.eventsAt(o).filter((e) => e.endsWith(' c')),
        ['join c', 'leave c'],
      );
    }
  });

  it('a member that missed a leave and suspects the departed member is answered with the leave, not a failure', () => {
    const net = threeMembers();
    // b hears nothing while c leaves and stops.
    net.drop = (_from, to) => to === net.addr('b');
    net.core('c').leave(net.now);
    net.advance(100);
    net.kill('c');
    net.advance(50);
    assert.notEqual(net.core('b').member(nodeName('c'))?.state, 'left', 'b missed the leave');
    net.drop = () => false;
    net.advance(3000);
    assert.equal(net.core('b').member(nodeName('c'))?.state, 'left');
    assert.deepEqual(
      net.eventsAt('b').filter((e) => e.endsWith(' c')),
      ['join c', 'leave c'],
    );
  });

  it('rejoin after restart: same name, incarnation 0, overrides the dead record', () => {
    const net = threeMembers();
    net.kill('c');
    net.advance(2000);
    assert.equal(net.core('a').member(nodeName('c'))?.state, 'dead');
    const deadInc = net.core('a').member(nodeName('c'))?.incarnation ?? 0;
    net.start('c', { clusterId: 'x' });
    net.join('c', 'a');
    net.advance(300);
    for (const o of ['a', 'b']) {
      const m = net.core(o).member(nodeName('c'));
      assert.equal(m?.state, 'alive', `${o} sees c alive again`);
      assert.ok((m?.incarnation ?? 0) > deadInc, 'restarted c jumped past the dead incarnation');
    }
    assert.deepEqual(
      net.eventsAt('b').filter((e) => e.endsWith(' c')),
      ['join c', 'failed c', 'join c'],
    );
  });

  it('a member with another cluster id is refused, and the refusal is reported', () => {
    const net = threeMembers();
    net.start('z', { clusterId: 'other' });
    net.join('z', 'a');
    assert.deepEqual(net.joinResults.at(-1), {
      observer: 'z',
      ok: false,
      reason: 'refused: cluster-mismatch (their cluster id "x")',
    });
    assert.deepEqual(
      net.refusals.map((r) => [r.observer, r.refusal.node, r.refusal.theirClusterId]),
      [['a', 'z', 'other']],
    );
    assert.equal(net.core('a').member(nodeName('z')), undefined);
    // Gossip about the foreign member is refused as well.
    net.core('b').receivePacket(net.now, net.addr('a'), [
      {
        type: 'alive',
        incarnation: 3 as never,
        node: nodeName('z'),
        addr: net.addr('z'),
        tags: { clusterId: 'other' },
      },
    ]);
    assert.equal(net.core('b').member(nodeName('z')), undefined);
    assert.ok(net.core('b').metrics.refused > 0);
  });

  it('tags update: new tags raise the incarnation and reach every member as an update event', () => {
    const net = threeMembers();
    net.core('b').setTags(net.now, { clusterId: 'x', rpcAddr: '127.0.0.2:8400', role: 'voter' });
    net.advance(200);
    for (const o of ['a', 'c']) {
      assert.deepEqual(net.core(o).member(nodeName('b'))?.tags, {
        clusterId: 'x',
        rpcAddr: '127.0.0.2:8400',
        role: 'voter',
      });
      assert.deepEqual(
        net.eventsAt(o).filter((e) => e.endsWith(' b')),
        ['join b', 'update b'],
      );
    }
  });

  it('dead members are reaped after the reap timeout (reap event)', () => {
    const net = new ScenarioNet({ ...scenarioParams, reapFailedMs: 500 });
    threeMembers(net);
    net.kill('c');
    net.advance(2500);
    assert.equal(net.core('a').member(nodeName('c')), undefined);
    assert.deepEqual(
      net.eventsAt('a').filter((e) => e.endsWith(' c')),
      ['join c', 'failed c', 'reap c'],
    );
  });

  it('push/pull anti-entropy repairs a member that missed every broadcast', () => {
    const net = new ScenarioNet({ ...scenarioParams, pushPullIntervalMs: 200 });
    threeMembers(net);
    // c hears no UDP at all; only streams (push/pull) get through.
    net.drop = (_from, to) => to === net.addr('c');
    net.core('a').setTags(net.now, { clusterId: 'x', role: 'new' });
    net.advance(100);
    assert.deepEqual(net.core('c').member(nodeName('a'))?.tags, { clusterId: 'x' });
    net.drop = () => false;
    net.core('c').members(); // (no-op read)
    net.advance(600);
    assert.deepEqual(net.core('c').member(nodeName('a'))?.tags, { clusterId: 'x', role: 'new' });
  });

  it('events are delivered in decision order per observer (join before failed before reap)', () => {
    const net = new ScenarioNet({ ...scenarioParams, reapFailedMs: 300 });
    threeMembers(net);
    net.kill('b');
    net.advance(2000);
    const times = net.events.filter((e) => e.observer === 'a').map((e) => e.at);
    assert.deepEqual(
      times,
      [...times].sort((x, y) => x - y),
    );
  });
});

describe('gossip core: Lifeguard local health', () => {
  it('a member that hears nothing back blames itself: its health score rises and it probes more slowly', () => {
    const net = threeMembers();
    const a = net.core('a');
    assert.equal(a.healthScore, 0);
    // Everything sent to a is lost: no acks, no nacks (a is the sick one).
    net.drop = (_from, to) => to === net.addr('a');
    net.advance(3000);
    assert.ok(a.healthScore >= 2, `score ${a.healthScore}`);
    const pings = net.sentBy('a', 'ping').filter((s) => s.at > net.now - 1500);
    // Healthy: one probe per 100 ms; degraded: scaled by score + 1.
    assert.ok(pings.length <= 1500 / 100 / 2, `${pings.length} probes in 1.5 s`);
  });
});
