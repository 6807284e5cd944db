/**
 * Subscribers to one kind of {@link RaftNode} event: the single way to observe the node
 * (leader changes, applies, fsyncs, a fatal error). Like hashicorp/raft's RegisterObserver /
 * DeregisterObserver, a subscription is made after the node exists and undone by the function
 * it returns; unlike a channel, listeners are called synchronously from the loop, in
 * subscription order, so they must be quick and must not throw (a throw inside the loop is
 * fatal to the node, as any loop failure is).
 */

/** A set of listeners for events of type `E`. */
export class Listeners<E> {
  private readonly fns = new Set<(e: E) => void>();

  /** Adds `fn`; returns a function that removes it (idempotent). */
  add(fn: (e: E) => void): () => void {
    this.fns.add(fn);
    return () => {
      this.fns.delete(fn);
    };
  }

  /**
   * Calls every listener with `e`. A listener that unsubscribes itself (or another) during the
   * call is not called again; one subscribed during the call is called in the same pass.
   */
  emit(e: E): void {
    for (const f of this.fns) f(e);
  }
}
