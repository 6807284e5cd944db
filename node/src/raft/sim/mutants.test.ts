import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutants } from './mutants.js';

// A mutant whose find text no longer matches (after a refactor or a reformat) is silently
// never applied; `npm run test:mutants` reports it as broken, this test fails at once.
describe('mutant catalogue (npm run test:mutants)', () => {
  it('every mutant applies: its find text occurs exactly once in its file, and ids are unique', () => {
    const root = join(import.meta.dirname, '..', '..', '..', '..');
    for (const m of mutants) {
      const text = readFileSync(join(root, m.file), 'utf8');
      assert.equal(text.split(m.find).length - 1, 1, `${m.id}: find text must occur once in ${m.file}`);
      assert.notEqual(m.find, m.replace, `${m.id}: changes nothing`);
    }
    assert.equal(new Set(mutants.map((m) => m.id)).size, mutants.length);
    assert.ok(mutants.length >= 25, `only ${mutants.length} mutants`);
  });
});
