/**
 * virtio block device (virtio 1.2 §5.2) on an asynchronous BlockBackend: one request
 * queue, requests IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES (§5.2.6), features
 * SEG_MAX, BLK_SIZE, FLUSH, RO, DISCARD and WRITE_ZEROES (the last two only on writable
 * disks), and the configuration layout of §5.2.4 (60 bytes, as QEMU).
 *
 * Requests are validated before the backend sees them (§5.2.6.1/§5.2.6.2): a missing
 * header or status byte is a malformed chain (DEVICE_NEEDS_RESET); a data length that
 * is not a multiple of 512, a range beyond the disk, a write to a read-only disk or a
 * request larger than `maxRequestBytes` completes with VIRTIO_BLK_S_IOERR; unknown
 * types with VIRTIO_BLK_S_UNSUPP. Completions arrive asynchronously: data and status are
 * written, then the used ring and interrupt, unless the device was reset meanwhile.
 * `drain()` waits for in-flight requests (the machine calls it before a snapshot; a
 * saved state never contains in-flight requests).
 *
 * Left out: multiqueue (VIRTIO_BLK_F_MQ), CONFIG_WCE, geometry and topology, secure
 * erase, zoned devices, GET_LIFETIME, discard that really unmaps (raw images document
 * discard as a no-op), request merging.
 */
import type { AccessSize, DeviceState } from '../device.js';
import type { BlockBackend } from '../../storage/block-backend.js';
import type { DescriptorChain } from './descriptor-chain.js';
import { VIRTIO_ID_BLOCK } from './virtio-constants.js';
import type { VirtioDevice, VirtioDeviceContext } from './virtio-device.js';
import { readLe } from './virtio-device.js';
import { obj, version } from '../state-check.js';

/** Feature bits (§5.2.3). */
export const VIRTIO_BLK_F_SIZE_MAX = 1n << 1n;
export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;
export const VIRTIO_BLK_F_DISCARD = 1n << 13n;
export const VIRTIO_BLK_F_WRITE_ZEROES = 1n << 14n;

/** Request types (§5.2.6). */
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
/** Status values. */
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
/** Length of the GET_ID answer. */
export const VIRTIO_BLK_ID_BYTES = 20;

const SECTOR = 512;
const HEADER_BYTES = 16;
const QUEUE_SIZE = 256;
/** Largest discard / write-zeroes range in sectors (QEMU's BDRV_REQUEST_MAX_SECTORS). */
const MAX_DISCARD_SECTORS = 0x3f_ffff;
const CONFIG_BYTES = 60;

/** Construction options of a virtio-blk device. */
export interface VirtioBlkOptions {
  readonly id: string;
  readonly backend: BlockBackend;
  /** Serial returned by GET_ID (up to 20 bytes, ASCII). */
  readonly serial?: string;
  /** Present the disk read-only even if the backend is writable. */
  readonly readOnly?: boolean;
  /** Largest data transfer of one request (default 32 MiB); larger completes IOERR. */
  readonly maxRequestBytes?: number;
  /** Host-side I/O error sink (the backend failed, not the guest). */
  readonly onIoError?: (error: unknown) => void;
}

/** virtio-blk on a BlockBackend. */
export class VirtioBlk implements VirtioDevice {
  readonly id: string;
  readonly deviceType = VIRTIO_ID_BLOCK;
  readonly queueMaxSizes = [QUEUE_SIZE];
  readonly deviceFeatures: bigint;
  readonly configSizeBytes = CONFIG_BYTES;
  /** Requests completed with IOERR/UNSUPP because of the guest. */
  guestErrors = 0;
  private readonly backend: BlockBackend;
  private readonly readOnly: boolean;
  private readonly serial: Uint8Array;
  private readonly maxRequestBytes: number;
  private readonly onIoError: ((error: unknown) => void) | undefined;
  private readonly config = new Uint8Array(CONFIG_BYTES);
  private ctx: VirtioDeviceContext | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(opts: VirtioBlkOptions) {
    this.id = opts.id;
    this.backend = opts.backend;
    this.readOnly = (opts.readOnly ?? false) || opts.backend.readOnly;
    this.serial = new TextEncoder().encode(opts.serial ?? '').subarray(0, VIRTIO_BLK_ID_BYTES);
    this.maxRequestBytes = opts.maxRequestBytes ?? 32 * 1024 * 1024;
    this.onIoError = opts.onIoError;
    this.deviceFeatures = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH
      | (this.readOnly ? VIRTIO_BLK_F_RO : VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES);
    const dv = new DataView(this.config.buffer);
    const sectors = Math.floor(opts.backend.sizeBytes / SECTOR);
    dv.setUint32(0, sectors % 0x1_0000_0000, true);
    dv.setUint32(4, Math.floor(sectors / 0x1_0000_0000), true);
    dv.setUint32(12, QUEUE_SIZE - 2, true); // seg_max
    dv.setUint32(20, SECTOR, true); // blk_size
    dv.setUint16(34, 1, true); // num_queues
    if (!this.readOnly) {
      dv.setUint32(36, MAX_DISCARD_SECTORS, true);
      dv.setUint32(40, 1, true); // max_discard_seg
      dv.setUint32(44, 1, true); // discard_sector_alignment
      dv.setUint32(48, MAX_DISCARD_SECTORS, true);
      dv.setUint32(52, 1, true); // max_write_zeroes_seg
    }
  }

  /** Number of requests the backend is still working on. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Resolves when every in-flight request has completed. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  readConfig(offset: number, size: AccessSize): number {
    return readLe(this.config, offset, size);
  }

  writeConfig(offset: number): void {
    this.ctx?.misuse(`${this.id}: write to read-only config offset ${offset}`);
  }

  activate(ctx: VirtioDeviceContext): void {
    this.ctx = ctx;
    this.queueNotify(0);
  }

  queueNotify(index: number): void {
    const ctx = this.ctx;
    if (!ctx?.live || index !== 0) return;
    const q = ctx.queue(0);
    if (!q) return;
    for (let c = q.pop(ctx.memory); c !== null; c = q.pop(ctx.memory)) this.handle(ctx, c);
  }

  reset(): void {
    this.ctx = null; // completions of in-flight requests see a stale context and drop
  }

  saveState(): DeviceState {
    return { v: 1 };
  }

  loadState(state: unknown): void {
    version(this.id, obj(this.id, state), 1);
  }

  // ---- requests ------------------------------------------------------------------------

  private handle(ctx: VirtioDeviceContext, c: DescriptorChain): void {
    const mem = ctx.memory;
    const hdr = new Uint8Array(HEADER_BYTES);
    if (c.readableBytes < HEADER_BYTES || c.writableBytes < 1 || !c.read(mem, 0, hdr)) {
      ctx.needsReset(`${this.id}: request without header or status byte`);
      return;
    }
    const dv = new DataView(hdr.buffer);
    const type = dv.getUint32(0, true);
    const sector = dv.getUint32(8, true) + dv.getUint32(12, true) * 0x1_0000_0000;
    const statusAt = c.writableBytes - 1;
    const finish = (status: number, dataBytes: number): void => {
      if (!ctx.live) return;
      if (!c.write(mem, statusAt, Uint8Array.of(status))) { ctx.needsReset(`${this.id}: cannot write the status byte`); return; }
      ctx.complete(0, c.head, dataBytes + 1);
    };
    const fail = (why: string, status = VIRTIO_BLK_S_IOERR): void => {
      this.guestErrors++;
      ctx.misuse(`${this.id}: ${why}`);
      finish(status, 0);
    };
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        const len = statusAt;
        const off = this.checkRange(sector, len);
        if (typeof off === 'string') { fail(`read: ${off}`); return; }
        const buf = new Uint8Array(len);
        this.track(this.backend.read(off, buf), ctx, finish, () => {
          if (!c.write(mem, 0, buf)) { fail('read: cannot write guest buffers'); return false; }
          finish(VIRTIO_BLK_S_OK, len);
          return true;
        });
        return;
      }
      case VIRTIO_BLK_T_OUT: {
        if (this.readOnly) { fail('write to a read-only disk'); return; }
        const len = c.readableBytes - HEADER_BYTES;
        const off = this.checkRange(sector, len);
        if (typeof off === 'string') { fail(`write: ${off}`); return; }
        const buf = new Uint8Array(len);
        if (!c.read(mem, HEADER_BYTES, buf)) { fail('write: cannot read guest buffers'); return; }
        this.track(this.backend.write(off, buf), ctx, finish, () => { finish(VIRTIO_BLK_S_OK, 0); return true; });
        return;
      }
      case VIRTIO_BLK_T_FLUSH:
        this.track(this.backend.flush(), ctx, finish, () => { finish(VIRTIO_BLK_S_OK, 0); return true; });
        return;
      case VIRTIO_BLK_T_GET_ID: {
        const id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
        id.set(this.serial);
        const n = Math.min(statusAt, VIRTIO_BLK_ID_BYTES);
        if (!c.write(mem, 0, id.subarray(0, n))) { fail('get-id: cannot write guest buffer'); return; }
        finish(VIRTIO_BLK_S_OK, n);
        return;
      }
      case VIRTIO_BLK_T_DISCARD:
      case VIRTIO_BLK_T_WRITE_ZEROES: {
        const name = type === VIRTIO_BLK_T_DISCARD ? 'discard' : 'write-zeroes';
        if (this.readOnly) { fail(`${name} on a read-only disk`, VIRTIO_BLK_S_UNSUPP); return; }
        const segBytes = c.readableBytes - HEADER_BYTES;
        if (segBytes !== 16) { fail(`${name}: ${segBytes} bytes of segments (one 16-byte segment supported)`, VIRTIO_BLK_S_UNSUPP); return; }
        const seg = new Uint8Array(16);
        if (!c.read(mem, HEADER_BYTES, seg)) { fail(`${name}: cannot read the segment`); return; }
        const sdv = new DataView(seg.buffer);
        const s0 = sdv.getUint32(0, true) + sdv.getUint32(4, true) * 0x1_0000_0000;
        const n = sdv.getUint32(8, true);
        const flags = sdv.getUint32(12, true);
        if (n > MAX_DISCARD_SECTORS || (flags & ~1) !== 0 || (type === VIRTIO_BLK_T_DISCARD && flags !== 0)) {
          fail(`${name}: ${n} sectors with flags 0x${flags.toString(16)}`, VIRTIO_BLK_S_UNSUPP);
          return;
        }
        const off = this.checkRange(s0, n * SECTOR, false);
        if (typeof off === 'string') { fail(`${name}: ${off}`); return; }
        const op = type === VIRTIO_BLK_T_DISCARD ? this.backend.discard(off, n * SECTOR)
          : this.backend.writeZeroes ? this.backend.writeZeroes(off, n * SECTOR)
            : this.backend.write(off, new Uint8Array(n * SECTOR));
        this.track(op, ctx, finish, () => { finish(VIRTIO_BLK_S_OK, 0); return true; });
        return;
      }
      default:
        fail(`unsupported request type ${type}`, VIRTIO_BLK_S_UNSUPP);
    }
  }

  /** Byte offset of a valid (sector, length) transfer, or the problem. */
  private checkRange(sector: number, len: number, sizeLimit = true): number | string {
    if (len % SECTOR !== 0) return `length ${len} is not a multiple of 512`;
    if (sizeLimit && len > this.maxRequestBytes) return `length ${len} exceeds ${this.maxRequestBytes}`;
    const off = sector * SECTOR;
    if (!Number.isSafeInteger(off) || off + len > this.backend.sizeBytes) return `sector ${sector} + ${len} bytes beyond the ${this.backend.sizeBytes}-byte disk`;
    return off;
  }

  private track(op: Promise<void>, ctx: VirtioDeviceContext, finish: (status: number, n: number) => void, done: () => boolean): void {
    const p = op.then(() => { if (ctx.live) done(); }, (e: unknown) => {
      this.onIoError?.(e);
      finish(VIRTIO_BLK_S_IOERR, 0);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
