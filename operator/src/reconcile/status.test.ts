import assert from 'node:assert/strict';
import { computeStatus, failedStatus, type Observation } from './status.js';

const NOW = '2030-01-01T00:00:00Z';
const pod = (i: number, ready = true) => ({ name: `demo-${i}`, ready, internalAddress: `demo-${i}:8400` });
const base: Observation = {
  generation: 2,
  desiredReplicas: 3,
  statefulSetReplicas: 3,
  selector: 's',
  podName: (i) => `demo-${i}`,
  pods: [pod(0), pod(1), pod(2)],
  clusterId: 'c',
  bootstrapped: true,
  tls: { enabled: true },
  external: { type: 'None', addresses: {} },
};
const cond = (o: Observation, type: string) =>
  computeStatus(o, undefined, NOW).conditions?.find((c) => c.type === type);

describe('status conditions', () => {
  it('during a scale-down says how many of the running members are ready, never "5/3"', () => {
    const o = {
      ...base,
      statefulSetReplicas: 5,
      pods: [0, 1, 2, 3, 4].map((i) => pod(i)),
      scaling: { direction: 'down' as const },
    };
    assert.equal(cond(o, 'Ready')?.message, '5 of 5 members ready, scaling down to 3');
    assert.equal(cond(base, 'Ready')?.message, '3/3 members ready');
    const missing = {
      ...base,
      pods: [pod(0), { ...pod(1, false), notReady: 'ImagePullBackOff: Back-off pulling image' }],
    };
    assert.equal(
      cond(missing, 'Ready')?.message,
      '1/3 members ready; demo-1: ImagePullBackOff: Back-off pulling image; demo-2: no pod',
    );
  });

  it('external access waits for every member the StatefulSet should run, pod or not', () => {
    const o = { ...base, pods: [pod(0)], external: { type: 'LoadBalancer', addresses: { 'demo-0': '1.2.3.4:8400' } } };
    assert.equal(cond(o, 'ExternalAccessReady')?.message, 'waiting for external addresses of demo-1, demo-2');
    assert.equal(cond({ ...o, statefulSetReplicas: 0, pods: [] }, 'ExternalAccessReady')?.reason, 'NoMembers');
  });

  it('a failed step replaces Ready and Degraded, and keeps every other condition as it was', () => {
    const previous = computeStatus({ ...base, generation: 1 }, undefined, '2029-01-01T00:00:00Z');
    const s = failedStatus(previous, 'services', '403 Forbidden', 2, NOW);
    const by = (t: string) => s.conditions?.find((c) => c.type === t);
    assert.deepEqual(
      [
        by('Degraded')?.status,
        by('Degraded')?.reason,
        by('Degraded')?.message,
        by('Degraded')?.observedGeneration,
        by('Degraded')?.lastTransitionTime,
      ],
      ['True', 'ReconcileFailed', 'step services failed: 403 Forbidden', 2, NOW],
    );
    assert.equal(by('Ready')?.status, 'False');
    assert.deepEqual(
      by('Available'),
      previous.conditions?.find((c) => c.type === 'Available'),
    );
    assert.equal(s.conditions?.length, previous.conditions?.length);
  });
});
