/**
 * The mocha side of {@link MemoryCluster}: clusters a test creates are destroyed after it,
 * whether it passed or not (and only those: a test that failed before creating one leaves
 * nothing to clean up).
 */
import { MemoryCluster, type MemoryClusterOptions } from './memory-cluster.js';

/**
 * Call inside `describe`; returns the function a test calls to create its cluster(s), each
 * destroyed in `afterEach`.
 * @example
 *   const cluster = useMemoryCluster();
 *   it('elects a leader', async () => { const c = await cluster(); await c.leader(); });
 */
export function useMemoryCluster(): (o?: MemoryClusterOptions) => Promise<MemoryCluster> {
  const created: MemoryCluster[] = [];
  afterEach(async () => {
    for (const c of created.splice(0)) await c.destroy();
  });
  return async (o) => {
    const c = await MemoryCluster.create(o);
    created.push(c);
    return c;
  };
}
