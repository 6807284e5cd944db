/**
 * Exposes a {@link Gossip} member's metrics to Prometheus through prom-client. Values are
 * read from `gossip.metrics()` at scrape time (collect callbacks), so nothing is counted
 * twice and the core stays free of the library.
 *
 * Metrics (prefix `commitlog_gossip_`): gauges `members{state}`, `health_score`; counters
 * `protocol_total{event}` (probes, probe failures, suspicions, refutations, deaths, refusals …),
 * `packets_dropped_total{reason}`, `packets_total{direction}`, `bytes_total{direction}`.
 */
import { Gauge, type Registry } from 'prom-client';
import { monotonicCounter as monotonic } from '../../observability/metrics.js';
import { type Gossip } from './gossip.js';

/** Registers the gossip metrics of `gossip` on `registry`. Call once per member. */
export function registerGossipMetrics(gossip: Gossip, registry: Registry): void {
  const registers = [registry];
  new Gauge({
    name: 'commitlog_gossip_members',
    help: 'Known gossip members by state (self included).',
    labelNames: ['state'],
    registers,
    collect() {
      for (const [state, n] of Object.entries(gossip.metrics().members)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'commitlog_gossip_health_score',
    help: 'Lifeguard local health score (0 = healthy); timeouts are scaled by score + 1.',
    registers,
    collect() {
      this.set(gossip.metrics().healthScore);
    },
  });
  // The member counts in plain numbers (the core stays free of the library); each scrape
  // adds what grew since the previous one, so these are true counters (TYPE counter,
  // `rate()` works, promtool's lint passes) rather than gauges named *_total.
  monotonic({
    name: 'commitlog_gossip_protocol_total',
    help: 'Protocol events since start (probes, probeFailures, suspicionsRaised, refutations, deathsDeclared, refused …).',
    labelNames: ['event'],
    registers,
    read: () => Object.entries(gossip.metrics().protocol).map(([event, n]) => [{ event }, n]),
  });
  monotonic({
    name: 'commitlog_gossip_packets_dropped_total',
    help: 'Inbound packets and frames dropped, by reason (decrypt-failed, truncated, oversized, malformed …).',
    labelNames: ['reason'],
    registers,
    read: () => Object.entries(gossip.metrics().transport.dropped).map(([reason, n]) => [{ reason }, n ?? 0]),
  });
  monotonic({
    name: 'commitlog_gossip_packets_total',
    help: 'UDP packets sent and received.',
    labelNames: ['direction'],
    registers,
    read: () => {
      const t = gossip.metrics().transport;
      return [
        [{ direction: 'sent' }, t.packetsSent],
        [{ direction: 'received' }, t.packetsReceived],
      ];
    },
  });
  monotonic({
    name: 'commitlog_gossip_bytes_total',
    help: 'Bytes sent and received over UDP and TCP.',
    labelNames: ['direction'],
    registers,
    read: () => {
      const t = gossip.metrics().transport;
      return [
        [{ direction: 'sent' }, t.bytesSent],
        [{ direction: 'received' }, t.bytesReceived],
      ];
    },
  });
}
