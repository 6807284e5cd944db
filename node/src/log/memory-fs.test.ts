import assert from 'node:assert/strict';
import { lcg, MemoryFileSystem } from './memory-fs.js';

// The simulated disk's torn writes (memory-fs.ts): the last unsynced write of a file may land
// partially on a power cut; with `sectorBytes` only in whole sectors, as a real disk writes.

const PATH = '/d/f';

/** The file lengths seen after `trials` power cuts, each tearing a 20-byte write at byte 4 over a synced 4-byte file. */
function tornLengths(sectorBytes: number, trials = 400): Set<number> {
  const seen = new Set<number>();
  const rand = lcg(7);
  for (let t = 0; t < trials; t++) {
    const fs = new MemoryFileSystem(rand, () => 0, 0, sectorBytes);
    fs.mkdirp('/d');
    const fd = fs.open(PATH, 'wx+');
    fs.write(fd, Buffer.alloc(4, 1), 0, 4, 0);
    fs.fdatasyncSync(fd);
    fs.fsyncDirSync('/d');
    fs.write(fd, Buffer.alloc(20, 2), 0, 20, 4);
    fs.powerCut();
    seen.add(fs.fileBytes(PATH)?.length ?? -1);
  }
  return seen;
}

describe('simulated disk: torn writes', () => {
  it('tears at any byte by default', () => {
    const lengths = tornLengths(1);
    assert.ok(
      [...lengths].some((n) => n % 8 !== 0 && n !== 24),
      `expected a tear inside a sector, saw lengths ${[...lengths].join(' ')}`,
    );
  });

  it('with sectorBytes, a torn write keeps whole sectors only (or all of it, or none)', () => {
    // GIVEN 8-byte sectors and a write of bytes 4..24 (sectors [0,8) [8,16) [16,24))
    const lengths = tornLengths(8);
    // THEN the file ends at the old end, at a sector boundary inside the write, or at its end
    assert.deepEqual(
      [...lengths].sort((a, b) => a - b),
      [4, 8, 16, 24],
    );
  });

  it('refuses a sector size that is not a positive integer', () => {
    assert.throws(() => new MemoryFileSystem(lcg(1), () => 0, 0, 0), RangeError);
  });

  it('cutNow cuts the power at once: later operations fail until reboot', () => {
    const fs = new MemoryFileSystem(lcg(3), () => 0, 0);
    fs.mkdirp('/d');
    const fd = fs.open(PATH, 'wx+');
    fs.write(fd, Buffer.alloc(4, 1), 0, 4, 0);
    fs.cutNow();
    assert.ok(fs.powerIsOff);
    assert.throws(() => fs.open('/d/g', 'wx+'), { code: 'EPOWERCUT' });
    fs.reboot();
    assert.equal(fs.fileBytes(PATH), undefined, 'the file was never made durable');
  });
});
