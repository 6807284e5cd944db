import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ScenarioNet, type Sent } from './testing/scenario-harness.js';
import { type Message } from './types.js';

// Golden protocol traces (etcd testdata style): the exact message sequence of a scenario,
// readable as a specification. Regenerate after an intended change with
// UPDATE_GOLDEN=1 npx mocha node/src/gossip/core/golden.test.ts — and read the diff.

const describeMsg = (m: Message): string => {
  switch (m.type) {
    case 'ping':
      return `ping seq=${m.seq} target=${m.target}`;
    case 'indirect-ping':
      return `indirect-ping seq=${m.seq} target=${m.target} nack=${m.nack}`;
    case 'ack':
    case 'nack':
      return `${m.type} seq=${m.seq}`;
    case 'alive':
      return `alive ${m.node} inc=${m.incarnation}`;
    case 'suspect':
    case 'dead':
      return `${m.type} ${m.node} inc=${m.incarnation} from=${m.from}`;
    case 'push-pull':
      return `push-pull from=${m.from}`;
    case 'refuse':
      return `refuse ${m.reason}`;
  }
};

function trace(net: ScenarioNet, since: number, names: ReadonlyMap<string, string>): string {
  const lines = net.sent
    .filter((s: Sent) => s.at >= since)
    .map((s) => `t=${s.at - since} ${s.from}→${names.get(s.to) ?? s.to} ${describeMsg(s.msg)}`);
  const events = net.events
    .filter((e) => e.at >= since)
    .map((e) => `t=${e.at - since} ${e.observer} EVENT ${e.event.type} ${e.event.member.name}`);
  return [...lines, ...events].join('\n') + '\n';
}

function golden(file: string, actual: string): void {
  const path = fileURLToPath(new URL(`./testdata/${file}`, import.meta.url));
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `trace differs from testdata/${file} (UPDATE_GOLDEN=1 to accept)`);
}

describe('gossip core: golden traces', () => {
  it('a crashed member: ping, timeout, indirect pings with nacks, suspect, dead', () => {
    const net = new ScenarioNet();
    for (const n of ['a', 'b', 'c']) net.start(n);
    net.join('b', 'a');
    net.join('c', 'a');
    net.advance(500);
    const names = new Map(['a', 'b', 'c'].map((n) => [net.addr(n) as string, n]));
    const since = net.now;
    net.kill('c');
    // Only the protocol steps about c, not the steady pings between a and b.
    net.advance(1200);
    const t = trace(net, since, names)
      .split('\n')
      .filter((l) => / c |→c |target=c|EVENT| nack seq/.test(l))
      .join('\n');
    golden('crash-detection.txt', `${t}\n`);
  });
});
