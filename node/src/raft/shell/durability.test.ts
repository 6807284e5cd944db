import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Log, MemoryFileSystem } from '../../log/index.js';
import { logIndex, nodeId, term, type Entry, type Message, type NodeId } from '../core/types.js';
import { RaftNode } from './raft-node.js';
import { StableStore } from './stable-store.js';
import { newTransportStats, type MessageHandler, type RaftTransport } from './transport.js';

// What a node says must already be on disk when it says it (Raft §5.2, Figure 2): at the
// instant a vote, a vote grant or an append acknowledgement is handed to the transport, a
// power cut must leave a disk from which the node restarts with that term, vote and log.
// The simulated disk (memory-fs.ts) shows exactly what would survive that instant; kill -9
// tests cannot (the page cache survives the process).

const DIR = '/data/n1';
const n1 = nodeId('n1');

/** A transport that records what the node sends and lets the test deliver messages to it. */
class RecordingTransport implements RaftTransport {
  readonly id = n1;
  private handler: MessageHandler | null = null;
  private watchers: { pred: (m: Message) => boolean; resolve: (m: Message) => void; onSend: (m: Message) => void }[] =
    [];
  listen(h: MessageHandler): void {
    this.handler = h;
  }
  send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      for (const w of [...this.watchers]) {
        if (!w.pred(m)) continue;
        w.onSend(m);
        this.watchers = this.watchers.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
  deliver(m: Message): void {
    this.handler?.(m, 'c1');
  }
  /** Resolves with the first message matching `pred`; `onSend` runs synchronously inside send(). */
  next(
    pred: (m: Message) => boolean,
    onSend: (m: Message) => void,
    what: string,
    timeoutMs = 10_000,
  ): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} sent within ${timeoutMs} ms`)), timeoutMs);
      this.watchers.push({ pred, onSend, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
  setPeer(): void {}
  removePeer(): void {}
  stats() {
    return newTransportStats();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function durableState(img: MemoryFileSystem) {
  const s = (await StableStore.open(DIR, img)).state;
  assert.ok(s !== null, 'a stable state exists on the crash image');
  return s;
}

describe('raft shell: nothing is sent before what it promises is durable (simulated power cut at send time)', function () {
  this.timeout(30_000);
  let node: RaftNode | null = null;
  afterEach(async () => {
    await node?.stop();
    node = null;
  });

  it("a candidate's vote request, a vote grant and an append acknowledgement each find their term, vote and entries on the disk", async () => {
    // GIVEN n1 of voters n1 n2 n3 on a simulated disk, pre-vote off so its first campaign sends real votes
    const fs = new MemoryFileSystem();
    const transport = new RecordingTransport();
    const voters: NodeId[] = [n1, nodeId('n2'), nodeId('n3')];
    let image: MemoryFileSystem | null = null;
    const snap = (): void => {
      image = fs.crashImage();
    };
    const campaign = transport.next((m) => m.type === 'vote', snap, 'vote request');
    node = await RaftNode.start({
      id: n1,
      dir: DIR,
      clusterId: 'c1',
      bootstrap: { voters },
      transport,
      fs,
      shellPreset: 'test',
      raftConfig: { preVote: false, checkQuorum: false },
      seed: 7,
    });

    // WHEN n1 campaigns, THEN the power failing as its vote request leaves has term and self-vote on disk
    const vote = await campaign;
    const atVote = await durableState(image as unknown as MemoryFileSystem);
    assert.ok(atVote.hardState.term >= vote.term, `term ${vote.term} requested, ${atVote.hardState.term} durable`);
    assert.equal(atVote.hardState.vote, n1);

    // WHEN n2 asks for its vote in a later term, THEN the grant leaves only with that term and vote durable
    const t = term(vote.term + 5);
    const grant = transport.next((m) => m.type === 'voteResp' && m.granted, snap, 'vote grant');
    transport.deliver({
      type: 'vote',
      from: nodeId('n2'),
      to: n1,
      term: t,
      lastIndex: logIndex(0),
      lastTerm: term(0),
      transfer: false,
    });
    await grant;
    const atGrant = await durableState(image as unknown as MemoryFileSystem);
    assert.equal(atGrant.hardState.term, t);
    assert.equal(atGrant.hardState.vote, nodeId('n2'));

    // WHEN n2, now leader, appends three entries, THEN the acknowledgement leaves with them in the durable log
    const enc = new TextEncoder();
    const entries: Entry[] = [1, 2, 3].map((i) => ({
      index: logIndex(i),
      term: t,
      type: 'data',
      data: enc.encode(`e${i}`),
    }));
    const ack = transport.next(
      (m) => m.type === 'appendResp' && m.success && m.index === 3,
      snap,
      'append acknowledgement',
    );
    transport.deliver({
      type: 'append',
      from: nodeId('n2'),
      to: n1,
      term: t,
      prevIndex: logIndex(0),
      prevTerm: term(0),
      entries,
      commit: logIndex(0),
    });
    await ack;
    const img = image as unknown as MemoryFileSystem;
    const log = await Log.open(join(DIR, 'log'), {}, undefined, img);
    try {
      assert.equal(log.nextOffset, 4, 'entries 1..3 are durable when their acknowledgement is sent');
      assert.deepEqual(
        log.readRange(1).map((r) => new TextDecoder().decode(r.value)),
        ['e1', 'e2', 'e3'],
      );
    } finally {
      await log.close();
    }
  });
});
