/**
 * Compact, stable text renderings of messages, entries and Readies, used by the scenario
 * golden files and by the simulator's failure traces. Data payloads print as text.
 */
import type { RaftStatus } from '../core/raw-node.js';
import type { Entry, Message, Ready } from '../core/types.js';

const dec = new TextDecoder();

/** `index/term` plus a type marker and short payload: `3/2 data "x"`, `1/1 noop`, `4/2 conf {...}`. */
export function formatEntry(e: Entry): string {
  if (e.type === 'noop') return `${e.index}/${e.term} noop`;
  const text = dec.decode(e.data);
  const short = text.length > 24 ? `${text.slice(0, 21)}...` : text;
  return e.type === 'data' ? `${e.index}/${e.term} "${short}"` : `${e.index}/${e.term} conf ${short}`;
}

/** One line per message: `n1->n2 append term=1 prev=0/0 commit=0 [1/1 noop]`. */
export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case 'preVote':
    case 'vote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.type === 'vote' && m.transfer ? ' transfer' : ''}`;
    case 'preVoteResp':
    case 'voteResp':
      return `${head} ${m.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${head} prev=${m.prevIndex}/${m.prevTerm} commit=${m.commit} [${m.entries.map(formatEntry).join(', ')}]`;
    case 'appendResp':
      return m.success
        ? `${head} ok index=${m.index}`
        : `${head} reject index=${m.index} hint=${m.hintIndex}/${m.hintTerm}`;
    case 'heartbeat':
      return `${head} commit=${m.commit} read=${m.readSeq}`;
    case 'heartbeatResp':
      return `${head} read=${m.readSeq}`;
    case 'snapshot':
      return `${head} snap=${m.meta.index}/${m.meta.term} offset=${m.offset} bytes=${m.data.byteLength}${m.done ? ' done' : ''}`;
    case 'snapshotResp':
      return `${head} snap=${m.snapIndex} next=${m.nextOffset}`;
    case 'timeoutNow':
      return head;
    case 'readIndex':
      return `${head} ctx=${m.ctx}`;
    case 'readIndexResp':
      return `${head} ctx=${m.ctx} index=${m.index}`;
  }
}

/** The non-message parts of a Ready, one line each (messages are printed when delivered). */
export function formatReady(id: string, rd: Ready): string[] {
  const out: string[] = [];
  if (rd.softState) out.push(`${id} soft: ${rd.softState.role} lead=${rd.softState.leader ?? '-'}`);
  if (rd.hardState)
    out.push(`${id} hard: term=${rd.hardState.term} vote=${rd.hardState.vote ?? '-'} commit=${rd.hardState.commit}`);
  if (rd.confState)
    out.push(`${id} conf: voters=(${rd.confState.voters.join(' ')}) learners=(${rd.confState.learners.join(' ')})`);
  if (rd.entries.length > 0) out.push(`${id} persist: [${rd.entries.map(formatEntry).join(', ')}]`);
  for (const c of rd.snapshotChunks)
    out.push(`${id} stage snapshot ${c.meta.index}/${c.meta.term} offset=${c.offset} bytes=${c.data.byteLength}`);
  if (rd.snapshot) out.push(`${id} install snapshot ${rd.snapshot.index}/${rd.snapshot.term}`);
  if (rd.committedEntries.length > 0) out.push(`${id} apply: [${rd.committedEntries.map(formatEntry).join(', ')}]`);
  for (const r of rd.readStates) out.push(`${id} read-state ctx=${r.ctx} index=${r.index}`);
  return out;
}

/** One node's state for a failure trace (`n1 down` when it is not running). */
export function formatStatus(id: string, st: RaftStatus | undefined): string {
  if (st === undefined) return `${id} down`;
  return `${id} ${st.role} term=${st.term} lead=${st.lead ?? '-'} commit=${st.commit} applied=${st.applied} last=${st.lastIndex} voters=(${st.confState.voters.join(' ')}) learners=(${st.confState.learners.join(' ')}) progress=${JSON.stringify(st.progress ?? [])}`;
}
