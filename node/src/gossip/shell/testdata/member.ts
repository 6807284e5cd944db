/**
 * A gossip member as a separate process, for the loopback integration tests.
 * argv[2]: JSON {@link GossipConfigInput}. Prints one JSON object per line on stdout
 * (ready, event, refused, join, metrics, left); reads commands on stdin, one per line:
 * `join <json seeds>`, `tags <json tags>`, `metrics`, `leave`.
 */
import { createInterface } from 'node:readline';
import { Gossip } from '../gossip.js';
import { type GossipConfigInput } from '../../config.js';

const out = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const input = JSON.parse(process.argv[2] ?? '{}') as GossipConfigInput;
const g = await Gossip.start(input);
g.on('event', (e) =>
  out({ type: 'event', event: e.type, member: e.member.name, state: e.member.state, tags: e.member.tags }),
);
g.on('refused', (r) => out({ type: 'refused', ...r }));
out({ type: 'ready', name: g.name, addr: g.address, pid: process.pid });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, ...rest] = line.split(' ');
  const arg = rest.join(' ');
  switch (cmd) {
    case 'join':
      void g.join(JSON.parse(arg) as string[]).then((r) => out({ type: 'join', ...r }));
      return;
    case 'tags':
      g.setTags(JSON.parse(arg) as Record<string, string>);
      return;
    case 'metrics':
      out({
        type: 'metrics',
        ...g.metrics(),
        alive: g.aliveMembers().map((m) => m.name),
        known: g.members().map((m) => m.name),
      });
      return;
    case 'leave':
      void g
        .leave(2000)
        .then(() => g.stop())
        .then(() => {
          out({ type: 'left' });
          process.exit(0);
        });
      return;
    default:
      out({ type: 'error', line });
  }
});
// The parent closing our stdin means the test is over.
rl.on('close', () => void g.stop().then(() => process.exit(0)));
