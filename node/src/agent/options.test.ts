import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { addAgentCommandOptions } from './command.js';
import { AGENT_OPTIONS, envName, flagsOf, optionsMarkdown } from './options.js';
import { AgentConfigError, OptionReader } from './option-reader.js';

describe('agent options: one table derives flags, env, file keys, help and docs', () => {
  it('docs/agent-options.md is the table rendered (regenerate: npx tsx node/src/agent/options-doc.ts)', () => {
    const path = join(import.meta.dirname, '..', '..', '..', 'docs', 'agent-options.md');
    assert.equal(readFileSync(path, 'utf8'), optionsMarkdown());
  });

  it('--help lists every option of the table with its environment variable', () => {
    const help = addAgentCommandOptions(new Command('agent')).helpInformation();
    for (const o of AGENT_OPTIONS) {
      assert.ok(help.includes(`--${o.key}`), `--${o.key} missing from --help`);
      assert.ok(help.includes(envName(o.key)), `${envName(o.key)} missing from --help`);
    }
  });

  it('commander parses every flag of the table back to its key', () => {
    const cmd = addAgentCommandOptions(new Command('agent')).exitOverride();
    const argv = AGENT_OPTIONS.flatMap((o) => (o.kind === 'bool' ? [`--${o.key}`] : [`--${o.key}`, 'x']));
    cmd.parse(argv, { from: 'user' });
    assert.deepEqual(Object.keys(flagsOf(cmd.opts())).sort(), AGENT_OPTIONS.map((o) => o.key).sort());
  });

  it('reads by precedence flag > env > config file > default and names the source of a bad value', () => {
    const r = (flags: object, env: NodeJS.ProcessEnv, file: object): OptionReader =>
      new OptionReader({ flags: flags as Record<string, unknown>, env, file: file as Record<string, unknown> });
    const key = 'membership-resync-ms';
    assert.equal(r({ [key]: '5000' }, { COMMITLOG_MEMBERSHIP_RESYNC_MS: '4000' }, { [key]: 3000 }).int(key), 5000);
    assert.equal(r({}, { COMMITLOG_MEMBERSHIP_RESYNC_MS: '4000' }, { [key]: 3000 }).int(key), 4000);
    assert.equal(r({}, {}, { [key]: 3000 }).int(key), 3000);
    assert.equal(r({}, {}, {}).int(key), 1000);
    const bad = r({}, { COMMITLOG_SHUTDOWN_TRANSFER_MS: '-1' }, { role: 'boss' });
    bad.int('shutdown-transfer-ms');
    bad.choice('role');
    assert.deepEqual(bad.problems, [
      'COMMITLOG_SHUTDOWN_TRANSFER_MS: expected an integer in [0, 600000], got "-1"',
      'role (config file): expected one of voter|learner, got "boss"',
    ]);
    assert.throws(() => bad.check(), AgentConfigError);
  });
});
