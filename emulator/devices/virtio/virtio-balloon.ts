/**
 * Traditional memory balloon (virtio 1.2 §5.5): queues inflateq (0), deflateq (1) and
 * statsq (2, VIRTIO_BALLOON_F_STATS_VQ); configuration `num_pages` (the host's target,
 * in 4 KiB pages) and `actual` (the driver's report). The host sets the target with
 * `setTargetPages`; the driver inflates by giving page frame numbers (le32 each) on the
 * inflate queue and deflates through the deflate queue. The device tracks the balloon
 * as a set of PFNs and reports changes through `onInflate` / `onDeflate` (a host may
 * discard those pages); PFNs beyond guest RAM or deflates of pages not in the balloon
 * are counted guest errors.
 *
 * Statistics (§5.5.6.3): the driver posts one buffer of {le16 tag, le64 val} entries;
 * the device keeps it and returns it when the host asks for fresh numbers
 * (`requestStats`), and the driver answers with a new buffer.
 *
 * Left out: DEFLATE_ON_OOM, FREE_PAGE_HINT, PAGE_POISON, PAGE_REPORTING, the legacy
 * big-endian quirks; the held statistics buffer is not part of the saved state (after a
 * restore, statistics stop until the guest driver is reloaded).
 */
import type { AccessSize, DeviceState } from '../device.js';
import type { DescriptorChain } from './descriptor-chain.js';
import { VIRTIO_ID_BALLOON } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe, writeLe } from './virtio-device.js';
import { int, obj, version } from '../state-check.js';

/** Feature bits (§5.5.3). */
export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 1n << 0n;
export const VIRTIO_BALLOON_F_STATS_VQ = 1n << 1n;
/** Statistics tags (§5.5.6.3). */
export const VIRTIO_BALLOON_S_SWAP_IN = 0;
export const VIRTIO_BALLOON_S_SWAP_OUT = 1;
export const VIRTIO_BALLOON_S_MAJFLT = 2;
export const VIRTIO_BALLOON_S_MINFLT = 3;
export const VIRTIO_BALLOON_S_MEMFREE = 4;
export const VIRTIO_BALLOON_S_MEMTOT = 5;
export const VIRTIO_BALLOON_S_AVAIL = 6;
export const VIRTIO_BALLOON_S_CACHES = 7;
/** Balloon page size. */
export const VIRTIO_BALLOON_PAGE_BYTES = 4096;

const INFLATE = 0;

/** Queue 1 is the deflate queue; queue 2 the statistics queue. */
const STATS = 2;
const QUEUE_SIZE = 128;
const CONFIG_BYTES = 8;
/** Linux sends at most 256 PFNs per buffer; allow generously more, bounded. */
const MAX_PFNS_PER_BUFFER = 65536;

/** Construction options of a virtio-balloon device. */
export interface VirtioBalloonOptions {
  readonly id: string;
  /** Guest RAM size: PFNs at or beyond ramBytes / 4096 are rejected. */
  readonly ramBytes: number;
  /** Pages entered the balloon (the host may drop their contents). */
  readonly onInflate?: (pfns: readonly number[]) => void;
  /** Pages left the balloon. */
  readonly onDeflate?: (pfns: readonly number[]) => void;
  /** Fresh guest statistics arrived (tag -> value). */
  readonly onStats?: (stats: ReadonlyMap<number, bigint>) => void;
}

/** virtio-balloon with statistics. */
export class VirtioBalloon implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_BALLOON;
  readonly queueMaxSizes = [QUEUE_SIZE, QUEUE_SIZE, QUEUE_SIZE];
  readonly deviceFeatures = VIRTIO_BALLOON_F_STATS_VQ;
  readonly configSizeBytes = CONFIG_BYTES;
  /** Guest errors survived (bad PFNs, odd buffer lengths). */
  guestErrors = 0;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private readonly ramPages: number;
  private readonly pages = new Set<number>();
  private readonly opts: VirtioBalloonOptions;
  private statsChain: DescriptorChain | null = null;
  private lastStats = new Map<number, bigint>();
  private ctx: VirtioDeviceContext | null = null;

  constructor(opts: VirtioBalloonOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.ramPages = Math.floor(opts.ramBytes / VIRTIO_BALLOON_PAGE_BYTES);
  }

  /** Pages currently in the balloon. */
  get balloonPages(): number {
    return this.pages.size;
  }

  /** The driver's `actual` report. */
  get actualPages(): number {
    return readLe(this.config, 4, 4);
  }

  /** The latest statistics from the guest. */
  get stats(): ReadonlyMap<number, bigint> {
    return this.lastStats;
  }

  /** Sets the target balloon size (`num_pages`) and tells the driver. */
  setTargetPages(pages: number): void {
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffffffff) throw new RangeError(`${this.id}: target ${pages} pages`);
    writeLe(this.config, 0, 4, pages);
    this.ctx?.configChanged();
  }

  /** Returns the held statistics buffer so the driver refreshes it; false if none is held. */
  requestStats(): boolean {
    const ctx = this.ctx;
    const c = this.statsChain;
    if (!ctx?.live || c === null) return false;
    this.statsChain = null;
    ctx.complete(STATS, c.head, 0);
    return true;
  }

  readConfig(offset: number, size: AccessSize): number {
    return readLe(this.config, offset, size);
  }

  writeConfig(offset: number, size: AccessSize, value: number): void {
    if (offset >= 4 && offset + size <= 8) { writeLe(this.config, offset, size, value); return; }
    this.ctx?.misuse(`${this.id}: write to read-only num_pages`);
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.statsChain = null;
    for (let q = 0; q < 3; q++) this.queueNotify(q);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live) return;
    const q = ctx.queue(index);
    if (!q) return;
    if (index === STATS) {
      for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) this.takeStats(ctx, c);
      return;
    }
    let any = false;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) {
      any = true;
      this.pageList(ctx, c, index === INFLATE);
      ctx.addUsed(index, c.head, 0);
    }
    if (any) ctx.signal(index);
  }

  reset(): void {
    this.ctx = null;
    this.statsChain = null;
    this.pages.clear();
    writeLe(this.config, 4, 4, 0);
  }

  saveState(): DeviceState {
    return { v: 1, numPages: readLe(this.config, 0, 4), actual: readLe(this.config, 4, 4), pages: toRanges([...this.pages]) };
  }

  loadState(state: unknown): void {
    const s = obj(this.id, state);
    version(this.id, s, 1);
    const numPages = int(this.id, s, 'numPages', 0, 0xffffffff);
    const actual = int(this.id, s, 'actual', 0, 0xffffffff);
    const ranges = s['pages'];
    if (!Array.isArray(ranges)) throw new Error(`${this.id}.pages: array expected`);
    const pfns: number[] = [];
    for (const r of ranges) {
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isInteger(x) && x >= 0)) throw new Error(`${this.id}.pages: [start, count] pairs expected`);
      const [start, count] = r as [number, number];
      if (start + count > this.ramPages) throw new Error(`${this.id}.pages: range beyond guest RAM`);
      for (let i = 0; i < count; i++) pfns.push(start + i);
    }
    writeLe(this.config, 0, 4, numPages);
    writeLe(this.config, 4, 4, actual);
    this.pages.clear();
    for (const p of pfns) this.pages.add(p);
    this.statsChain = null;
  }

  private pageList(ctx: VirtioDeviceContext, c: DescriptorChain, inflate: boolean): void {
    const n = c.readableBytes;
    if (n % 4 !== 0 || n / 4 > MAX_PFNS_PER_BUFFER) { this.misuse(ctx, `${inflate ? 'inflate' : 'deflate'} buffer of ${n} bytes`); return; }
    const bytes = c.readAll(ctx.memory);
    if (bytes === null) { this.misuse(ctx, 'cannot read a page list'); return; }
    const dv = new DataView(bytes.buffer);
    const changed: number[] = [];
    for (let i = 0; i < n; i += 4) {
      const pfn = dv.getUint32(i, true);
      if (pfn >= this.ramPages) { this.misuse(ctx, `PFN 0x${pfn.toString(16)} beyond guest RAM`); continue; }
      if (inflate) {
        if (!this.pages.has(pfn)) { this.pages.add(pfn); changed.push(pfn); }
      } else if (this.pages.delete(pfn)) changed.push(pfn);
      else this.misuse(ctx, `deflate of PFN 0x${pfn.toString(16)} not in the balloon`);
    }
    if (changed.length > 0) (inflate ? this.opts.onInflate : this.opts.onDeflate)?.(changed);
  }

  private takeStats(ctx: VirtioDeviceContext, c: DescriptorChain): void {
    if (this.statsChain !== null) {
      this.misuse(ctx, 'a second statistics buffer while one is held');
      ctx.complete(STATS, this.statsChain.head, 0);
    }
    this.statsChain = c;
    const n = c.readableBytes;
    if (n % 10 !== 0 || n > 10 * 64) { this.misuse(ctx, `statistics buffer of ${n} bytes`); return; }
    const bytes = c.readAll(ctx.memory);
    if (bytes === null) { this.misuse(ctx, 'cannot read statistics'); return; }
    const dv = new DataView(bytes.buffer);
    const stats = new Map<number, bigint>();
    for (let i = 0; i < n; i += 10) stats.set(dv.getUint16(i, true), dv.getBigUint64(i + 2, true));
    this.lastStats = stats;
    this.opts.onStats?.(stats);
  }

  private misuse(ctx: VirtioDeviceContext, message: string): void {
    this.guestErrors++;
    ctx.misuse(`${this.id}: ${message}`);
  }
}

/** Compresses PFNs into sorted [start, count] runs. */
function toRanges(pfns: number[]): Array<[number, number]> {
  pfns.sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const p of pfns) {
    const last = out[out.length - 1];
    if (last && last[0] + last[1] === p) last[1]++;
    else out.push([p, 1]);
  }
  return out;
}
