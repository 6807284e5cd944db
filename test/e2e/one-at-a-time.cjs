// The e2e flow's rolling-update check (steps.sh one_member_down_at_a_time):
//   node one-at-a-time.cjs <since RFC 3339> <events.json> <pods.json>
// Each pod the operator restarted (RollingUpdate events after <since>, in time order) must be
// Ready again (its Ready transition, whole seconds) no later than the next restart. Exit 1
// with a PROBLEM line per violation.
'use strict';
const fs = require('node:fs');
const [since, eventsFile, podsFile] = process.argv.slice(2);
const t = (s) => Date.parse(s);
const restarts = JSON.parse(fs.readFileSync(eventsFile, 'utf8'))
  .items.filter((e) => e.reason === 'RollingUpdate' && /^restarted /.test(e.message ?? ''))
  .map((e) => ({ pod: e.message.split(' ')[1], at: e.eventTime ?? e.lastTimestamp ?? e.firstTimestamp }))
  .filter((r) => t(r.at) >= t(since))
  .sort((a, b) => t(a.at) - t(b.at));
const readyAt = new Map(
  JSON.parse(fs.readFileSync(podsFile, 'utf8')).items.map((p) => [
    p.metadata.name,
    p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime,
  ]),
);
let ok = restarts.length > 0;
if (!ok) console.error(`PROBLEM: no RollingUpdate restart events since ${since}`);
for (let i = 0; i + 1 < restarts.length; i++) {
  const prev = restarts[i];
  const next = restarts[i + 1];
  const ready = readyAt.get(prev.pod);
  const line = `restarted ${prev.pod} at ${prev.at}, Ready again at ${ready ?? 'never'}; restarted ${next.pod} at ${next.at}`;
  if (ready === undefined || t(ready) > t(next.at)) {
    console.error(`PROBLEM: ${line}`);
    ok = false;
  } else console.error(line);
}
process.exit(ok ? 0 : 1);
