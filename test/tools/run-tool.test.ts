import assert from 'node:assert/strict';
import { runTool } from './tools.js';

describe('runTool: a tool that exits without reading its input', () => {
  it('is judged by its exit code: the broken pipe is not an uncaught error', async () => {
    // `true` exits at once; 8 MiB cannot fit in a pipe buffer, so the write fails with EPIPE.
    const r = await runTool('true', [], { input: 'x'.repeat(8 << 20) });
    assert.equal(r.code, 0);
  });

  it('without input, stdin is closed (no write that can race the exit)', async () => {
    const r = await runTool('cat', []);
    assert.deepEqual([r.code, r.stdout], [0, '']);
  });
});
