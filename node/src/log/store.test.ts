import assert from 'node:assert/strict';
import { openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FRAME_HEADER_BYTES } from './frame.js';
import { RecordType } from './record.js';
import { Store } from './store.js';
import { bytes, makeTempDir, removeTempDir } from './testing/temp-dir.js';

const write = bytes('hello world');
const width = write.length + FRAME_HEADER_BYTES;

describe("store (the book's store tests)", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = makeTempDir('store');
    path = join(dir, '00000000000000000000.store');
  });
  afterEach(() => removeTempDir(dir));

  const open = (): Store => new Store(path, openSync(path, 'w+'), statSync(path).size, 64);
  const openRw = (): Store => new Store(path, openSync(path, 'r+'), statSync(path).size, 64);

  function appendThree(s: Store): void {
    for (let i = 1; i < 4; i++) {
      const pos = s.append(i - 1, 1, RecordType.data, write);
      assert.equal(pos + width, width * i);
    }
  }

  function readThree(s: Store): void {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(Buffer.from(s.read(i * width)), write);
      const frame = s.readFrame(i * width);
      assert.equal(frame.offset, i);
      assert.equal(frame.term, 1);
    }
  }

  it('appends frames and reads them back, before and after reopening', () => {
    const s = open();
    appendThree(s);
    readThree(s);
    s.close();
    const again = openRw();
    readThree(again);
    again.close();
  });

  it('readAt returns the raw frames: header with the length, then the value', () => {
    const s = open();
    appendThree(s);
    let off = 0;
    for (let i = 0; i < 3; i++) {
      const head = Buffer.alloc(FRAME_HEADER_BYTES);
      assert.equal(s.readAt(head, off), FRAME_HEADER_BYTES);
      off += FRAME_HEADER_BYTES;
      const size = head.readUInt32LE(4);
      const value = Buffer.alloc(size);
      assert.equal(s.readAt(value, off), size);
      assert.deepEqual(value, write);
      off += size;
    }
    s.close();
  });

  it('buffers appends and writes them on close', () => {
    const s = open();
    s.append(0, 0, RecordType.data, write);
    const before = statSync(path).size;
    s.close();
    const after = statSync(path).size;
    assert.ok(after > before, `file grew on close: ${before} -> ${after}`);
  });

  it('a frame that fails its checksum is reported, never returned', () => {
    const s = open();
    s.append(0, 0, RecordType.data, write);
    s.close();
    const fd = openSync(path, 'r+');
    const flip = Buffer.from([0x7f]);
    // Flip a byte inside the value.
    writeSync(fd, flip, 0, 1, FRAME_HEADER_BYTES + 2);
    const damaged = new Store(path, fd, statSync(path).size, 64);
    assert.throws(() => damaged.read(0), { code: 'corrupt-segment', position: 0 });
    damaged.close();
  });
});
