/**
 * Events about a CommitLogCluster are deduplicated and rate-limited on a real API server
 * (issue 14, item 2): identical events within ten minutes are recorded once, and distinct
 * events about one cluster are limited as client-go's event spam filter limits them — a
 * burst of 25 Warning events, then one more every 5 minutes — so a failure whose message
 * changes at every pass cannot flood the namespace's events. Normal events (a pod restarted,
 * a CA phase entered: steps that happen once) are not limited. Time is the recorder's
 * injected clock.
 */
import assert from 'node:assert/strict';
import type { CommitLogCluster } from './api/types.js';
import { EVENT_BURST, EVENT_REFILL_MS, KubeEventRecorder } from './kube/events.js';
import { useApiServer } from './testing/api-server.js';

describe('events about a cluster are deduplicated and rate-limited (real API server)', function () {
  this.timeout(60_000);
  const api = useApiServer();

  it('a burst of 25 distinct Warning events about one cluster, then one per 5 minutes; another cluster has its own budget; Normal events pass', async () => {
    // GIVEN two clusters and a recorder on a clock the test moves
    const demo: CommitLogCluster = await api.createCluster('demo', { replicas: 1 });
    const other: CommitLogCluster = await api.createCluster('other', { replicas: 1 });
    let t = Date.parse('2030-01-01T00:00:00Z');
    const recorder = new KubeEventRecorder(api.client, 'rate-limit-test', undefined, { now: () => t });
    const count = async (name: string, reason = 'ReconcileFailed') =>
      (await api.events((e) => e.reason === reason)).filter((e) => e.metadata?.name?.startsWith(`${name}.`)).length;

    // WHEN 30 distinct Warning events about demo are recorded at once, and the first again
    for (let i = 0; i < 30; i++)
      await recorder.record(demo, 'Warning', 'ReconcileFailed', 'statefulset', `attempt ${i} failed`);
    await recorder.record(demo, 'Warning', 'ReconcileFailed', 'statefulset', 'attempt 0 failed');
    // THEN the API server holds the burst only
    assert.equal(EVENT_BURST, 25);
    assert.equal(await count('demo'), EVENT_BURST, 'a burst of 25, the rest dropped');
    // AND another cluster is not limited by demo's events
    await recorder.record(other, 'Warning', 'ReconcileFailed', 'statefulset', 'attempt 0 failed');
    assert.equal(await count('other'), 1);

    // WHEN 5 minutes pass, and two more distinct events about demo come
    t += EVENT_REFILL_MS;
    await recorder.record(demo, 'Warning', 'ReconcileFailed', 'statefulset', 'attempt 30 failed');
    await recorder.record(demo, 'Warning', 'ReconcileFailed', 'statefulset', 'attempt 31 failed');
    // THEN one more is recorded
    assert.equal(await count('demo'), EVENT_BURST + 1, 'one more event per 5 minutes');
    assert.equal(recorder.dropped, 5 + 1, 'the dropped ones are counted');

    // WHEN 30 distinct Normal events about demo come at once
    for (let i = 0; i < 30; i++)
      await recorder.record(demo, 'Normal', 'RollingUpdate', 'RestartPod', `restarted demo-${i}`);
    // THEN every one is recorded
    assert.equal(await count('demo', 'RollingUpdate'), 30, 'Normal events are not rate-limited');
  });
});
