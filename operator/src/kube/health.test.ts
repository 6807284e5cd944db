import assert from 'node:assert/strict';
import { startHealthServer } from './health.js';
import { createMetrics } from './metrics.js';

describe('operator HTTP endpoint', () => {
  it('serves healthz, readyz and Prometheus metrics', async () => {
    const metrics = createMetrics();
    let ready = false;
    const s = await startHealthServer(metrics.registry, { live: () => true, ready: () => ready }, 0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${s.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      ready = true;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      metrics.reconciles.inc({ result: 'success' });
      metrics.queueDepth.set(3);
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /commitlog_operator_reconciles_total\{result="success"\} 1/);
      assert.match(text, /commitlog_operator_queue_depth 3/);
    } finally {
      await s.close();
    }
  });
});
