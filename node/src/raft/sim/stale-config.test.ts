import assert from 'node:assert/strict';
import { nodeId, type ConfChange, type NodeId } from '../core/types.js';
import { SimCluster } from './cluster.js';
import { SimNode } from './sim-node.js';

// The stale-configuration crash (issue 13): the shell writes the log, then the stable state
// (hard state + configuration) in a separate write. A crash between the two, in the batch
// that brings config entries and the commit of the earlier ones, used to leave a node whose
// log held configuration C3 while it counted votes with C0, three single-server changes
// older. Its stale majority {n1, n2} does not intersect the real one {n3, n4, n5}, so it
// could win an election and overwrite a committed record. The configuration in force must
// be the latest one in the log (Raft thesis §4.1), which the crash cannot lose.

const SEED = 13;
const enc = new TextEncoder();
const ids = (...xs: string[]): NodeId[] => xs.map(nodeId);

/** One round of the cluster: every Ready persisted (the node `crashing` crashes after its log write), every message delivered. */
function round(
  c: SimCluster,
  crashing?: { id: string; when: (entries: readonly { type: string }[]) => boolean },
): boolean {
  let crashed = false;
  for (const n of c.running()) {
    assert.ok(n instanceof SimNode);
    while (n.takeReady()) {
      const rd = n.pending;
      if (crashing !== undefined && n.id === crashing.id && rd !== null && crashing.when(rd.entries)) {
        n.persist(true);
        crashed = true;
        break;
      }
      n.persist();
    }
  }
  for (const m of c.net.due(Number.MAX_SAFE_INTEGER)) c.deliver(m);
  c.inv.step(c.nodes.values());
  return crashed;
}

function leaderRaw(c: SimCluster, id: string) {
  const raw = c.node(id).raw;
  assert.ok(raw !== null && raw.status().role === 'leader', `${id} should lead (seed ${SEED})`);
  return raw;
}

function change(c: SimCluster, leader: string, cc: ConfChange): void {
  const res = leaderRaw(c, leader).proposeConfChange(cc);
  assert.ok(res.ok, `seed ${SEED}: ${cc.type} ${cc.node} refused: ${JSON.stringify(res)}`);
}

describe('configuration across a crash between the log write and the stable-state write (seed 13)', () => {
  it('a node that lost its stable write still counts votes with the latest configuration in its log, so a stale quorum cannot elect it over a committed record', () => {
    // GIVEN voters n1 n2 n3 led by n3; n4 is added as a learner (committed everywhere)
    const c = new SimCluster({ seed: SEED });
    const voters = ids('n1', 'n2', 'n3');
    for (const id of voters) c.addNode(id, { voters, learners: [] });
    c.addNode(nodeId('n4'), null);
    c.addNode(nodeId('n5'), null);
    c.node('n3').raw?.campaign();
    c.stabilize();
    change(c, 'n3', { type: 'addLearner', node: nodeId('n4') });
    c.stabilize();

    // AND n1 receives "promote n4" but never hears that it committed
    change(c, 'n3', { type: 'promote', node: nodeId('n4') });
    round(c);
    c.net.setLink(nodeId('n3'), nodeId('n1'), false);
    c.stabilize();
    // AND without n1 the cluster adds n5 as a learner and promotes it: voters n1..n5
    change(c, 'n3', { type: 'addLearner', node: nodeId('n5') });
    c.stabilize();
    change(c, 'n3', { type: 'promote', node: nodeId('n5') });
    c.stabilize();
    assert.deepEqual(c.node('n3').raw?.status().confState.voters, ids('n1', 'n2', 'n3', 'n4', 'n5'));

    // WHEN n1 is reconnected and crashes after writing the batch carrying both new config
    // entries to its log, before the stable state (commit + configuration) is written
    c.net.heal();
    assert.ok(leaderRaw(c, 'n3').propose(enc.encode('reconnect')).ok);
    let crashed = false;
    for (let i = 0; i < 20 && !crashed; i++) {
      crashed = round(c, { id: 'n1', when: (ents) => ents.filter((e) => e.type === 'config').length >= 2 });
    }
    assert.ok(crashed, `seed ${SEED}: n1 never received both config entries in one batch`);
    c.memoryNode('n1').start();
    // AND n1, n2 are partitioned from n3, n4, n5, which commit a record n1 and n2 lack
    c.net.partition([ids('n1', 'n2'), ids('n3', 'n4', 'n5')]);
    const res = leaderRaw(c, 'n3').propose(enc.encode('committed-on-n3-n4-n5'));
    assert.ok(res.ok);
    c.stabilize();
    assert.equal(
      c.node('n3').raw?.status().commit,
      res.index,
      `seed ${SEED}: the record should commit on the majority n3 n4 n5`,
    );
    // AND n2's leader lease has expired, and n1 campaigns
    for (let i = 0; i < 10; i++) c.node('n2').raw?.tick();
    c.stabilize();
    c.node('n1').raw?.campaign();

    // THEN no invariant breaks (leader completeness: a leader holding n1's log would lack
    // the committed record) and n1 does not become leader with the votes of n1 and n2
    c.stabilize();
    assert.notEqual(
      c.node('n1').raw?.status().role,
      'leader',
      `seed ${SEED}: n1 won an election with a stale configuration`,
    );
    assert.deepEqual(
      c.node('n1').raw?.status().activeConf.voters,
      ids('n1', 'n2', 'n3', 'n4', 'n5'),
      `seed ${SEED}: n1 should use the latest configuration in its log`,
    );
    // AND once healed, every node holds the committed record
    c.net.heal();
    for (let i = 0; i < 30; i++) {
      for (const n of c.running()) n.raw?.tick();
      c.stabilize();
    }
    for (const n of c.running()) {
      assert.ok(
        n.sm.records.some((r) => r.value === 'committed-on-n3-n4-n5' && r.index === res.index),
        `seed ${SEED}: ${n.id} lacks the committed record`,
      );
    }
  });
});
