import assert from 'node:assert/strict';
import { Counter, Gauge, Registry } from 'prom-client';
import { startHttpServer, type HttpEndpoint } from './http-server.js';

const OPENMETRICS = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';

describe('the /metrics endpoint', () => {
  let endpoint: HttpEndpoint;
  let registry: Registry;
  beforeEach(async () => {
    registry = new Registry();
    new Counter({ name: 'x_requests_total', help: 'requests', registers: [registry] }).inc(3);
    new Gauge({ name: 'x_members', help: 'members', registers: [registry] }).set(2);
    endpoint = await startHttpServer({ host: '127.0.0.1', port: 0, registry, readiness: () => ({ ready: true }) });
  });
  afterEach(() => endpoint.close());

  const scrape = async (accept?: string): Promise<string> =>
    (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`, accept ? { headers: { accept } } : {})).text();

  it('serves counters on every OpenMetrics scrape, not only the first (prom-client renames counters while rendering OpenMetrics)', async () => {
    for (let i = 1; i <= 3; i++) {
      const text = await scrape(OPENMETRICS);
      assert.match(text, /^# TYPE x_requests counter$/m, `scrape ${i}`);
      assert.match(text, /^x_requests_total 3$/m, `scrape ${i}`);
      assert.match(text, /^x_members 2$/m, `scrape ${i}`);
    }
  });

  it('keeps the text format’s counter names after an OpenMetrics scrape', async () => {
    await scrape(OPENMETRICS);
    const text = await scrape();
    assert.match(text, /^# TYPE x_requests_total counter$/m);
    assert.match(text, /^x_requests_total 3$/m);
  });

  it('gives concurrent text and OpenMetrics scrapes each their own format', async () => {
    const [om, plain] = await Promise.all([scrape(OPENMETRICS), scrape(), scrape(OPENMETRICS), scrape()]);
    assert.match(om ?? '', /^# TYPE x_requests counter$/m);
    assert.match(plain ?? '', /^# TYPE x_requests_total counter$/m);
  });
});
