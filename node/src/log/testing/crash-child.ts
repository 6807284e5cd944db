/**
 * Child process of the crash test: appends records whose value is a function of their
 * offset through GroupCommit from several concurrent loops, and prints `synced <offset>`
 * for each record once it is durable. The parent kills it with SIGKILL at a random moment.
 * Usage: crash-child.ts <dir> <seed>
 */
import { GroupCommit } from '../group-commit.js';
import { Log } from '../log.js';
import { RecordType } from '../record.js';
import { valueFor } from './crash-values.js';
import { seededRandom } from './rng.js';

const [dir, seedText] = process.argv.slice(2);
if (!dir || !seedText) throw new Error('usage: crash-child.ts <dir> <seed>');
const random = seededRandom(Number(seedText));
const log = await Log.open(dir, { maxStoreBytes: 64 * 1024, writeBufferBytes: 8 * 1024 });
const group = new GroupCommit(log);
process.stdout.write(`ready ${log.nextOffset}\n`);

async function loop(): Promise<void> {
  for (;;) {
    const offset = log.nextOffset;
    // One record in ten is a Raft-style non-data record; values still follow the offset.
    const type = random() < 0.1 ? RecordType.noop : RecordType.data;
    if (random() < 0.2) {
      const n = 1 + Math.floor(random() * 20);
      const inputs = Array.from({ length: n }, (_, i) => ({ value: valueFor(offset + i), term: 1, type }));
      const first = await group.commitBatch(inputs);
      process.stdout.write(`synced ${first + n - 1}\n`);
    } else {
      const got = await group.commit({ value: valueFor(offset), term: 1, type });
      process.stdout.write(`synced ${got}\n`);
    }
  }
}

await Promise.all(Array.from({ length: 8 }, () => loop()));
