/**
 * The folder layering of eslint.config.js (`import-x/no-restricted-paths` zones) fails on
 * a violation. Each case lints, with the repository's own ESLint configuration, the text
 * of one import placed in a real file of the tree (its path decides the zone; the import
 * must resolve to a real file, as it does in the tree), and checks the layering rule's
 * verdict. Allowed imports are checked too, so a rule that rejects everything fails here.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..', '..');
const RULE = 'import-x/no-restricted-paths';

/** One import placed in `file`; `allowed` is the verdict ARCHITECTURE.md asks for. */
interface Case {
  /** The rule that decides (default: the layering zones). */
  readonly rule?: string;
  readonly name: string;
  readonly file: string;
  readonly specifier: string;
  readonly allowed: boolean;
}

const cases: readonly Case[] = [
  { name: 'log imports cli', file: 'node/src/log/record.ts', specifier: '../cli/program.js', allowed: false },
  { name: 'log imports server', file: 'node/src/log/record.ts', specifier: '../server/errors.js', allowed: false },
  {
    name: 'raft imports agent',
    file: 'node/src/raft/shell/raft-node.ts',
    specifier: '../../agent/agent.js',
    allowed: false,
  },
  {
    name: 'gossip imports server',
    file: 'node/src/gossip/shell/gossip.ts',
    specifier: '../../server/server.js',
    allowed: false,
  },
  { name: 'server imports agent', file: 'node/src/server/server.ts', specifier: '../agent/agent.js', allowed: false },
  { name: 'agent imports cli', file: 'node/src/agent/agent.ts', specifier: '../cli/program.js', allowed: false },
  {
    name: 'raft core imports raft shell',
    file: 'node/src/raft/core/step.ts',
    specifier: '../shell/raft-node.js',
    allowed: false,
  },
  {
    name: 'gossip core imports gossip shell',
    file: 'node/src/gossip/core/probe.ts',
    specifier: '../shell/gossip.js',
    allowed: false,
  },
  {
    name: 'operator imports node server',
    file: 'operator/src/main.ts',
    specifier: '../../node/src/server/errors.js',
    allowed: false,
  },
  {
    name: 'node imports operator',
    file: 'node/src/cli/program.ts',
    specifier: '../../../operator/src/main.js',
    allowed: false,
  },
  { name: 'cli imports agent', file: 'node/src/cli/program.ts', specifier: '../agent/config.js', allowed: true },
  { name: 'agent imports raft', file: 'node/src/agent/agent.ts', specifier: '../raft/index.js', allowed: true },
  {
    name: 'raft shell imports raft core',
    file: 'node/src/raft/shell/raft-node.ts',
    specifier: '../core/step.js',
    allowed: true,
  },
  {
    name: 'raft imports log',
    file: 'node/src/raft/shell/raft-node.ts',
    specifier: '../../log/index.js',
    allowed: true,
  },
  {
    name: 'operator imports node gen',
    file: 'operator/src/main.ts',
    specifier: '../../node/src/gen/v1/admin.js',
    allowed: true,
  },
  // The test-doubles convention: fixtures and doubles in testing/ folders, for tests only.
  ...(
    [
      ['a production file imports a fixture', 'node/src/agent/agent.ts', '../server/testing/fixtures.js', false],
      ['a production file imports a test double', 'operator/src/operator.ts', './kube/testing/fake-client.js', false],
      ['a core file imports a test harness', 'node/src/gossip/core/probe.ts', './testing/scenario-harness.js', false],
      ['a production file imports a test file', 'node/src/server/server.ts', './errors.test.js', false],
      ['a test imports a fixture', 'node/src/server/server.test.ts', './testing/fixtures.js', true],
      ['a fixture imports a fixture', 'node/src/agent/testing/cluster.ts', '../../server/testing/fixtures.js', true],
    ] as const
  ).map(([name, file, specifier, allowed]) => ({ rule: 'no-restricted-imports', name, file, specifier, allowed })),
];

describe('lint: folder layering (eslint.config.js zones) and the test-doubles convention', function () {
  // Type-aware linting starts a TypeScript project service: slow on a busy machine, not timing-dependent.
  this.timeout(300_000);
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: root });
  });

  for (const c of cases) {
    it(`${c.allowed ? 'accepts' : 'fails on'} an import where ${c.name}`, async () => {
      const target = join(root, dirname(c.file), c.specifier.replace(/\.js$/, '.ts'));
      assert.ok(existsSync(target), `the probe must import a real file: ${target}`);
      const text = `import * as m from '${c.specifier}';\nexport const probe = m;\n`;
      const [result] = await eslint.lintText(text, { filePath: join(root, c.file) });
      assert.ok(result, 'ESLint returned no result');
      const fatal = result.messages.filter((m) => m.fatal);
      assert.deepEqual(fatal, [], 'the probe did not parse');
      const rule = c.rule ?? RULE;
      const layering = result.messages.filter((m) => m.ruleId === rule);
      if (c.allowed) assert.deepEqual(layering, [], `${c.file} may import ${c.specifier}`);
      else
        assert.equal(
          layering.length,
          1,
          `${rule} must reject ${c.specifier} in ${c.file}; got ${JSON.stringify(result.messages)}`,
        );
    });
  }
});
