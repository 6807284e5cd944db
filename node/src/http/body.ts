/**
 * Request bodies with a size limit enforced while they stream in: a declared
 * Content-Length over the limit is refused before a byte is read (and a client waiting
 * for `100 Continue` never gets it), a chunked body is refused as soon as it passes the
 * limit, and the rest of a refused body is read and discarded — never held — for at most
 * `lingerMs`, after which the connection is closed (nginx's lingering close: answering
 * while the client still sends and closing at once would reset the connection before the
 * client read the 413).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A body over the limit; maps like a record over the size limit (413, with size and limit). */
export class BodyTooLargeError extends Error {
  readonly code = 'record-too-large';
  constructor(
    /** Content-Length when declared, else the bytes received when the limit was passed. */
    readonly size: number,
    readonly limit: number,
    /** True when refused on the declared Content-Length, before any of the body was read. */
    readonly declared: boolean,
  ) {
    super(`request body of ${declared ? '' : 'at least '}${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The client went away before its body arrived. */
export class BodyAbortedError extends Error {
  readonly code = 'body-aborted';
  constructor() {
    super('the client closed the connection before its request body arrived');
    this.name = 'BodyAbortedError';
  }
}

/** What bodies cost the server (tests assert bounds on these). */
export interface BodyStats {
  /** Largest body held in memory at once, in bytes. */
  maxBufferedBytes: number;
  /** Bytes of refused bodies read and thrown away. */
  discardedBytes: number;
  /** Bodies refused as too large. */
  refused: number;
}

/** Requests that asked for `100 Continue` and were sent it (their body is on its way). */
const continued = new WeakSet<IncomingMessage>();

/**
 * True when the client waits for `100 Continue` that it was not sent: an answer now means
 * its body will not come, so the connection must close after it (it cannot be reused).
 */
export function awaitsContinue(req: IncomingMessage): boolean {
  return /100-continue/i.test(req.headers.expect ?? '') && !continued.has(req) && !req.complete;
}

/** Reads the whole body of `req` into one buffer of at most `limit` bytes. */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, stats: BodyStats): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit)
    return Promise.reject(new BodyTooLargeError(Number(declared), limit, true));
  if (awaitsContinue(req)) {
    continued.add(req);
    res.writeContinue();
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        reject(new BodyTooLargeError(size, limit, false));
        return;
      }
      chunks.push(chunk);
      if (size > stats.maxBufferedBytes) stats.maxBufferedBytes = size;
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onAborted = (): void => {
      cleanup();
      reject(new BodyAbortedError());
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('aborted', onAborted);
    req.once('error', onAborted);
  });
}

/**
 * After refusing a body: discard what the client still sends, and close the connection if
 * the body has not ended `lingerMs` after the answer went out. (A client that waits for
 * 100 Continue sends nothing; {@link awaitsContinue} makes its answer close the connection.)
 */
export function discardRest(req: IncomingMessage, res: ServerResponse, lingerMs: number, stats: BodyStats): void {
  stats.refused++;
  if (req.complete || awaitsContinue(req)) return; // no body coming: the answer closes the connection
  req.on('data', (chunk: Buffer) => void (stats.discardedBytes += chunk.length));
  req.resume();
  res.once('finish', () => {
    if (req.complete) return;
    const timer = setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, lingerMs);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.socket.once('close', () => clearTimeout(timer));
  });
}
