/**
 * Preload for `tsx bench/cluster/idle.ts --hold --node-arg=--import=<this file>`: counts the
 * callback fires of every JS timer (setTimeout, setInterval, setImmediate) by the site that
 * created it. `kill -USR2 PID` writes the counts so far to $COUNT_TIMERS_DIR (default /tmp) as
 * timers-<pid>-<ms>.json; two dumps 10 s apart give the fires per 10 s of each source.
 * libuv timers outside JS (perf_hooks' event-loop-delay monitor) are not seen.
 */
import timers from 'node:timers';
import { syncBuiltinESMExports } from 'node:module';
import { writeFileSync } from 'node:fs';

const counts = new Map();
const site = () => {
  const frames = (new Error().stack ?? '').split('\n').slice(3);
  const f = frames.find((x) => !x.includes('count-timers') && !x.includes('node:internal')) ?? '?';
  return f.trim().replace(/^at /, '');
};
for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
  const orig = timers[name];
  const wrapped = function (fn, ...rest) {
    if (typeof fn !== 'function') return orig.call(this, fn, ...rest);
    const key = `${name} ${site()}`;
    return orig.call(
      this,
      function (...a) {
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return fn.apply(this, a);
      },
      ...rest,
    );
  };
  timers[name] = wrapped;
  globalThis[name] = wrapped;
}
syncBuiltinESMExports();
process.on('SIGUSR2', () => {
  const dir = process.env['COUNT_TIMERS_DIR'] ?? '/tmp';
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  writeFileSync(`${dir}/timers-${process.pid}-${Date.now()}.json`, JSON.stringify(sorted, null, 1));
});
