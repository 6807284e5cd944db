/**
 * "An unchanged cluster gets no writes", with "unchanged" made explicit (issue 10): the
 * operator reconciles pass after pass, each between two audit checkpoints of the real API
 * server, until a pass follows a quiet one — no write by the operator, and none by anyone
 * else in the namespace (the StatefulSet controller, the scheduler: they react to the
 * operator's writes asynchronously, and the operator observes what they write, so a pass
 * after theirs may rightly write status). That pass must write nothing, unless others wrote
 * during it too; then the search goes on. Bounded by `maxPasses`.
 */
import assert from 'node:assert/strict';
import type { AuditCheckpoint, AuditEvent } from '../../../test/controlplane/audit.js';
import type { ApiServerTest } from './api-server.js';

/** `user: verb resource/name[/subresource]` of each audited write. */
export const writesOf = (events: readonly AuditEvent[]): string[] =>
  events.map(
    (w) =>
      `${w.user.username}: ${w.verb} ${w.objectRef?.resource ?? ''}/${w.objectRef?.name ?? ''}${w.objectRef?.subresource ? `/${w.objectRef.subresource}` : ''}`,
  );

/** Runs `pass` until the cluster is at rest and asserts the pass at rest wrote nothing; returns the last checkpoint. */
export async function zeroWritesAtRest(
  api: Pick<ApiServerTest, 'cp' | 'ns'>,
  operatorUser: string,
  pass: () => Promise<unknown>,
  o: { readonly maxPasses?: number; readonly what?: string; readonly detail?: () => string } = {},
): Promise<AuditCheckpoint> {
  const maxPasses = o.maxPasses ?? 12;
  let from = await api.cp.audit.checkpoint();
  let quiet = false;
  const history: string[] = [];
  for (let n = 1; n <= maxPasses; n++) {
    await pass();
    const to = await api.cp.audit.checkpoint();
    const ours = writesOf(api.cp.audit.between(from, to, { user: operatorUser }));
    const others = writesOf(
      api.cp.audit
        .between(from, to, { namespace: api.ns })
        .filter(
          (w) =>
            w.user.username !== operatorUser &&
            w.objectRef?.resource !== 'events' &&
            (w.responseStatus?.code ?? 200) < 400,
        ),
    );
    from = to;
    history.push(`pass ${n}: ${[...ours, ...others].join(', ') || 'no writes'}${o.detail?.() ?? ''}`);
    if (quiet && others.length === 0) {
      assert.deepEqual(ours, [], `${o.what ?? 'an unchanged cluster gets no writes'}; passes:\n${history.join('\n')}`);
      return to;
    }
    quiet = ours.length === 0 && others.length === 0;
  }
  return assert.fail(`never came to rest in ${maxPasses} passes:\n${history.join('\n')}`);
}
