import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort } from './processes.js';

describe('freePort (the ports of the real-process fixtures)', () => {
  it('hands out distinct ports below the kernel ephemeral range, where no outgoing connection can take them', async () => {
    // GIVEN the kernel's ephemeral range (outgoing connections take their local ports there)
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    // WHEN 50 ports are handed out
    const ports: number[] = [];
    for (let i = 0; i < 50; i++) ports.push(await freePort());
    // THEN none is in that range, and none twice (the old freePort took the OS's listen(0)
    // pick, from inside the range: an agent lost its gossip port to EADDRINUSE in a stress run)
    const inRange = ports.filter((p) => p >= low);
    assert.deepEqual(inRange, [], `ports inside the ephemeral range (from ${low})`);
    assert.equal(new Set(ports).size, ports.length, 'a port handed out twice');
  });
});
