import assert from 'node:assert/strict';
import { CachedKubeClient, caughtUp, InformerCaches, parseEqualitySelector, type CacheView } from './cached-client.js';
import type { KubeObj } from './client.js';
import { RESOURCES } from './resources.js';
import { FakeKubeClient } from './testing/fake-client.js';

/** A cache the test fills by hand, standing in for an informer that lags the API server. */
class HandCache implements CacheView {
  hasSynced = true;
  readonly objects = new Map<string, KubeObj>();
  get(ns: string | undefined, name: string): KubeObj | undefined {
    return this.objects.get(`${ns ?? ''}/${name}`);
  }
  list(): KubeObj[] {
    return [...this.objects.values()];
  }
  put(o: KubeObj): void {
    this.objects.set(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o);
  }
}

const cm = (name: string, rv: string, labels: Record<string, string> = { 'app.kubernetes.io/name': 'commitlog' }) => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv, uid: `uid-${name}-${rv}`, labels },
});

describe('CachedKubeClient', () => {
  let api: FakeKubeClient;
  let cache: HandCache;
  let client: CachedKubeClient;
  const reads = () => api.requests.filter((r) => r.verb === 'get' || r.verb === 'list').length;

  beforeEach(() => {
    api = new FakeKubeClient();
    cache = new HandCache();
    const caches = new InformerCaches();
    caches.add({
      resource: RESOURCES.configMap,
      namespace: 'ns',
      labelSelector: 'app.kubernetes.io/name=commitlog',
      metadataOnly: false,
      cache,
    });
    client = new CachedKubeClient(api, caches);
  });

  it('serves a get and a covered list from the cache, with kind and apiVersion filled in', async () => {
    cache.put(cm('a', '5', { 'app.kubernetes.io/name': 'commitlog', 'app.kubernetes.io/instance': 'x' }));
    cache.put(cm('b', '6'));
    assert.equal((await client.get(RESOURCES.configMap, 'ns', 'a'))?.kind, 'ConfigMap');
    assert.equal(await client.get(RESOURCES.configMap, 'ns', 'missing'), undefined, 'a miss is not found');
    const l = await client.list(
      RESOURCES.configMap,
      'ns',
      'app.kubernetes.io/name=commitlog,app.kubernetes.io/instance=x',
    );
    assert.deepEqual(
      l.items.map((o) => o.metadata?.name),
      ['a'],
    );
    assert.equal(reads(), 0);
  });

  it('goes to the API server for what the cache cannot answer: an uncovered selector, another namespace, an unsynced cache', async () => {
    await client.list(RESOURCES.configMap, 'ns', 'app.kubernetes.io/instance=x');
    await client.get(RESOURCES.configMap, 'other', 'a');
    await client.list(RESOURCES.configMap, 'ns', 'app.kubernetes.io/name=commitlog', 'metadata.name=a');
    cache.hasSynced = false;
    await client.get(RESOURCES.configMap, 'ns', 'a');
    assert.equal(reads(), 4);
  });

  it('after its own write reads from the API server until the cache shows that resourceVersion', async () => {
    const written = await client.apply(RESOURCES.configMap, { ...cm('a', ''), apiVersion: 'v1', kind: 'ConfigMap' });
    const rv = written.metadata?.resourceVersion ?? '';
    assert.equal((await client.get(RESOURCES.configMap, 'ns', 'a'))?.metadata?.resourceVersion, rv, 'read-your-writes');
    await client.list(RESOURCES.configMap, 'ns', 'app.kubernetes.io/name=commitlog');
    assert.equal(reads(), 2, 'a get of the object and a list of its kind both went to the API server');
    cache.put(cm('a', rv));
    await client.get(RESOURCES.configMap, 'ns', 'a');
    await client.list(RESOURCES.configMap, 'ns', 'app.kubernetes.io/name=commitlog');
    assert.equal(reads(), 2, 'caught up: both served from the cache');
  });

  it('after a delete reads from the API server until the cache drops the deleted object (a successor of the same name counts)', async () => {
    api.seed(RESOURCES.configMap, cm('a', '1'));
    cache.put(cm('a', '1'));
    await client.delete(RESOURCES.configMap, 'ns', 'a');
    assert.equal(await client.get(RESOURCES.configMap, 'ns', 'a'), undefined);
    assert.equal(reads(), 1);
    cache.put(cm('a', '9')); // recreated under the same name (a new uid)
    await client.get(RESOURCES.configMap, 'ns', 'a');
    assert.equal(reads(), 1);
  });

  it('a metadata-only cache of every object sends the get of an unlabelled object that exists to the API server', async () => {
    const meta = new HandCache();
    const caches = new InformerCaches();
    caches.add({
      resource: RESOURCES.secret,
      namespace: 'ns',
      labelSelector: 'app.kubernetes.io/name=commitlog',
      metadataOnly: false,
      cache: new HandCache(),
    });
    caches.add({
      resource: RESOURCES.secret,
      namespace: 'ns',
      labelSelector: undefined,
      metadataOnly: true,
      cache: meta,
    });
    const c = new CachedKubeClient(api, caches);
    meta.put({ metadata: { name: 'user-ca', namespace: 'ns' } });
    await c.get(RESOURCES.secret, 'ns', 'user-ca');
    await c.get(RESOURCES.secret, 'ns', 'nobody');
    assert.equal(reads(), 1, 'only the Secret known to exist was fetched');
  });

  it('compares resourceVersions as integers and parses only equality selectors', () => {
    assert.equal(caughtUp(cm('a', '12'), { rv: '9' }), true);
    assert.equal(caughtUp(cm('a', '9'), { rv: '12' }), false);
    assert.equal(caughtUp(cm('a', 'x'), { rv: 'y' }), false);
    assert.deepEqual(
      [...(parseEqualitySelector('a=b,c==d') ?? [])],
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
    );
    assert.equal(parseEqualitySelector('a!=b'), undefined);
    assert.equal(parseEqualitySelector('a in (b)'), undefined);
  });
});
