/**
 * Driver-side virtqueue mock for tests (after rust-vmm virtio-queue's mock.rs): a flat
 * guest memory and a split queue laid out in it (§2.7), with helpers to post descriptor
 * chains (direct or through an indirect table), publish them in the available ring,
 * collect used elements, and write raw, possibly hostile, descriptors.
 */
import type { DmaMemory } from '../../ide/bus-master.js';
import type { Virtqueue } from '../virtqueue.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../virtqueue.js';

/** Flat little-endian guest RAM; accesses outside it fail like unmapped memory. */
export class MockGuestMemory implements DmaMemory {
  /** The RAM bytes. */
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  /** Count of failed accesses. */
  faults = 0;

  constructor(sizeBytes: number) {
    this.bytes = new Uint8Array(sizeBytes);
    this.dv = new DataView(this.bytes.buffer);
  }

  read(gpa: number, dest: Uint8Array): boolean {
    if (!(gpa >= 0 && gpa + dest.length <= this.bytes.length)) { this.faults++; return false; }
    dest.set(this.bytes.subarray(gpa, gpa + dest.length));
    return true;
  }

  write(gpa: number, src: Uint8Array): boolean {
    if (!(gpa >= 0 && gpa + src.length <= this.bytes.length)) { this.faults++; return false; }
    this.bytes.set(src, gpa);
    return true;
  }

  /** Little-endian accessors for the driver side. */
  u16(gpa: number): number { return this.dv.getUint16(gpa, true); }
  u32(gpa: number): number { return this.dv.getUint32(gpa, true); }
  setU16(gpa: number, v: number): void { this.dv.setUint16(gpa, v, true); }
  setU32(gpa: number, v: number): void { this.dv.setUint32(gpa, v, true); }
  setU64(gpa: number, v: number): void {
    this.dv.setUint32(gpa, v % 0x1_0000_0000, true);
    this.dv.setUint32(gpa + 4, Math.floor(v / 0x1_0000_0000), true);
  }
}

/** One buffer of a chain the mock driver posts. */
export interface MockBuffer {
  /** Device-readable contents (omit for a device-writable buffer). */
  readonly data?: Uint8Array;
  /** Size of a device-writable buffer. */
  readonly writeLen?: number;
}

/** A posted chain: head and the guest address of each buffer. */
export interface PostedChain {
  readonly head: number;
  readonly gpas: readonly number[];
}

/** A used ring element as the driver reads it. */
export interface UsedElem {
  readonly id: number;
  readonly len: number;
}

/** A raw descriptor (addr may be any 64-bit value below 2^53). */
export interface RawDescriptor {
  readonly addr: number;
  readonly len: number;
  readonly flags: number;
  readonly next: number;
}

/** The driver side of one split queue inside a MockGuestMemory. */
export class MockDriverQueue {
  readonly size: number;
  readonly descGpa: number;
  readonly availGpa: number;
  readonly usedGpa: number;
  private availIdx = 0;
  private lastUsed = 0;
  private dataNext: number;
  private readonly dataStart: number;
  private readonly dataEnd: number;
  private readonly chains = new Map<number, number[]>();
  private freeList: number[] = [];

  /** Lays out a queue of `size` at `baseGpa` and a data area of `dataBytes` after it. */
  constructor(readonly mem: MockGuestMemory, size: number, baseGpa: number, dataBytes = 0x10000) {
    this.size = size;
    this.descGpa = baseGpa;
    this.availGpa = baseGpa + 16 * size;
    this.usedGpa = align(this.availGpa + 6 + 2 * size, 4);
    this.dataNext = align(this.usedGpa + 6 + 8 * size, 16);
    this.dataStart = this.dataNext;
    this.dataEnd = this.dataNext + dataBytes;
    for (let i = 0; i < size; i++) this.freeList.push(i);
  }

  /** End of the area this queue uses (place the next queue here). */
  get endGpa(): number {
    return this.dataEnd;
  }

  /** Points a device-side queue at this layout and marks it ready. */
  attach(q: Virtqueue, opts: { eventIdx?: boolean; indirect?: boolean } = {}): void {
    q.size = this.size;
    q.descGpa = this.descGpa;
    q.availGpa = this.availGpa;
    q.usedGpa = this.usedGpa;
    q.eventIdx = opts.eventIdx ?? false;
    q.indirect = opts.indirect ?? false;
    q.ready = true;
  }

  /** Allocates `len` bytes of the data area (16-byte aligned). */
  alloc(len: number): number {
    if (this.dataNext + len > this.dataEnd) this.dataNext = this.dataStart; // wrap: old buffers are consumed
    if (this.dataNext + len > this.dataEnd) throw new Error(`MockDriverQueue: ${len} bytes do not fit the data area`);
    const gpa = this.dataNext;
    this.dataNext = align(this.dataNext + Math.max(len, 1), 16);
    return gpa;
  }

  /** Writes a raw descriptor at `index` of the table at `tableGpa` (default: the ring). */
  writeDesc(index: number, d: RawDescriptor, tableGpa = this.descGpa): void {
    const at = tableGpa + 16 * index;
    this.mem.setU64(at, d.addr);
    this.mem.setU32(at + 8, d.len >>> 0);
    this.mem.setU16(at + 12, d.flags);
    this.mem.setU16(at + 14, d.next);
  }

  /** Posts a chain (readable buffers first) and publishes it. */
  post(buffers: readonly MockBuffer[], opts: { indirect?: boolean } = {}): PostedChain {
    const gpas = buffers.map((b) => {
      const len = b.data ? b.data.length : (b.writeLen ?? 0);
      const gpa = this.alloc(len);
      if (b.data) this.mem.bytes.set(b.data, gpa);
      else this.mem.bytes.fill(0, gpa, gpa + len);
      return gpa;
    });
    const descs: RawDescriptor[] = buffers.map((b, i) => ({
      addr: gpas[i]!, len: b.data ? b.data.length : (b.writeLen ?? 0),
      flags: (b.data ? 0 : VIRTQ_DESC_F_WRITE) | (i + 1 < buffers.length ? VIRTQ_DESC_F_NEXT : 0), next: i + 1,
    }));
    let head: number;
    if (opts.indirect) {
      const table = this.alloc(16 * descs.length);
      descs.forEach((d, i) => this.writeDesc(i, d, table));
      head = this.takeFree(1)[0]!;
      this.writeDesc(head, { addr: table, len: 16 * descs.length, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
      this.chains.set(head, [head]);
    } else {
      const ids = this.takeFree(descs.length);
      ids.forEach((id, i) => this.writeDesc(id, { ...descs[i]!, next: ids[i + 1] ?? 0 }));
      head = ids[0]!;
      this.chains.set(head, ids);
    }
    this.publish(head);
    return { head, gpas };
  }

  /** Puts `head` in the next available slot and bumps avail.idx. */
  publish(head: number): void {
    this.mem.setU16(this.availGpa + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.setU16(this.availGpa + 2, this.availIdx);
  }

  /** Sets avail.idx directly (hostile tests). */
  setAvailIdx(idx: number): void {
    this.availIdx = idx & 0xffff;
    this.mem.setU16(this.availGpa + 2, this.availIdx);
  }

  /** Sets avail.flags (VIRTQ_AVAIL_F_NO_INTERRUPT). */
  setAvailFlags(flags: number): void {
    this.mem.setU16(this.availGpa, flags);
  }

  /** Sets used_event (the driver's EVENT_IDX threshold). */
  setUsedEvent(idx: number): void {
    this.mem.setU16(this.availGpa + 4 + 2 * this.size, idx);
  }

  /** The device's avail_event (EVENT_IDX). */
  get availEvent(): number {
    return this.mem.u16(this.usedGpa + 4 + 8 * this.size);
  }

  /** used.idx as the device last published it. */
  get usedIdx(): number {
    return this.mem.u16(this.usedGpa + 2);
  }

  /** Collects used elements added since the last call, freeing their descriptors. */
  takeUsed(): UsedElem[] {
    const out: UsedElem[] = [];
    const idx = this.usedIdx;
    while (this.lastUsed !== idx) {
      const at = this.usedGpa + 4 + 8 * (this.lastUsed % this.size);
      const e = { id: this.mem.u32(at), len: this.mem.u32(at + 4) };
      out.push(e);
      const ids = this.chains.get(e.id);
      if (ids) { this.freeList.push(...ids); this.chains.delete(e.id); }
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  /** Reads `len` bytes of guest memory. */
  read(gpa: number, len: number): Uint8Array {
    return this.mem.bytes.slice(gpa, gpa + len);
  }

  private takeFree(n: number): number[] {
    if (this.freeList.length < n) throw new Error('MockDriverQueue: out of descriptors');
    return this.freeList.splice(0, n);
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
