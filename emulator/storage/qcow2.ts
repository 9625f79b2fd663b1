/**
 * qcow2 disk images (versions 2 and 3), following QEMU docs/interop/qcow2.txt:
 * "Header" (qcow2-header.ts), "Host cluster management" (qcow2-refcount.ts), "Cluster
 * mapping" (this file: two-level L1/L2 tables, standard and compressed cluster
 * descriptors, the v3 zero flag), backing files and image creation.
 *
 * Supported: reading v2 and v3 images; writing them (tables and the refcount table grow
 * as needed); v3 zero clusters (also used by writeZeroes/discard on whole clusters);
 * zlib-compressed clusters (read, and rewritten uncompressed when written to), with the
 * raw-deflate decoder injected (`inflateRaw`); backing files read through an injected
 * opener; refcount widths 1..64 bits; creation of v3 images.
 *
 * Refused with a StorageError naming the file and the feature, before any write:
 * encryption, external data files, zstd, extended L2 entries, unknown incompatible bits;
 * writing to dirty/corrupt-flagged images, or images with internal snapshots (read-only
 * is fine). Corrupt metadata (tables or clusters beyond end of file, reserved bits set,
 * absurd sizes) is reported as `corrupt` and never "repaired" by writing.
 *
 * Crash safety. A kill at any instant leaves an image `qemu-img check` accepts (leaked
 * clusters allowed), because metadata only ever points at fully written clusters:
 *   1. data: a newly allocated (or zero-flagged preallocated) cluster is written in full
 *      (old contents merged for partial writes) while nothing references it;
 *   2. refcounts of new clusters (data and new L2 tables) are incremented; new refcount
 *      blocks and table growth follow the order in qcow2-refcount.ts;
 *   3. sync;
 *   4. L2 entries are written (new L2 tables are written whole, still unreferenced);
 *   5. sync if a new L2 table was written, then the L1 entries pointing at new tables;
 *   6. only after a sync, refcounts of clusters that lost their last reference (old
 *      compressed clusters) are decremented.
 * Writes to clusters already owned (refcount 1, OFLAG_COPIED) go in place with no
 * metadata change. The dirty bit is never set (no lazy refcounts). All metadata updates
 * run under one AsyncMutex, so concurrent requests never race on a table or allocation;
 * reads take no lock and see a new mapping only after its data is written.
 */
import {
  checkRange, checkWritable, StorageError, type BlockBackend,
} from './block-backend.js';
import { AsyncMutex } from './async-mutex.js';
import { readExact, type ImageFile } from './image-file.js';
import { MetadataCache } from './qcow2-cache.js';
import { Qcow2File } from './qcow2-file.js';
import {
  checkQcow2Features, EXT_BACKING_FORMAT, HEADER_AUTOCLEAR_OFFSET, HEADER_VIREO_BYTES, MAX_CLUSTER_BITS,
  MAX_L1_BYTES, MIN_CLUSTER_BITS, parseQcow2Header, serializeQcow2HeaderV3, type Qcow2Header, type Qcow2Metadata,
} from './qcow2-header.js';
import { RefcountManager, setRefcountEntry } from './qcow2-refcount.js';

/**
 * Decompresses a raw DEFLATE stream (RFC 1951, no zlib header), producing at most
 * `maxOutputBytes` bytes. Trailing bytes after the end of the stream must be ignored.
 * The host provides zlib's (emulator/host/zlib-inflate.ts).
 */
export type InflateRaw = (data: Uint8Array, maxOutputBytes: number) => Uint8Array;

/** Opens a backing file by the name stored in the overlay (the host resolves it). */
export type BackingOpener = (name: string, format: string | undefined) => Promise<BlockBackend>;

/** Options for `Qcow2Backend.open`. */
export interface Qcow2OpenOptions {
  /** Open without write access (also implied by a read-only file). */
  readOnly?: boolean;
  /** Decoder for compressed clusters; reading one without it is an error. */
  inflateRaw?: InflateRaw;
  /** Opener for the backing file; an image with a backing file needs it. */
  openBacking?: BackingOpener;
  /** L2 table cache capacity in bytes (default 4 MiB). */
  l2CacheBytes?: number;
}

/** Options for `createQcow2`. */
export interface Qcow2CreateOptions {
  /** Cluster size in bytes: a power of two from 512 to 2 MiB (default 64 KiB). */
  clusterBytes?: number;
  /** Refcount width in bits: 1, 2, 4, 8, 16 (default), 32 or 64. */
  refcountBits?: number;
  /** Backing file name to store (relative names are relative to the image's folder). */
  backingFile?: string;
  /** Format of the backing file, stored in the backing format extension. */
  backingFormat?: string;
}

/** Default qcow2 cluster size, as QEMU's. */
export const QCOW2_DEFAULT_CLUSTER_BYTES = 65536;

const OFLAG_COPIED = 1n << 63n;
const OFLAG_ZERO = 1n;
const TWO32 = 2 ** 32;

/** Where a guest cluster's data lives. */
type Mapping =
  | { kind: 'unallocated' }
  | { kind: 'zero'; host: number; copied: boolean }
  | { kind: 'normal'; host: number; copied: boolean }
  | { kind: 'compressed'; host: number; bytes: number };

/** A guest cluster's mapping and the L2 table holding it. */
interface Location {
  l1Index: number;
  l2Index: number;
  /** Host offset of the L2 table (0 when the L1 entry is empty). */
  l2Offset: number;
  mapping: Mapping;
}

/** A metadata change prepared by a write: L2 entry `entry` for the guest cluster. */
interface PendingEntry {
  l1Index: number;
  l2Index: number;
  entry: bigint;
}

/** A cluster range whose refcounts drop once the new mappings are durable. */
interface PendingFree {
  host: number;
  clusters: number;
}

/** A qcow2 image as a BlockBackend. */
export class Qcow2Backend implements BlockBackend {
  readonly format = 'qcow2' as const;
  readonly path: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** The parsed header and extensions (read-only view for callers such as `disk info`). */
  readonly metadata: Qcow2Metadata;
  private readonly f: Qcow2File;
  private readonly header: Qcow2Header;
  private readonly clusterBytes: number;
  private readonly l2Entries: number;
  private readonly l1: Uint8Array;
  private readonly l1View: DataView;
  private readonly l2Cache: MetadataCache;
  private readonly refcounts: RefcountManager | undefined;
  private readonly backing: BlockBackend | undefined;
  private readonly inflateRaw: InflateRaw | undefined;
  private readonly mutex = new AsyncMutex();
  private lastDecompressed: { host: number; data: Uint8Array } | undefined;

  private constructor(args: {
    f: Qcow2File; metadata: Qcow2Metadata; readOnly: boolean; l1: Uint8Array; refcounts: RefcountManager | undefined;
    backing: BlockBackend | undefined; inflateRaw: InflateRaw | undefined; l2CacheBytes: number;
  }) {
    this.f = args.f;
    this.path = args.f.path;
    this.metadata = args.metadata;
    this.header = args.metadata.header;
    this.sizeBytes = this.header.sizeBytes;
    this.readOnly = args.readOnly;
    this.clusterBytes = args.f.clusterBytes;
    this.l2Entries = this.clusterBytes / 8;
    this.l1 = args.l1;
    this.l1View = new DataView(args.l1.buffer, args.l1.byteOffset, args.l1.byteLength);
    this.l2Cache = new MetadataCache(this.clusterBytes, args.l2CacheBytes);
    this.refcounts = args.refcounts;
    this.backing = args.backing;
    this.inflateRaw = args.inflateRaw;
  }

  /**
   * Opens a qcow2 image. Validates the header, the feature bits and the L1 table before
   * anything else; only a writable open of a valid image may write (clearing autoclear
   * feature bits, see qcow2-header.ts).
   */
  static async open(file: ImageFile, options: Qcow2OpenOptions = {}): Promise<Qcow2Backend> {
    const readOnly = (options.readOnly ?? false) || file.readOnly;
    const fileBytes = await file.size();
    const probe = new Uint8Array(Math.min(fileBytes, 4096));
    await file.read(0, probe);
    let head = probe;
    if (probe.length >= 24) {
      const bits = new DataView(probe.buffer).getUint32(20);
      if (bits >= MIN_CLUSTER_BITS && bits <= MAX_CLUSTER_BITS && 2 ** bits > probe.length && fileBytes > probe.length) {
        head = new Uint8Array(Math.min(fileBytes, 2 ** bits));
        await file.read(0, head);
      }
    }
    const metadata = parseQcow2Header(file.path, head, fileBytes);
    checkQcow2Features(file.path, metadata, !readOnly);
    const h = metadata.header;
    const f = new Qcow2File(file, 2 ** h.clusterBits, fileBytes);
    const l1 = new Uint8Array(h.l1Size * 8);
    await readExact(file, h.l1TableOffset, l1, 'qcow2 L1 table');
    validateL1(f, l1);
    const refcounts = readOnly ? undefined
      : await RefcountManager.load(f, h.refcountOrder, h.refcountTableOffset, h.refcountTableClusters);
    let backing: BlockBackend | undefined;
    if (metadata.backingFile !== undefined) {
      if (!options.openBacking) {
        throw new StorageError(file.path, 'unsupported', `qcow2 image has backing file "${metadata.backingFile}" but no way to open it was given`);
      }
      backing = await options.openBacking(metadata.backingFile, metadata.backingFormat);
    }
    if (!readOnly && h.autoclearFeatures !== 0n) {
      // qcow2.txt: a writer that does not maintain the auto-clear features clears them first.
      try {
        await f.write(HEADER_AUTOCLEAR_OFFSET, new Uint8Array(8));
        await f.sync();
      } catch (e) {
        await backing?.close().catch(() => undefined);
        throw e;
      }
      h.autoclearFeatures = 0n;
    }
    return new Qcow2Backend({
      f, metadata, readOnly, l1, refcounts, backing, inflateRaw: options.inflateRaw,
      l2CacheBytes: options.l2CacheBytes ?? 4 << 20,
    });
  }

  /** The backing file's backend, if the image has one. */
  get backingBackend(): BlockBackend | undefined {
    return this.backing;
  }

  async read(offset: number, buffer: Uint8Array): Promise<void> {
    checkRange(this.path, this.sizeBytes, offset, buffer.length);
    const cs = this.clusterBytes;
    let pos = 0;
    while (pos < buffer.length) {
      const g = offset + pos;
      const gc = Math.floor(g / cs);
      const intra = g - gc * cs;
      const n = Math.min(cs - intra, buffer.length - pos);
      const loc = await this.locate(gc);
      await this.readMapped(loc.mapping, g, intra, buffer.subarray(pos, pos + n));
      pos += n;
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkWritable(this.path, this.readOnly, 'write');
    checkRange(this.path, this.sizeBytes, offset, data.length);
    if (data.length === 0) return;
    await this.mutex.run(() => this.writeLocked(offset, data));
  }

  async flush(): Promise<void> {
    if (this.readOnly) return;
    // Queue behind in-flight metadata updates so the sync covers them.
    await this.mutex.run(() => this.f.sync());
  }

  /**
   * Version 3: whole clusters in the range become zero clusters (their host cluster is
   * kept, preallocated, as QEMU does), so they read as zeros; partial clusters keep their
   * contents. Version 2 has no zero flag: discard is a no-op.
   */
  async discard(offset: number, length: number): Promise<void> {
    checkWritable(this.path, this.readOnly, 'discard');
    checkRange(this.path, this.sizeBytes, offset, length);
    if (this.header.version < 3) return;
    const cs = this.clusterBytes;
    const first = Math.ceil(offset / cs);
    const end = Math.floor((offset + length) / cs);
    const lastFull = offset + length === this.sizeBytes ? Math.ceil((offset + length) / cs) : end;
    if (lastFull > first) await this.mutex.run(() => this.zeroClustersLocked(first, lastFull - first));
  }

  /** Zeroes the range: whole clusters via the v3 zero flag, the rest by writing zeros. */
  async writeZeroes(offset: number, length: number): Promise<void> {
    checkWritable(this.path, this.readOnly, 'write zeroes');
    checkRange(this.path, this.sizeBytes, offset, length);
    if (length === 0) return;
    const cs = this.clusterBytes;
    const end = offset + length;
    let first = Math.ceil(offset / cs);
    let last = end === this.sizeBytes ? Math.ceil(end / cs) : Math.floor(end / cs);
    if (this.header.version < 3 || last <= first) { first = 0; last = 0; }
    await this.mutex.run(async () => {
      const headEnd = last > first ? Math.min(first * cs, end) : end;
      if (headEnd > offset) await this.writeLocked(offset, new Uint8Array(headEnd - offset));
      if (last > first) {
        await this.zeroClustersLocked(first, last - first);
        const tail = Math.min(last * cs, this.sizeBytes);
        if (end > tail) await this.writeLocked(tail, new Uint8Array(end - tail));
      }
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      if (!this.readOnly) await this.f.sync();
    });
    await this.backing?.close();
    await this.f.file.close();
  }

  // ---- mapping -------------------------------------------------------------------------

  /** Decodes L1 entry `i`: the L2 table offset (0 = none) and OFLAG_COPIED. */
  private l1Entry(i: number): { offset: number; copied: boolean } {
    const hi = this.l1View.getUint32(i * 8);
    const lo = this.l1View.getUint32(i * 8 + 4);
    return { offset: (hi & 0x00ffffff) * TWO32 + lo, copied: (hi & 0x80000000) !== 0 };
  }

  private async loadL2(offset: number): Promise<Uint8Array> {
    return this.l2Cache.get(offset, async () => {
      const table = new Uint8Array(this.clusterBytes);
      await readExact(this.f.file, offset, table, 'qcow2 L2 table');
      return table;
    });
  }

  private async locate(gc: number): Promise<Location> {
    const l1Index = Math.floor(gc / this.l2Entries);
    const l2Index = gc % this.l2Entries;
    const { offset } = this.l1Entry(l1Index);
    if (offset === 0) return { l1Index, l2Index, l2Offset: 0, mapping: { kind: 'unallocated' } };
    const table = await this.loadL2(offset);
    return { l1Index, l2Index, l2Offset: offset, mapping: this.decodeL2(table, l2Index, gc) };
  }

  private decodeL2(table: Uint8Array, index: number, gc: number): Mapping {
    const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const hi = view.getUint32(index * 8);
    const lo = view.getUint32(index * 8 + 4);
    const where = `guest offset ${gc * this.clusterBytes}`;
    if (hi & 0x40000000) {
      const e = ((BigInt(hi) << 32n) | BigInt(lo)) & ((1n << 62n) - 1n);
      const x = BigInt(70 - this.header.clusterBits); // 62 - (cluster_bits - 8)
      const host = Number(e & ((1n << x) - 1n));
      const sectors = Number(e >> x) + 1;
      const bytes = sectors * 512 - (host % 512);
      if (host >= this.f.fileBytes) {
        throw new StorageError(this.path, 'corrupt', `qcow2 compressed cluster for ${where} starts at offset ${host}, beyond the end of the file`);
      }
      return { kind: 'compressed', host, bytes };
    }
    if ((lo & 0x1fe) !== 0 || (hi & 0x3f000000) !== 0 || (hi & 0x00e00000) !== 0) {
      throw new StorageError(this.path, 'corrupt', `qcow2 L2 entry for ${where} has reserved bits set (0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')})`);
    }
    const copied = (hi & 0x80000000) !== 0;
    const host = (hi & 0x00ffffff) * TWO32 + (lo - (lo & 0x1ff));
    if (host % this.clusterBytes !== 0) {
      throw new StorageError(this.path, 'corrupt', `qcow2 L2 entry for ${where} points at unaligned offset ${host}`);
    }
    if (host !== 0 && host >= this.f.fileBytes) {
      throw new StorageError(this.path, 'corrupt', `qcow2 data cluster for ${where} is at offset ${host}, beyond the end of the file (${this.f.fileBytes} bytes)`);
    }
    if (this.header.version >= 3 && (lo & 1)) return { kind: 'zero', host, copied };
    if (host === 0) return { kind: 'unallocated' };
    return { kind: 'normal', host, copied };
  }

  /** Fills `out` with guest bytes starting at guest offset `g` (`intra` into its cluster). */
  private async readMapped(m: Mapping, g: number, intra: number, out: Uint8Array): Promise<void> {
    switch (m.kind) {
      case 'unallocated':
        if (this.backing) await this.readBacking(g, out);
        else out.fill(0);
        return;
      case 'zero':
        out.fill(0);
        return;
      case 'normal': {
        const n = await this.f.file.read(m.host + intra, out);
        if (n < out.length) out.fill(0, n);
        return;
      }
      case 'compressed': {
        const data = await this.decompress(m.host, m.bytes, g);
        out.set(data.subarray(intra, intra + out.length));
        return;
      }
    }
  }

  private async readBacking(g: number, out: Uint8Array): Promise<void> {
    const backing = this.backing!;
    const n = Math.max(0, Math.min(out.length, backing.sizeBytes - g));
    if (n > 0) await backing.read(g, out.subarray(0, n));
    out.fill(0, n);
  }

  private async decompress(host: number, bytes: number, g: number): Promise<Uint8Array> {
    if (this.lastDecompressed?.host === host) return this.lastDecompressed.data;
    if (!this.inflateRaw) {
      throw new StorageError(this.path, 'unsupported', 'qcow2 image has compressed clusters but no decompressor was provided');
    }
    const raw = new Uint8Array(Math.min(bytes, this.f.fileBytes - host));
    await this.f.file.read(host, raw);
    let data: Uint8Array;
    try {
      data = this.inflateRaw(raw, this.clusterBytes);
    } catch (e) {
      throw new StorageError(this.path, 'corrupt', `qcow2 compressed cluster at offset ${host} (guest offset ${g}) does not decompress`, { cause: e });
    }
    if (data.length < this.clusterBytes) {
      throw new StorageError(this.path, 'corrupt', `qcow2 compressed cluster at offset ${host} decompresses to ${data.length} bytes, not ${this.clusterBytes}`);
    }
    this.lastDecompressed = { host, data };
    return data;
  }

  // ---- writing (under the mutex) -----------------------------------------------------------

  /** Throws unless a cluster this image references is exclusively owned (see qcow2.txt bit 63). */
  private checkOwned(copied: boolean, what: string, gc: number): void {
    if (!copied) {
      throw new StorageError(this.path, 'needs-repair',
        `qcow2 ${what} for guest offset ${gc * this.clusterBytes} is shared or has OFLAG_COPIED clear; `
        + 'repair the image with "qemu-img check -r all"');
    }
  }

  private async writeLocked(offset: number, data: Uint8Array): Promise<void> {
    const cs = this.clusterBytes;
    const refcounts = this.refcounts!;
    const allocs: { loc: Location; content: Uint8Array }[] = [];
    const reuses: { loc: Location; content: Uint8Array; host: number }[] = [];
    const frees: PendingFree[] = [];
    let pos = 0;
    while (pos < data.length) {
      const g = offset + pos;
      const gc = Math.floor(g / cs);
      const intra = g - gc * cs;
      const n = Math.min(cs - intra, data.length - pos);
      const chunk = data.subarray(pos, pos + n);
      pos += n;
      const loc = await this.locate(gc);
      if (loc.l2Offset !== 0) this.checkOwned(this.l1Entry(loc.l1Index).copied, 'L2 table', gc);
      const m = loc.mapping;
      if (m.kind === 'normal') {
        this.checkOwned(m.copied, 'data cluster', gc);
        await this.f.write(m.host + intra, chunk);
        continue;
      }
      // Build the whole new cluster: old guest-visible contents with the chunk on top.
      const content = new Uint8Array(cs);
      if (n < cs) await this.readMapped(m, gc * cs, 0, content.subarray(0, Math.min(cs, this.sizeBytes - gc * cs)));
      content.set(chunk, intra);
      if (m.kind === 'zero' && m.host !== 0) {
        // Reuse the preallocation: it keeps reading as zeros until its L2 entry changes.
        this.checkOwned(m.copied, 'preallocated zero cluster', gc);
        reuses.push({ loc, content, host: m.host });
      } else {
        allocs.push({ loc, content });
      }
      if (m.kind === 'compressed') frees.push(this.compressedSpan(m.host, m.bytes));
    }
    const pending: PendingEntry[] = [];
    for (const r of reuses) {
      await this.f.write(r.host, r.content);
      pending.push({ l1Index: r.loc.l1Index, l2Index: r.loc.l2Index, entry: BigInt(r.host) | OFLAG_COPIED });
    }
    if (allocs.length > 0) {
      // One contiguous run: written while unreferenced, then counted.
      const host0 = await refcounts.reserve(allocs.length);
      const run = new Uint8Array(allocs.length * cs);
      allocs.forEach((a, i) => {
        run.set(a.content, i * cs);
        pending.push({ l1Index: a.loc.l1Index, l2Index: a.loc.l2Index, entry: BigInt(host0 + i * cs) | OFLAG_COPIED });
      });
      await this.f.write(host0, run);
      await refcounts.update(host0, allocs.length, +1);
    }
    if (pending.length > 0) await this.commit(pending, frees, true);
  }

  /** Host clusters touched by a compressed cluster (each holds one reference from it). */
  private compressedSpan(host: number, bytes: number): PendingFree {
    const first = Math.floor(host / this.clusterBytes);
    const last = Math.floor((host + bytes - 1) / this.clusterBytes);
    return { host: first * this.clusterBytes, clusters: last - first + 1 };
  }

  /** Marks `count` guest clusters from `firstGc` as zero clusters (version 3). */
  private async zeroClustersLocked(firstGc: number, count: number): Promise<void> {
    const pending: PendingEntry[] = [];
    const frees: PendingFree[] = [];
    for (let gc = firstGc; gc < firstGc + count; gc++) {
      const loc = await this.locate(gc);
      const m = loc.mapping;
      if (m.kind === 'zero') continue;
      if (m.kind === 'unallocated' && !this.backing) continue; // already reads as zeros
      if (loc.l2Offset !== 0) this.checkOwned(this.l1Entry(loc.l1Index).copied, 'L2 table', gc);
      let entry = OFLAG_ZERO;
      if (m.kind === 'normal') {
        this.checkOwned(m.copied, 'data cluster', gc);
        entry = BigInt(m.host) | OFLAG_COPIED | OFLAG_ZERO;
      } else if (m.kind === 'compressed') {
        frees.push(this.compressedSpan(m.host, m.bytes));
      }
      pending.push({ l1Index: loc.l1Index, l2Index: loc.l2Index, entry });
    }
    if (pending.length > 0) await this.commit(pending, frees, false);
  }

  /**
   * Publishes new L2 entries in the crash-safe order of the file header: (sync) -> L2
   * entries / new L2 tables -> sync -> L1 entries -> sync -> refcount decrements.
   */
  private async commit(pending: PendingEntry[], frees: PendingFree[], dataWritten: boolean): Promise<void> {
    const refcounts = this.refcounts!;
    const cs = this.clusterBytes;
    const newTables = new Map<number, { offset: number; table: Uint8Array }>();
    for (const p of pending) {
      if (this.l1Entry(p.l1Index).offset !== 0 || newTables.has(p.l1Index)) continue;
      // Counted now, filled below, referenced from L1 only after a sync.
      const offset = await refcounts.reserve(1);
      await refcounts.update(offset, 1, +1);
      newTables.set(p.l1Index, { offset, table: new Uint8Array(cs) });
    }
    if (dataWritten || newTables.size > 0) await this.f.sync();
    // Existing tables: one write per run of entries in the same table. The file goes
    // first, then whichever copy of the table is cached now: a reader that reloaded the
    // table during the write (after an eviction) shares the load awaited here, so no
    // stale copy without the new entries can stay in the cache. Entries in the written
    // range that are not changing come from the cache, which equals the file (every
    // metadata update runs under the mutex).
    const runs = new Map<number, PendingEntry[]>();
    for (const p of pending) {
      const fresh = newTables.get(p.l1Index);
      if (fresh) {
        new DataView(fresh.table.buffer).setBigUint64(p.l2Index * 8, p.entry);
        continue;
      }
      const list = runs.get(p.l1Index) ?? [];
      list.push(p);
      runs.set(p.l1Index, list);
    }
    for (const [l1Index, list] of runs) {
      const l2Offset = this.l1Entry(l1Index).offset;
      let lo = Infinity;
      let hi = 0;
      for (const p of list) {
        lo = Math.min(lo, p.l2Index);
        hi = Math.max(hi, p.l2Index + 1);
      }
      const bytes = (await this.loadL2(l2Offset)).slice(lo * 8, hi * 8);
      const view = new DataView(bytes.buffer);
      for (const p of list) view.setBigUint64((p.l2Index - lo) * 8, p.entry);
      await this.f.write(l2Offset + lo * 8, bytes);
      (await this.loadL2(l2Offset)).set(bytes, lo * 8);
    }
    if (newTables.size > 0) {
      for (const { offset, table } of newTables.values()) await this.f.write(offset, table);
      await this.f.sync();
      for (const [l1Index, { offset, table }] of newTables) {
        this.l2Cache.put(offset, table);
        this.l1View.setBigUint64(l1Index * 8, BigInt(offset) | OFLAG_COPIED);
        await this.f.write(this.header.l1TableOffset + l1Index * 8, this.l1.subarray(l1Index * 8, l1Index * 8 + 8));
      }
    }
    if (frees.length > 0) {
      await this.f.sync();
      for (const fr of frees) await refcounts.update(fr.host, fr.clusters, -1);
      this.lastDecompressed = undefined;
    }
  }
}

/** Checks every L1 entry: reserved bits clear, L2 tables aligned and inside the file. */
function validateL1(f: Qcow2File, l1: Uint8Array): void {
  const view = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
  for (let i = 0; i < l1.length / 8; i++) {
    const hi = view.getUint32(i * 8);
    const lo = view.getUint32(i * 8 + 4);
    if ((lo & 0x1ff) !== 0 || (hi & 0x7f000000) !== 0 || (hi & 0x00e00000) !== 0) {
      throw new StorageError(f.path, 'corrupt', `qcow2 L1 entry ${i} has reserved bits set`);
    }
    const offset = (hi & 0x00ffffff) * TWO32 + lo;
    if (offset === 0) continue;
    if (offset % f.clusterBytes !== 0) {
      throw new StorageError(f.path, 'corrupt', `qcow2 L1 entry ${i} points at unaligned offset ${offset}`);
    }
    if (offset + f.clusterBytes > f.fileBytes) {
      throw new StorageError(f.path, 'corrupt',
        `qcow2 L1 entry ${i} points at an L2 table at offset ${offset}, beyond the end of the file (${f.fileBytes} bytes)`);
    }
  }
}

/**
 * Writes a new version 3 qcow2 image of `sizeBytes` (a multiple of 512) into the empty
 * `file`: header, refcount table and blocks, and a zeroed L1 table; the header is
 * written last and the file synced.
 */
export async function createQcow2(file: ImageFile, sizeBytes: number, options: Qcow2CreateOptions = {}): Promise<void> {
  const cs = options.clusterBytes ?? QCOW2_DEFAULT_CLUSTER_BYTES;
  const clusterBits = Math.log2(cs);
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new StorageError(file.path, 'invalid-argument', `qcow2 cluster size ${cs} must be a power of two from 512 bytes to 2 MiB`);
  }
  const refcountBits = options.refcountBits ?? 16;
  const refcountOrder = Math.log2(refcountBits);
  if (!Number.isInteger(refcountOrder) || refcountOrder < 0 || refcountOrder > 6) {
    throw new StorageError(file.path, 'invalid-argument', `qcow2 refcount width ${refcountBits} must be a power of two from 1 to 64 bits`);
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % 512 !== 0) {
    throw new StorageError(file.path, 'invalid-argument', `disk size ${sizeBytes} must be a non-negative multiple of 512 bytes`);
  }
  const l1Size = Math.ceil(Math.ceil(sizeBytes / cs) / (cs / 8));
  if (l1Size * 8 > MAX_L1_BYTES) {
    throw new StorageError(file.path, 'invalid-argument', `disk size ${sizeBytes} is too large for ${cs}-byte clusters`);
  }
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
  const blockEntries = (cs * 8) >> refcountOrder;
  let rb = 1;
  let rt = 1;
  for (;;) {
    const total = 1 + rt + rb + l1Clusters;
    const rbNeeded = Math.ceil(total / blockEntries);
    const rtNeeded = Math.ceil((rbNeeded * 8) / cs);
    if (rbNeeded === rb && rtNeeded === rt) break;
    rb = rbNeeded;
    rt = rtNeeded;
  }
  const total = 1 + rt + rb + l1Clusters;
  const rtOffset = cs;
  const rbOffset = cs * (1 + rt);
  const l1Offset = cs * (1 + rt + rb);

  const head = new Uint8Array(cs);
  const header: Qcow2Header = {
    version: 3, backingFileOffset: 0, backingFileSize: 0, clusterBits, sizeBytes, cryptMethod: 0, l1Size,
    l1TableOffset: l1Offset, refcountTableOffset: rtOffset, refcountTableClusters: rt, nbSnapshots: 0,
    snapshotsOffset: 0, incompatibleFeatures: 0n, compatibleFeatures: 0n, autoclearFeatures: 0n,
    refcountOrder, headerLength: HEADER_VIREO_BYTES, compressionType: 0,
  };
  let extEnd = HEADER_VIREO_BYTES;
  if (options.backingFile !== undefined) {
    const enc = new TextEncoder();
    const name = enc.encode(options.backingFile);
    if (name.length === 0 || name.length > 1023) {
      throw new StorageError(file.path, 'invalid-argument', 'backing file name must be 1 to 1023 bytes');
    }
    if (options.backingFormat !== undefined) {
      const fmt = enc.encode(options.backingFormat);
      const view = new DataView(head.buffer);
      view.setUint32(extEnd, EXT_BACKING_FORMAT);
      view.setUint32(extEnd + 4, fmt.length);
      if (extEnd + 8 + fmt.length > cs) throw new StorageError(file.path, 'invalid-argument', 'backing format name does not fit the header cluster');
      head.set(fmt, extEnd + 8);
      extEnd += 8 + Math.ceil(fmt.length / 8) * 8;
    }
    extEnd += 8; // end-of-extensions marker (zeros)
    if (extEnd + name.length > cs) {
      throw new StorageError(file.path, 'invalid-argument', 'backing file name does not fit the header cluster; use larger clusters');
    }
    head.set(name, extEnd);
    header.backingFileOffset = extEnd;
    header.backingFileSize = name.length;
  }
  head.set(serializeQcow2HeaderV3(header), 0);

  await file.truncate(total * cs);
  const blocks = new Uint8Array(rb * cs);
  for (let c = 0; c < total; c++) {
    const b = Math.floor(c / blockEntries);
    setRefcountEntry(blocks.subarray(b * cs, (b + 1) * cs), refcountOrder, c % blockEntries, 1);
  }
  await file.write(rbOffset, blocks);
  const table = new Uint8Array(rt * cs);
  const tv = new DataView(table.buffer);
  for (let b = 0; b < rb; b++) tv.setBigUint64(b * 8, BigInt(rbOffset + b * cs));
  await file.write(rtOffset, table);
  await file.sync();
  await file.write(0, head.subarray(0, Math.max(extEnd + header.backingFileSize, HEADER_VIREO_BYTES)));
  await file.sync();
}
