/**
 * Writes the messages of a server-streaming call with several in flight.
 *
 * Why: grpc-js's ServerWritableStream is a Node Writable without `_writev`, so it hands
 * one message to HTTP/2 and waits for that write to complete before the next: one event
 * loop turn per message. Measured here on a plain grpc-js stream of 280-byte messages,
 * that path ran ~9k msg/s at ~34 µs CPU per message; calling the call's `sendMessage`
 * with up to 64 messages in flight ran 36–54k msg/s at ~10 µs. We use the latter when
 * the call exposes it (grpc-js 1.10+ keeps its ServerInterceptingCall in `call.call`; the
 * interceptors still see every message), and fall back to `write()`/'drain' otherwise.
 *
 * Back-pressure is the window: at most `window` messages handed to grpc-js and not yet
 * written to the HTTP/2 stream; HTTP/2 flow control holds completions back when the
 * client stops reading, so a stalled consumer costs at most `window` messages.
 */
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';

type StreamCall<T> = ServerWritableStream<unknown, T> | ServerDuplexStream<unknown, T>;
type SendMessage = (message: unknown, callback: () => void) => void;

function innerSend(call: object): SendMessage | undefined {
  const inner = (call as { call?: { sendMessage?: unknown } }).call;
  if (inner && typeof inner.sendMessage === 'function') return (inner.sendMessage as SendMessage).bind(inner);
  return undefined;
}

/** A windowed writer over one streaming call. */
export class MessageWriter<T> {
  private inFlightCount = 0;
  private maxSeen = 0;
  private wake: (() => void) | undefined;
  private readonly send: SendMessage | undefined;

  constructor(
    private readonly call: StreamCall<T>,
    /** Most messages in flight (the bound on buffered messages). */
    readonly window: number,
  ) {
    this.send = innerSend(call);
  }

  /** True when writing through the call's sendMessage (the pipelined path). */
  get pipelined(): boolean {
    return this.send !== undefined;
  }

  /** Messages handed over and not yet written (pipelined) or buffered in the Writable. */
  get inFlight(): number {
    return this.send ? this.inFlightCount : this.call.writableLength;
  }

  /** Highest {@link inFlight} seen. */
  get maxInFlight(): number {
    return this.maxSeen;
  }

  /**
   * Hands one message over. Returns false when the window is full: the caller then awaits
   * {@link waitForRoom} before writing more.
   */
  write(message: T): boolean {
    if (!this.send) {
      const ok = this.call.write(message);
      this.maxSeen = Math.max(this.maxSeen, this.call.writableLength);
      return ok;
    }
    this.inFlightCount++;
    if (this.inFlightCount > this.maxSeen) this.maxSeen = this.inFlightCount;
    this.send(message, this.onWritten);
    return this.inFlightCount < this.window;
  }

  private readonly onWritten = (): void => {
    this.inFlightCount--;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  };

  /** Resolves when a write would be accepted again, or when `signal` aborts. */
  async waitForRoom(signal: AbortSignal): Promise<void> {
    if (!this.send) await this.until(signal, () => false, 'drain');
    else await this.until(signal, () => this.inFlightCount < this.window);
  }

  /** Resolves once every message handed over has been written (or `signal` aborts). */
  async flushed(signal: AbortSignal): Promise<void> {
    if (this.send) await this.until(signal, () => this.inFlightCount === 0);
  }

  private async until(signal: AbortSignal, done: () => boolean, event?: 'drain'): Promise<void> {
    while (!done() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const finish = (): void => {
          signal.removeEventListener('abort', finish);
          if (event) this.call.off(event, finish);
          resolve();
        };
        signal.addEventListener('abort', finish, { once: true });
        if (event) this.call.once(event, finish);
        else this.wake = finish;
      });
      if (event) return;
    }
  }
}
