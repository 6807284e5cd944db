import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from './scenario.js';

// Interaction tests in the style of etcd-io/raft's testdata: each file is a script of
// commands with the output they must produce. Regenerate after an intended change with
//   UPDATE_GOLDEN=1 npx mocha node/src/raft/sim/scenario.test.ts
// and review the diff: it is the behaviour change. `expect` lines state each script's point
// and are checked on every run, so regenerating cannot accept a regression of that point.
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

  it('an expect that does not hold fails the script, whatever the golden output (UPDATE_GOLDEN=1 cannot accept it)', () => {
    const script =
      'cluster n1 n2 n3\n\ncampaign n1\n\nstabilize\n\nexpect n1 role=leader term=1\n\nexpect n2 role=leader\n';
    assert.throws(() => runScenario(script), /expect failed .*n2 role=follower, expected leader/);
  });
});
