import { strict as assert } from 'node:assert';
import type { V1PersistentVolumeClaim, V1Service } from '@kubernetes/client-node';
import { addressesOf, assignAddresses, claimsToProvision, storageClassName } from './addons.js';
import { addresses, kubeletConfig, kubeProxyConfig } from './config.js';

const svc = (name: string, type: string, created: string, ip?: string): V1Service => ({
  metadata: { name, namespace: 'ns', creationTimestamp: new Date(created) },
  spec: { type },
  status: ip === undefined ? {} : { loadBalancer: { ingress: [{ ip }] } },
});

describe('local test node: LoadBalancer addresses and volumes', () => {
  it('a range yields its host addresses, without network and broadcast address', () => {
    assert.deepEqual(addressesOf('10.99.1.0/30'), ['10.99.1.1', '10.99.1.2']);
    assert.equal(addressesOf(addresses.loadBalancerCidr).length, 254);
    assert.throws(() => addressesOf('10.99.1.0'), /not an IPv4 CIDR/);
  });

  it('only LoadBalancer Services without an address get one: the lowest free, oldest Service first', () => {
    const held = svc('held', 'LoadBalancer', '2026-01-01T00:00:00Z', '10.99.1.1');
    const newer = svc('newer', 'LoadBalancer', '2026-01-03T00:00:00Z');
    const older = svc('older', 'LoadBalancer', '2026-01-02T00:00:00Z');
    const cluster = svc('cluster-ip', 'ClusterIP', '2026-01-01T00:00:00Z');
    const got = assignAddresses([held, newer, cluster, older], addressesOf('10.99.1.0/29'));
    assert.deepEqual(
      [...got].map(([s, ip]) => [s.metadata?.name, ip]),
      [
        ['older', '10.99.1.2'],
        ['newer', '10.99.1.3'],
      ],
    );
  });

  it('an exhausted range leaves the remaining Services waiting instead of reusing a held address', () => {
    const got = assignAddresses(
      [svc('a', 'LoadBalancer', '2026-01-01T00:00:00Z', '10.99.1.1'), svc('b', 'LoadBalancer', '2026-01-02T00:00:00Z')],
      ['10.99.1.1'],
    );
    assert.equal(got.size, 0);
  });

  it('provisions pending claims of its class or of none, never bound or deleted ones or other classes', () => {
    const claim = (
      name: string,
      o: { cls?: string; phase?: string; volume?: string; deleting?: boolean },
    ): V1PersistentVolumeClaim => ({
      metadata: { name, ...(o.deleting === true ? { deletionTimestamp: new Date() } : {}) },
      spec: {
        ...(o.cls !== undefined ? { storageClassName: o.cls } : {}),
        ...(o.volume !== undefined ? { volumeName: o.volume } : {}),
      },
      status: { phase: o.phase ?? 'Pending' },
    });
    const got = claimsToProvision([
      claim('default', {}),
      claim('ours', { cls: storageClassName }),
      claim('other', { cls: 'fast' }),
      claim('bound', { phase: 'Bound', volume: 'pv-1' }),
      claim('deleting', { deleting: true }),
    ]);
    assert.deepEqual(
      got.map((c) => c.metadata?.name),
      ['default', 'ours'],
    );
  });

  it('the kubelet runs on cgroup v1 under the test cgroup and kube-proxy leaves host conntrack settings alone', () => {
    const dirs = { root: '/w', containerd: '/w/c', cniConf: '/w/n', cniIpam: '/w/i', kubelet: '/w/k', podLogs: '/w/p' };
    const k = JSON.parse(
      kubeletConfig(dirs, { cgroupRoot: '/commitlog-node-1', healthzPort: 1, resolvConf: '/w/r' }),
    ) as Record<string, unknown>;
    assert.equal(k['failCgroupV1'], false);
    assert.equal(k['cgroupRoot'], '/commitlog-node-1');
    assert.equal(k['protectKernelDefaults'], false);
    assert.deepEqual(k['clusterDNS'], [addresses.dnsIp]);
    const p = JSON.parse(kubeProxyConfig({ kubeconfig: '/k', healthzPort: 1, metricsPort: 2 })) as {
      conntrack: Record<string, unknown>;
    };
    assert.deepEqual(p.conntrack, { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' });
  });
});
