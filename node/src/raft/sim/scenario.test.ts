import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from './scenario.js';

// Interaction tests in the style of etcd-io/raft's testdata: each file is a script of
// commands with the output they must produce. Regenerate after an intended change with
//   UPDATE_GOLDEN=1 npx mocha node/src/raft/sim/scenario.test.ts
// and review the diff: it is the behaviour change.
const dir = join(import.meta.dirname, 'testdata');

describe('raft scenarios (golden interaction scripts)', () => {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()) {
    it(file.replace(/\.txt$/, ''), () => {
      const path = join(dir, file);
      const expected = readFileSync(path, 'utf8');
      const actual = runScenario(expected);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
      else assert.equal(actual, expected, `${file} differs from its golden output (UPDATE_GOLDEN=1 to accept)`);
    });
  }
});
