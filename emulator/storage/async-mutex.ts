/**
 * AsyncMutex: serialises async critical sections (qcow2 metadata updates) so that two
 * requests never allocate the same cluster or update the same table concurrently.
 */

/** A FIFO async lock. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every previously queued section has finished; returns its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

/**
 * Deduplicates concurrent loads of the same key: while a load is in flight, later callers
 * share its promise (single-flight).
 */
export class SingleFlight<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  /** Returns the in-flight load for `key`, or starts `load()`. */
  do(key: K, load: () => Promise<V>): Promise<V> {
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const p = load().finally(() => { this.inFlight.delete(key); });
    this.inFlight.set(key, p);
    return p;
  }
}
