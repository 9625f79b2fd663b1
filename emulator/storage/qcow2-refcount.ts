/**
 * qcow2 host cluster management: refcount table and refcount blocks, and cluster
 * allocation. QEMU docs/interop/qcow2.txt "Host cluster management".
 *
 * refcount_block_entries = cluster_size * 8 / refcount_bits; a cluster's refcount lives
 * in block table[cluster / entries] at index cluster % entries. Entries narrower than a
 * byte are packed least-significant bit first; wider ones are big-endian.
 *
 * Allocation is append-only: new clusters are taken from the end of the file (skipping
 * any cluster whose refcount is not zero, e.g. leaked by a crash) and freed clusters are
 * never reused while the image is open. This keeps the reasoning about crash safety
 * simple: a cluster being filled is never reachable from old metadata.
 *
 * Crash-safe ordering (every step below is written before the next, with a sync where
 * marked; a crash between any two steps leaves at worst leaked clusters):
 * - new refcount block: block contents written (self-describing when it covers its own
 *   cluster, else its refcount set in the covering block first) -> sync -> refcount table
 *   entry written.
 * - refcount table growth: new table clusters reserved; their refcounts (and those of any
 *   new blocks, written in full) set -> new table written -> sync -> header fields
 *   refcount_table_offset/refcount_table_clusters written together (one 12-byte write) ->
 *   sync -> old table clusters' refcounts decremented.
 * - decrements are applied only after the metadata that dropped the reference is durable
 *   (the caller syncs first).
 */
import { StorageError } from './block-backend.js';
import { HEADER_REFCOUNT_TABLE_OFFSET, MAX_REFCOUNT_TABLE_BYTES } from './qcow2-header.js';
import { MetadataCache } from './qcow2-cache.js';
import { readExact } from './image-file.js';
import type { Qcow2File } from './qcow2-file.js';

/** Reads refcount entry `index` of a block whose entries are `1 << order` bits wide. */
export function getRefcountEntry(block: Uint8Array, order: number, index: number): number {
  const bits = 1 << order;
  if (bits < 8) {
    const bitPos = index * bits;
    return (block[bitPos >> 3]! >> (bitPos & 7)) & ((1 << bits) - 1);
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const byte = index * (bits >> 3);
  switch (bits) {
    case 8: return block[byte]!;
    case 16: return view.getUint16(byte);
    case 32: return view.getUint32(byte);
    default: return Number(view.getBigUint64(byte));
  }
}

/**
 * Sets refcount entry `index` and returns the byte range `[start, end)` of the block that
 * changed (what must be written back).
 */
export function setRefcountEntry(block: Uint8Array, order: number, index: number, value: number): [number, number] {
  const bits = 1 << order;
  if (bits < 8) {
    const bitPos = index * bits;
    const mask = ((1 << bits) - 1) << (bitPos & 7);
    const b = bitPos >> 3;
    block[b] = (block[b]! & ~mask) | ((value << (bitPos & 7)) & mask);
    return [b, b + 1];
  }
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const bytes = bits >> 3;
  const byte = index * bytes;
  switch (bits) {
    case 8: block[byte] = value; break;
    case 16: view.setUint16(byte, value); break;
    case 32: view.setUint32(byte, value); break;
    default: view.setBigUint64(byte, BigInt(value)); break;
  }
  return [byte, byte + bytes];
}

/** Largest refcount storable with `order`. */
function maxRefcount(order: number): number {
  const bits = 1 << order;
  return bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
}

/** Encodes a u64 big-endian. */
export function u64be(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** Refcount table, refcount blocks and the append-only cluster allocator of one image. */
export class RefcountManager {
  private readonly f: Qcow2File;
  private readonly order: number;
  private readonly clusterBytes: number;
  private readonly blockEntries: number;
  private readonly cache: MetadataCache;
  /** Host offsets of refcount blocks (0 = not allocated). */
  private table: number[];
  private tableOffset: number;
  private tableClusters: number;
  /** While growing the table, entry updates go to the new in-memory table only. */
  private growing = false;
  /** Next candidate cluster index for allocation. */
  private nextCluster: number;

  private constructor(f: Qcow2File, order: number, table: number[], tableOffset: number, tableClusters: number) {
    this.f = f;
    this.order = order;
    this.clusterBytes = f.clusterBytes;
    this.blockEntries = (f.clusterBytes * 8) >> order;
    this.cache = new MetadataCache(f.clusterBytes, 4 << 20);
    this.table = table;
    this.tableOffset = tableOffset;
    this.tableClusters = tableClusters;
    this.nextCluster = Math.ceil(f.fileBytes / f.clusterBytes);
  }

  /** Loads the refcount table described by the header. */
  static async load(f: Qcow2File, order: number, tableOffset: number, tableClusters: number): Promise<RefcountManager> {
    const raw = new Uint8Array(tableClusters * f.clusterBytes);
    await readExact(f.file, tableOffset, raw, 'qcow2 refcount table');
    const view = new DataView(raw.buffer);
    const table: number[] = [];
    for (let i = 0; i < raw.length / 8; i++) {
      const v = view.getBigUint64(i * 8);
      const off = Number(v & ~0x1ffn);
      if ((v & 0x1ffn) !== 0n || v > BigInt(Number.MAX_SAFE_INTEGER) || off % f.clusterBytes !== 0) {
        throw new StorageError(f.path, 'corrupt', `qcow2 refcount table entry ${i} (0x${v.toString(16)}) is invalid`);
      }
      table.push(off);
    }
    return new RefcountManager(f, order, table, tableOffset, tableClusters);
  }

  /** The refcount of the cluster with index `cluster` (0 when no block covers it). */
  async get(cluster: number): Promise<number> {
    const ti = Math.floor(cluster / this.blockEntries);
    const blockOffset = ti < this.table.length ? this.table[ti]! : 0;
    if (blockOffset === 0) return 0;
    const block = await this.loadBlock(blockOffset);
    return getRefcountEntry(block, this.order, cluster % this.blockEntries);
  }

  /**
   * Adds `delta` to the refcount of `count` clusters starting at host `offset`, with one
   * write per refcount block touched.
   */
  async update(offset: number, count: number, delta: number): Promise<void> {
    let c = Math.floor(offset / this.clusterBytes);
    const end = c + count;
    while (c < end) {
      const ti = Math.floor(c / this.blockEntries);
      const blockOffset = await this.ensureBlock(ti);
      const block = await this.loadBlock(blockOffset);
      const runEnd = Math.min(end, (ti + 1) * this.blockEntries);
      let lo = Infinity;
      let hi = 0;
      for (; c < runEnd; c++) {
        const index = c % this.blockEntries;
        const next = getRefcountEntry(block, this.order, index) + delta;
        if (next < 0 || next > maxRefcount(this.order)) {
          throw new StorageError(this.f.path, 'corrupt', `qcow2 refcount of cluster ${c} would become ${next}`);
        }
        const [s, e] = setRefcountEntry(block, this.order, index, next);
        lo = Math.min(lo, s);
        hi = Math.max(hi, e);
      }
      await this.f.write(blockOffset + lo, block.subarray(lo, hi));
    }
  }

  /**
   * Reserves `count` contiguous free clusters at the end of the image and returns the
   * host offset of the first. Their refcounts stay 0 until `update(+1)`: the caller
   * fills them first (unreferenced clusters are harmless after a crash).
   */
  async reserve(count: number): Promise<number> {
    for (;;) {
      const start = this.nextCluster;
      let ok = true;
      for (let c = start; c < start + count; c++) {
        if (await this.get(c) !== 0) {
          this.nextCluster = c + 1;
          ok = false;
          break;
        }
      }
      if (ok) {
        this.nextCluster = start + count;
        return start * this.clusterBytes;
      }
    }
  }

  private async loadBlock(blockOffset: number): Promise<Uint8Array> {
    return this.cache.get(blockOffset, async () => {
      if (blockOffset + this.clusterBytes > this.f.fileBytes) {
        throw new StorageError(this.f.path, 'corrupt',
          `qcow2 refcount block at offset ${blockOffset} extends beyond the end of the file (${this.f.fileBytes} bytes)`);
      }
      const block = new Uint8Array(this.clusterBytes);
      await readExact(this.f.file, blockOffset, block, 'qcow2 refcount block');
      return block;
    });
  }

  /** Returns the refcount block for table index `ti`, allocating it (and table room). */
  private async ensureBlock(ti: number): Promise<number> {
    if (ti >= this.table.length) await this.growTable(ti);
    if (this.table[ti] === 0) await this.allocBlock(ti);
    return this.table[ti]!;
  }

  private async set(cluster: number, value: number): Promise<void> {
    const blockOffset = await this.ensureBlock(Math.floor(cluster / this.blockEntries));
    const block = await this.loadBlock(blockOffset);
    const [s, e] = setRefcountEntry(block, this.order, cluster % this.blockEntries, value);
    await this.f.write(blockOffset + s, block.subarray(s, e));
  }

  /** Allocates the refcount block for table index `ti` (see the ordering above). */
  private async allocBlock(ti: number): Promise<void> {
    const n = await this.reserve(1);
    const nCluster = n / this.clusterBytes;
    const block = new Uint8Array(this.clusterBytes);
    const selfCovering = Math.floor(nCluster / this.blockEntries) === ti;
    if (selfCovering) setRefcountEntry(block, this.order, nCluster % this.blockEntries, 1);
    await this.f.write(n, block);
    this.cache.put(n, block);
    if (!selfCovering) await this.set(nCluster, 1);
    await this.f.sync();
    this.table[ti] = n;
    if (!this.growing) await this.f.write(this.tableOffset + ti * 8, u64be(n));
  }

  /** Replaces the refcount table with a larger copy covering index `needIndex`. */
  private async growTable(needIndex: number): Promise<void> {
    if (this.growing) throw new StorageError(this.f.path, 'corrupt', 'qcow2 refcount table growth recursed (internal error)');
    const entriesPerCluster = this.clusterBytes / 8;
    // Size the table for the request, the new table itself and the blocks covering it.
    let clusters = Math.max(this.tableClusters * 2, Math.ceil((needIndex + 1) / entriesPerCluster));
    for (;;) {
      const lastCluster = this.nextCluster + clusters + Math.ceil(clusters / this.blockEntries) + 4;
      const need = Math.floor(lastCluster / this.blockEntries) + 1;
      if (clusters * entriesPerCluster >= need) break;
      clusters = Math.ceil(need / entriesPerCluster);
    }
    if (clusters * this.clusterBytes > MAX_REFCOUNT_TABLE_BYTES) {
      throw new StorageError(this.f.path, 'unsupported', 'qcow2 refcount table would exceed 8 MiB (image too large for its cluster size)');
    }
    const oldOffset = this.tableOffset;
    const oldClusters = this.tableClusters;
    const start = await this.reserve(clusters);
    const newTable = this.table.slice();
    while (newTable.length < clusters * entriesPerCluster) newTable.push(0);
    this.table = newTable;
    this.growing = true;
    try {
      await this.update(start, clusters, +1);
    } finally {
      this.growing = false;
    }
    const raw = new Uint8Array(clusters * this.clusterBytes);
    const view = new DataView(raw.buffer);
    newTable.forEach((off, i) => { view.setBigUint64(i * 8, BigInt(off)); });
    await this.f.write(start, raw);
    await this.f.sync();
    const hdr = new Uint8Array(12);
    const hv = new DataView(hdr.buffer);
    hv.setBigUint64(0, BigInt(start));
    hv.setUint32(8, clusters);
    await this.f.write(HEADER_REFCOUNT_TABLE_OFFSET, hdr);
    await this.f.sync();
    this.tableOffset = start;
    this.tableClusters = clusters;
    await this.update(oldOffset, oldClusters, -1);
  }
}
