import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { servers } from './client-commands.js';
import { tracingEnabled } from '../observability/tracing.js';

describe('OpenTelemetry tracing', function () {
  // A bound, not a condition: spawning an agent through tsx took over 40 s in a CI run at load 25
  // ("Timeout of 40000ms exceeded"); the test waits on the agent's own lines and its exit.
  this.timeout(120_000);

  it('is off by default and turned on only by the standard OTEL_* variables', () => {
    assert.equal(tracingEnabled({}), false);
    assert.equal(tracingEnabled({ OTEL_SERVICE_NAME: 'x' }), false, 'a service name alone does not turn it on');
    assert.equal(tracingEnabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }), false);
    assert.equal(tracingEnabled({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
    assert.equal(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), true);
    assert.equal(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), true);
    assert.equal(tracingEnabled({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: 'true' }), false);
  });

  it('an agent started with OTEL_TRACES_EXPORTER=console emits a span per gRPC call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'commitlog-otel-'));
    const main = join(import.meta.dirname, 'main.ts');
    const agent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'agent',
        '--data-dir',
        join(dir, 'data'),
        '--rpc-port',
        '0',
        '--http-port',
        '0',
        '--standalone',
        '--insecure',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: '100' },
      },
    );
    let out = '';
    agent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    agent.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        agent.on('exit', (code) => reject(new Error(`agent exited (${code}): ${out}`)));
        agent.stdout.on('data', () => {
          const m = /"rpcPort":(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
      });
      await servers({ addr: `127.0.0.1:${port}`, insecure: true }, new PassThrough());
      agent.kill('SIGTERM');
      await once(agent, 'exit');
      assert.match(out, /name: 'grpc\.log\.v1\.Log\/GetServers'/);
    } finally {
      if (agent.exitCode === null) agent.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
