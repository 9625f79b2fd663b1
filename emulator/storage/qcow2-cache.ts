/**
 * Metadata cluster cache for qcow2 (L2 tables and refcount blocks), QEMU docs/interop/
 * qcow2.txt "Cluster mapping" / "Host cluster management".
 *
 * The cache is write-through: callers write every change to the file themselves, in
 * the crash-safe order qcow2.ts documents, and update the cached copy in place; evicting
 * an entry therefore never needs a write. Loads are single-flight so two requests that
 * miss on the same table share one read. Capacity is bounded in bytes (LRU order).
 */
import { SingleFlight } from './async-mutex.js';

/** An LRU cache of cluster-sized metadata tables keyed by host offset. */
export class MetadataCache {
  private readonly entries = new Map<number, Uint8Array>();
  private readonly loads = new SingleFlight<number, Uint8Array>();
  private readonly maxEntries: number;

  /** `capacityBytes` is rounded down to whole clusters, with at least 4 entries. */
  constructor(clusterBytes: number, capacityBytes: number) {
    this.maxEntries = Math.max(4, Math.floor(capacityBytes / clusterBytes));
  }

  /** Returns the cached table at `offset`, loading it with `load` on a miss. */
  async get(offset: number, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.entries.get(offset);
    if (hit) {
      this.entries.delete(offset);
      this.entries.set(offset, hit);
      return hit;
    }
    const table = await this.loads.do(offset, load);
    // Another caller may have inserted (and mutated) the table meanwhile: keep that copy.
    const now = this.entries.get(offset);
    if (now) return now;
    this.put(offset, table);
    return table;
  }

  /** Inserts (or replaces) the table at `offset`, e.g. a freshly allocated one. */
  put(offset: number, table: Uint8Array): void {
    this.entries.delete(offset);
    this.entries.set(offset, table);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Drops the table at `offset` (its cluster was freed). */
  delete(offset: number): void {
    this.entries.delete(offset);
  }
}
