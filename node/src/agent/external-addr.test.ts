import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExternalAddrWatcher } from './external-addr.js';

describe("agent: following this node's entry of the external-address file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'commitlog-external-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Replaces the file atomically, as the kubelet swaps a ConfigMap volume. */
  const write = (text: string): void => {
    writeFileSync(join(dir, 'next.yaml'), text);
    renameSync(join(dir, 'next.yaml'), join(dir, 'external.yaml'));
  };

  it("reports the entry once the operator writes it, then each change, and ignores other pods' entries", () => {
    write('{}\n');
    const seen: (string | undefined)[] = [];
    const w = new ExternalAddrWatcher(join(dir, 'external.yaml'), 'demo-1', undefined, (a) => seen.push(a));
    w.check();
    write('demo-0: 203.0.113.1:30400\n');
    w.check();
    assert.deepEqual(seen, [], 'no entry for demo-1 yet');
    write('demo-0: 203.0.113.1:30400\ndemo-1: 203.0.113.2:30401\n');
    w.check();
    w.check();
    write('demo-1: 198.51.100.7:30401\n');
    w.check();
    assert.deepEqual(seen, ['203.0.113.2:30401', '198.51.100.7:30401']);
  });

  it('keeps the current address when the file is unreadable, not YAML, or the entry is not host:port', () => {
    write('demo-1: 203.0.113.2:30401\n');
    const seen: (string | undefined)[] = [];
    const w = new ExternalAddrWatcher(join(dir, 'external.yaml'), 'demo-1', '203.0.113.2:30401', (a) => seen.push(a));
    write('demo-1: [unclosed\n');
    w.check();
    write('demo-1: not-an-address\n');
    w.check();
    rmSync(join(dir, 'external.yaml'));
    w.check();
    assert.deepEqual(seen, []);
  });

  it('polls by itself once started, and stops', async () => {
    write('{}\n');
    const seen: (string | undefined)[] = [];
    const w = new ExternalAddrWatcher(join(dir, 'external.yaml'), 'demo-1', undefined, (a) => seen.push(a), 20);
    w.start();
    write('demo-1: 203.0.113.2:30401\n');
    const deadline = Date.now() + 10_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ['203.0.113.2:30401'], 'the poller picked up the entry by itself');
    w.stop();
    write('demo-1: 203.0.113.3:30401\n');
    // A negative check: after stop, several poll periods pass without a report.
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen, ['203.0.113.2:30401']);
  });
});
