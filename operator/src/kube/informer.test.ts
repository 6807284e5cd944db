import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeClient, type KubeObj } from './client.js';
import { KubeConfigTransport } from './http.js';
import { Informer } from './informer.js';
import { RESOURCES } from './resources.js';
import { until } from './testing/wait.js';

type WatchHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A fake API server that speaks the list and watch protocol, scripted per watch request. */
class WatchServer {
  readonly requests: { watch: boolean; resourceVersion: string | null }[] = [];
  items: KubeObj[] = [];
  listRv = '10';
  listStatus = 200;
  private readonly server: Server;
  private readonly watches: WatchHandler[] = [];
  private readonly open = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const watch = u.searchParams.get('watch') === 'true';
      this.requests.push({ watch, resourceVersion: u.searchParams.get('resourceVersion') });
      if (!watch) {
        res.writeHead(this.listStatus, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ kind: 'ConfigMapList', items: this.items, metadata: { resourceVersion: this.listRv } }),
        );
        return;
      }
      const h = this.watches.shift();
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
      if (!h) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return;
      } // silent until stopped
      h(req, res);
    });
  }

  onWatch(h: WatchHandler): void {
    this.watches.push(h);
  }

  async listen(): Promise<KubeConfig> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  async close(): Promise<void> {
    for (const r of this.open) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const cm = (name: string, rv: string): KubeObj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', resourceVersion: rv },
});
const event = (type: string, object: unknown): string => JSON.stringify({ type, object }) + '\n';

describe('Informer watch recovery against a local API server', function () {
  this.timeout(10_000);
  let server: WatchServer;
  let informer: Informer<KubeObj> | undefined;
  const seen: string[] = [];

  async function startInformer(opts: { inactivityMs?: number; resyncMs?: number } = {}): Promise<Informer<KubeObj>> {
    const kc = await server.listen();
    const client = new HttpKubeClient(new KubeConfigTransport(kc));
    informer = new Informer<KubeObj>(
      client,
      { resource: RESOURCES.configMap, namespace: 'default', backoffInitialMs: 20, backoffMaxMs: 100, ...opts },
      (type, o) => seen.push(`${type}:${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`),
    );
    informer.start();
    return informer;
  }

  beforeEach(() => {
    server = new WatchServer();
    seen.length = 0;
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await server.close();
  });

  it('lists, then watches from the list resourceVersion', async () => {
    server.items = [cm('a', '5')];
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', cm('b', '11')));
    });
    const inf = await startInformer();
    await until(() => inf.get('default', 'b') !== undefined, 'b in cache');
    assert.deepEqual(seen, ['upsert:a@5', 'upsert:b@11']);
    assert.deepEqual(server.requests.slice(0, 2), [
      { watch: false, resourceVersion: null },
      { watch: true, resourceVersion: '10' },
    ]);
  });

  it('resumes from the last resourceVersion when the server closes the watch', async () => {
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.end(event('ADDED', cm('a', '12')));
    });
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.write(event('MODIFIED', cm('a', '13')));
    });
    const inf = await startInformer();
    await until(() => inf.get('default', 'a')?.metadata?.resourceVersion === '13', 'a@13');
    assert.equal(server.requests[2]?.resourceVersion, '12');
    assert.equal(inf.stats.lists, 1, 'a normal close does not relist');
  });

  it('reconnects after a connection reset, from the last resourceVersion', async () => {
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', cm('a', '20')));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.write(event('MODIFIED', cm('a', '21')));
    });
    const inf = await startInformer();
    await until(() => inf.get('default', 'a')?.metadata?.resourceVersion === '21', 'a@21');
    assert.equal(server.requests[2]?.resourceVersion, '20');
  });

  it('relists on a 410 Gone ERROR event and reports objects deleted meanwhile', async () => {
    server.items = [cm('old', '3')];
    server.onWatch((_req, res) => {
      server.items = [cm('new', '30')];
      server.listRv = '30';
      res.writeHead(200);
      res.end(event('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' }));
    });
    const inf = await startInformer();
    await until(() => inf.get('default', 'new') !== undefined, 'relist');
    assert.equal(inf.get('default', 'old'), undefined);
    assert.ok(seen.includes('delete:old@3'));
    assert.equal(inf.stats.relistsOnGone, 1);
    assert.equal(inf.stats.lists, 2);
  });

  it('relists when the watch request itself answers HTTP 410', async () => {
    server.onWatch((_req, res) => {
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Gone' }));
    });
    const inf = await startInformer();
    await until(() => inf.stats.lists === 2, 'second list');
    assert.equal(inf.stats.relistsOnGone, 1);
  });

  it('aborts a silent watch after the inactivity timeout and watches again', async () => {
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.flushHeaders();
    }); // then nothing at all
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.write(event('ADDED', cm('late', '40')));
    });
    const inf = await startInformer({ inactivityMs: 200 });
    await until(() => inf.get('default', 'late') !== undefined, 'watch after watchdog');
    assert.equal(inf.stats.watchdogAborts, 1);
    assert.equal(inf.stats.lists, 1);
  });

  it('retries with backoff while the API server answers 500', async () => {
    server.listStatus = 500;
    const inf = await startInformer();
    await until(() => inf.stats.failures >= 2, 'two failures');
    assert.equal(inf.hasSynced, false);
    server.listStatus = 200;
    await until(() => inf.hasSynced, 'synced after recovery');
  });

  it('reports every cached object again at each resync', async () => {
    server.items = [cm('a', '1')];
    server.onWatch((_req, res) => {
      res.writeHead(200);
      res.write(event('BOOKMARK', { metadata: { resourceVersion: '11' } }));
    });
    await startInformer({ resyncMs: 100 });
    await until(() => seen.filter((s) => s === 'upsert:a@1').length >= 3, 'two resyncs');
  });
});
