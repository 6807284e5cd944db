/**
 * Exposes a {@link Gossip} member's metrics to Prometheus through prom-client. Values are
 * read from `gossip.metrics()` at scrape time (collect callbacks), so nothing is counted
 * twice and the core stays free of the library.
 *
 * Metrics (prefix `commitlog_gossip_`): `members{state}`, `health_score`,
 * `protocol_total{event}` (probes, probe failures, suspicions, refutations, deaths, refusals …),
 * `packets_dropped_total{reason}`, `packets_total{direction}`, `bytes_total{direction}`.
 */
import { Gauge, type Registry } from 'prom-client';
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
  // Monotonic values read from the member: exposed as gauges named *_total because
  // prom-client counters cannot be set, only incremented.
  new Gauge({
    name: 'commitlog_gossip_protocol_total',
    help: 'Protocol events since start (probes, probeFailures, suspicionsRaised, refutations, deathsDeclared, refused …).',
    labelNames: ['event'],
    registers,
    collect() {
      for (const [event, n] of Object.entries(gossip.metrics().protocol)) this.set({ event }, n);
    },
  });
  new Gauge({
    name: 'commitlog_gossip_packets_dropped_total',
    help: 'Inbound packets and frames dropped, by reason (decrypt-failed, truncated, oversized, malformed …).',
    labelNames: ['reason'],
    registers,
    collect() {
      for (const [reason, n] of Object.entries(gossip.metrics().transport.dropped)) this.set({ reason }, n ?? 0);
    },
  });
  new Gauge({
    name: 'commitlog_gossip_packets_total',
    help: 'UDP packets sent and received.',
    labelNames: ['direction'],
    registers,
    collect() {
      const t = gossip.metrics().transport;
      this.set({ direction: 'sent' }, t.packetsSent);
      this.set({ direction: 'received' }, t.packetsReceived);
    },
  });
  new Gauge({
    name: 'commitlog_gossip_bytes_total',
    help: 'Bytes sent and received over UDP and TCP.',
    labelNames: ['direction'],
    registers,
    collect() {
      const t = gossip.metrics().transport;
      this.set({ direction: 'sent' }, t.bytesSent);
      this.set({ direction: 'received' }, t.bytesReceived);
    },
  });
}
