import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseAll, reservePort } from './port-reservations.js';
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

describe('reservePort (ports reserved across test processes)', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-ports-test-'));
  });
  afterEach(() => {
    releaseAll(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a port another live process reserved THEN this process does not get it; once that process is gone it does', async () => {
    // Another test process (here a child that only waits) holds the reservation of 20001.
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = new Promise((r) => other.once('exit', r));
    try {
      writeFileSync(join(dir, '20001'), String(other.pid));
      assert.equal(reservePort(20001, dir), false, 'a port a live process reserved was handed out');
    } finally {
      other.kill('SIGKILL');
    }
    await exited;
    assert.equal(reservePort(20001, dir), true, 'the reservation of a process that is gone is taken over');
    assert.equal(readFileSync(join(dir, '20001'), 'utf8'), String(process.pid));
  });

  it('reserves a port once per process, and releases this process’s reservations', () => {
    assert.equal(reservePort(20002, dir), true);
    assert.equal(reservePort(20002, dir), false, 'never handed out twice');
    releaseAll(dir);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(reservePort(20002, dir), true, 'free again once released');
  });
});
