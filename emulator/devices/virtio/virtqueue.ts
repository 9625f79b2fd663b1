/**
 * Split virtqueues, device side (virtio 1.2 §2.7): the descriptor table (§2.7.5), the
 * available ring (§2.7.6) and the used ring (§2.7.8), indirect descriptors (§2.7.5.3),
 * the event index feature VIRTIO_F_EVENT_IDX (§2.7.7.2, §2.7.10) and notification
 * suppression without it (avail.flags VIRTQ_AVAIL_F_NO_INTERRUPT).
 *
 * The model follows rust-vmm virtio-queue: the transport fills in size, ring addresses
 * and `ready`; the device pops chains and adds used elements; `needsNotification` tells
 * whether the driver wants an interrupt. Every guest-controlled value is checked: an
 * available index that moves by more than the queue size, a head or `next` index out
 * of range, a chain longer than the queue (a loop), an indirect table of bad length or
 * nested indirection, a readable descriptor after a writable one, an address beyond
 * 2^53 or a chain larger than `maxChainBytes`, and any guest-memory access that fails.
 * Each is reported once through `onError`; the queue then stops (the transport sets
 * DEVICE_NEEDS_RESET, §2.1.2) and never throws or loops.
 *
 * Legacy layout (§2.7.2 "Legacy Interfaces: A Note on Virtqueue Layout"): one region
 * starting at `pfn * 4096`, the used ring aligned to 4096.
 *
 * Left out: packed virtqueues (§2.8; VIRTIO_F_RING_PACKED is never offered),
 * VIRTIO_F_NOTIFICATION_DATA, VIRTIO_F_IN_ORDER, memory barriers (accesses go through
 * DmaMemory in program order; a KVM vCPU thread racing on shared RAM is not fenced).
 */
import type { DmaMemory } from '../ide/bus-master.js';
import { DescriptorChain, type Segment } from './descriptor-chain.js';
import { bool, int, obj, version } from '../state-check.js';

/** Descriptor flags (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** avail.flags: the driver asks for no interrupts (§2.7.7). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** used.flags: the device asks for no notifications (§2.7.10). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Largest queue size of a split virtqueue (§2.7: Queue Size up to 32768). */
export const VIRTQ_MAX_SIZE = 32768;
/** Largest indirect table accepted, in descriptors (as QEMU's VIRTQUEUE_MAX_SIZE). */
export const VIRTQ_MAX_INDIRECT = 1024;
/** Legacy ring alignment (§2.7.2). */
export const VIRTQ_LEGACY_ALIGN = 4096;

const DESC_BYTES = 16;
const TWO_32 = 0x1_0000_0000;
/** Descriptor addresses above this are not exact in a double: treated as invalid. */
const MAX_GPA = Number.MAX_SAFE_INTEGER;

/** Saved state of one queue (`{ v: 1, ... }`), validated by `parseQueueState`. */
export interface QueueState {
  readonly v: 1;
  readonly size: number;
  readonly ready: boolean;
  readonly descGpa: number;
  readonly availGpa: number;
  readonly usedGpa: number;
  readonly nextAvail: number;
  readonly nextUsed: number;
  readonly signalledUsed: number;
  readonly signalledValid: boolean;
  readonly eventIdx: boolean;
  readonly indirect: boolean;
  readonly broken: boolean;
}

/** Construction options of a queue. */
export interface VirtqueueOptions {
  /** The largest size the device supports (power of two, <= 32768). */
  readonly maxSize: number;
  /** Upper bound on the bytes of one chain (readable + writable); larger is a guest error. */
  readonly maxChainBytes?: number;
  /** Called once when the driver breaks the queue; the transport sets NEEDS_RESET. */
  readonly onError?: (message: string) => void;
}

/** A split virtqueue as the device sees it. */
export class Virtqueue {
  /** The device's maximum queue size. */
  readonly maxSize: number;
  /** Bound on one chain's total bytes. */
  readonly maxChainBytes: number;
  /** Queue size chosen by the driver (power of two). */
  size: number;
  /** The driver enabled the queue (queue_enable, or a legacy PFN write). */
  ready = false;
  /** Guest-physical address of the descriptor table. */
  descGpa = 0;
  /** Guest-physical address of the available (driver) ring. */
  availGpa = 0;
  /** Guest-physical address of the used (device) ring. */
  usedGpa = 0;
  /** VIRTIO_F_EVENT_IDX negotiated. */
  eventIdx = false;
  /** VIRTIO_F_INDIRECT_DESC negotiated. */
  indirect = false;
  /** Next available ring slot the device will read (free-running 16-bit). */
  nextAvail = 0;
  /** Next used ring slot the device will write (free-running 16-bit). */
  nextUsed = 0;
  private signalledUsed = 0;
  private signalledValid = false;
  private brokenReason: string | null = null;
  private readonly onError: ((message: string) => void) | undefined;
  private readonly scratch = new Uint8Array(16);
  private readonly view = new DataView(this.scratch.buffer);

  constructor(opts: VirtqueueOptions) {
    if (!isPow2(opts.maxSize) || opts.maxSize > VIRTQ_MAX_SIZE) throw new RangeError(`Virtqueue: max size ${opts.maxSize} must be a power of two <= ${VIRTQ_MAX_SIZE}`);
    this.maxSize = opts.maxSize;
    this.size = opts.maxSize;
    this.maxChainBytes = opts.maxChainBytes ?? 64 * 1024 * 1024;
    this.onError = opts.onError;
  }

  /** Why the queue stopped, or null while healthy. */
  get broken(): string | null {
    return this.brokenReason;
  }

  /** Back to the reset state (§2.1.2: queues are disabled and forgotten). */
  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.descGpa = 0;
    this.availGpa = 0;
    this.usedGpa = 0;
    this.eventIdx = false;
    this.indirect = false;
    this.nextAvail = 0;
    this.nextUsed = 0;
    this.signalledUsed = 0;
    this.signalledValid = false;
    this.brokenReason = null;
  }

  /** Legacy interface: the whole ring at `pfn * 4096` (§2.7.2); pfn 0 disables the queue. */
  setLegacyPfn(pfn: number): void {
    if (pfn === 0) { this.ready = false; this.descGpa = this.availGpa = this.usedGpa = 0; return; }
    const base = pfn * VIRTQ_LEGACY_ALIGN;
    this.descGpa = base;
    this.availGpa = base + DESC_BYTES * this.size;
    this.usedGpa = alignUp(this.availGpa + 6 + 2 * this.size, VIRTQ_LEGACY_ALIGN);
    this.ready = true;
  }

  /** The legacy PFN the queue was set up with (0 when disabled). */
  get legacyPfn(): number {
    return this.ready ? Math.floor(this.descGpa / VIRTQ_LEGACY_ALIGN) : 0;
  }

  /**
   * Checks the driver's configuration (§2.7: size a power of two, alignments 16/2/4,
   * rings within the 53-bit address space). Returns the problem, or null.
   */
  validate(): string | null {
    if (!isPow2(this.size) || this.size > this.maxSize) return `queue size ${this.size} is not a power of two <= ${this.maxSize}`;
    if (![this.descGpa, this.availGpa, this.usedGpa].every(Number.isSafeInteger)) return 'ring addresses beyond the 53-bit address space';
    if (this.descGpa % 16 !== 0) return `descriptor table 0x${this.descGpa.toString(16)} not 16-byte aligned`;
    if (this.availGpa % 2 !== 0) return `available ring 0x${this.availGpa.toString(16)} not 2-byte aligned`;
    if (this.usedGpa % 4 !== 0) return `used ring 0x${this.usedGpa.toString(16)} not 4-byte aligned`;
    if (this.descGpa + DESC_BYTES * this.size > MAX_GPA || this.availGpa + 6 + 2 * this.size > MAX_GPA
      || this.usedGpa + 6 + 8 * this.size > MAX_GPA) return 'ring addresses beyond the 53-bit address space';
    return null;
  }

  /** Whether the queue can be used: ready, valid and not broken. */
  get usable(): boolean {
    return this.ready && this.brokenReason === null;
  }

  /**
   * Pops the next available chain, or null when the ring is empty, the queue is not
   * ready, or the driver broke it (then `onError` has been called once).
   */
  pop(mem: DmaMemory): DescriptorChain | null {
    if (!this.usable) return null;
    const availIdx = this.read16(mem, this.availGpa + 2);
    if (availIdx === null) return this.fail('cannot read avail.idx');
    const pending = (availIdx - this.nextAvail) & 0xffff;
    if (pending === 0) return null;
    if (pending > this.size) return this.fail(`avail.idx moved ${pending} entries ahead of a ${this.size}-entry queue`);
    const head = this.read16(mem, this.availGpa + 4 + 2 * (this.nextAvail % this.size));
    if (head === null) return this.fail('cannot read the available ring');
    if (head >= this.size) return this.fail(`available head ${head} out of range of a ${this.size}-entry queue`);
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    if (this.eventIdx && !this.write16(mem, this.usedGpa + 4 + 8 * this.size, this.nextAvail)) {
      return this.fail('cannot write used.avail_event');
    }
    const chain = this.parseChain(mem, head);
    if (typeof chain === 'string') return this.fail(chain);
    return chain;
  }

  /**
   * Gives back the last `count` popped chains (rust-vmm's go_to_previous_position):
   * they will be popped again. For devices that gathered buffers and found too few.
   */
  undoPop(mem: DmaMemory, count = 1): void {
    if (!this.usable || count <= 0) return;
    this.nextAvail = (this.nextAvail - count) & 0xffff;
    if (this.eventIdx) this.write16(mem, this.usedGpa + 4 + 8 * this.size, this.nextAvail);
  }

  /** Whether chains are waiting in the available ring (false on error). */
  hasAvailable(mem: DmaMemory): boolean {
    if (!this.usable) return false;
    const availIdx = this.read16(mem, this.availGpa + 2);
    return availIdx !== null && availIdx !== this.nextAvail;
  }

  /**
   * Puts chain `head` into the used ring with `lenBytes` written (§2.7.8), then
   * publishes the new used.idx. False if the queue is broken or memory failed.
   */
  addUsed(mem: DmaMemory, head: number, lenBytes: number): boolean {
    if (!this.usable) return false;
    const slot = this.usedGpa + 4 + 8 * (this.nextUsed % this.size);
    this.view.setUint32(0, head, true);
    this.view.setUint32(4, lenBytes >>> 0, true);
    if (!mem.write(slot, this.scratch.subarray(0, 8))) { this.fail('cannot write the used ring'); return false; }
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
    if (!this.write16(mem, this.usedGpa + 2, this.nextUsed)) { this.fail('cannot write used.idx'); return false; }
    return true;
  }

  /**
   * Whether the driver wants an interrupt for the used entries added since the last
   * call (§2.7.7.2 with EVENT_IDX: vring_need_event(used_event, new, old); without it:
   * unless avail.flags has NO_INTERRUPT). Records the current used index as signalled.
   */
  needsNotification(mem: DmaMemory): boolean {
    if (!this.usable) return false;
    const newUsed = this.nextUsed;
    const old = this.signalledUsed;
    const valid = this.signalledValid;
    this.signalledUsed = newUsed;
    this.signalledValid = true;
    if (this.eventIdx) {
      const usedEvent = this.read16(mem, this.availGpa + 4 + 2 * this.size);
      if (usedEvent === null) { this.fail('cannot read avail.used_event'); return false; }
      if (!valid) return true;
      return ((newUsed - usedEvent - 1) & 0xffff) < ((newUsed - old) & 0xffff);
    }
    const flags = this.read16(mem, this.availGpa);
    if (flags === null) { this.fail('cannot read avail.flags'); return false; }
    return (flags & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /** Marks the queue broken from the device side (a malformed request). */
  markBroken(message: string): void {
    this.fail(message);
  }

  /** State for snapshots. */
  saveState(): QueueState {
    return {
      v: 1, size: this.size, ready: this.ready, descGpa: this.descGpa, availGpa: this.availGpa,
      usedGpa: this.usedGpa, nextAvail: this.nextAvail, nextUsed: this.nextUsed,
      signalledUsed: this.signalledUsed, signalledValid: this.signalledValid,
      eventIdx: this.eventIdx, indirect: this.indirect, broken: this.brokenReason !== null,
    };
  }

  /** Applies a state checked by `parseQueueState` for this queue's max size. */
  applyState(s: QueueState): void {
    this.size = s.size;
    this.ready = s.ready;
    this.descGpa = s.descGpa;
    this.availGpa = s.availGpa;
    this.usedGpa = s.usedGpa;
    this.nextAvail = s.nextAvail;
    this.nextUsed = s.nextUsed;
    this.signalledUsed = s.signalledUsed;
    this.signalledValid = s.signalledValid;
    this.eventIdx = s.eventIdx;
    this.indirect = s.indirect;
    this.brokenReason = s.broken ? 'restored broken' : null;
  }

  // ---- internals -------------------------------------------------------------------

  private fail(message: string): null {
    if (this.brokenReason === null) {
      this.brokenReason = message;
      this.onError?.(message);
    }
    return null;
  }

  private read16(mem: DmaMemory, gpa: number): number | null {
    return mem.read(gpa, this.scratch.subarray(0, 2)) ? this.view.getUint16(0, true) : null;
  }

  private write16(mem: DmaMemory, gpa: number, value: number): boolean {
    this.view.setUint16(0, value & 0xffff, true);
    return mem.write(gpa, this.scratch.subarray(0, 2));
  }

  /** Reads descriptor `index` of the table at `tableGpa`; null on a memory error. */
  private readDesc(mem: DmaMemory, tableGpa: number, index: number): RawDesc | null {
    if (!mem.read(tableGpa + DESC_BYTES * index, this.scratch)) return null;
    const lo = this.view.getUint32(0, true);
    const hi = this.view.getUint32(4, true);
    return {
      addrLo: lo, addrHi: hi, len: this.view.getUint32(8, true),
      flags: this.view.getUint16(12, true), next: this.view.getUint16(14, true),
    };
  }

  private parseChain(mem: DmaMemory, head: number): DescriptorChain | string {
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let total = 0;
    let table = this.descGpa;
    let tableLen = this.size;
    let index = head;
    let hops = 0;
    let inIndirect = false;
    for (;;) {
      if (++hops > tableLen) return inIndirect ? 'indirect descriptor chain loops' : `descriptor chain from head ${head} is longer than the queue (a loop?)`;
      const d = this.readDesc(mem, table, index);
      if (d === null) return `cannot read descriptor ${index}`;
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) return 'indirect descriptor without VIRTIO_F_INDIRECT_DESC';
        if (inIndirect) return 'nested indirect descriptor';
        if (d.flags & VIRTQ_DESC_F_NEXT) return 'descriptor has both INDIRECT and NEXT';
        if (d.len === 0 || d.len % DESC_BYTES !== 0) return `indirect table length ${d.len} is not a non-zero multiple of 16`;
        if (d.len / DESC_BYTES > VIRTQ_MAX_INDIRECT) return `indirect table of ${d.len / DESC_BYTES} descriptors exceeds ${VIRTQ_MAX_INDIRECT}`;
        const gpa = gpaOf(d);
        if (gpa === null || gpa + d.len > MAX_GPA) return 'indirect table address out of range';
        table = gpa;
        tableLen = d.len / DESC_BYTES;
        index = 0;
        hops = 0;
        inIndirect = true;
        continue;
      }
      const gpa = gpaOf(d);
      if (gpa === null || gpa + d.len > MAX_GPA) return `descriptor ${index} address out of range`;
      total += d.len;
      if (total > this.maxChainBytes) return `descriptor chain larger than ${this.maxChainBytes} bytes`;
      if (d.len > 0) {
        if (d.flags & VIRTQ_DESC_F_WRITE) writable.push({ gpa, len: d.len });
        else if (writable.length > 0) return 'device-readable descriptor after a device-writable one';
        else readable.push({ gpa, len: d.len });
      }
      if (!(d.flags & VIRTQ_DESC_F_NEXT)) break;
      if (d.next >= tableLen) return `next index ${d.next} out of range of ${tableLen}`;
      index = d.next;
    }
    return new DescriptorChain(head, readable, writable);
  }
}

interface RawDesc {
  addrLo: number;
  addrHi: number;
  len: number;
  flags: number;
  next: number;
}

function gpaOf(d: RawDesc): number | null {
  if (d.addrHi >= 0x20_0000) return null;
  return d.addrHi * TWO_32 + d.addrLo;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * Validates untrusted queue state for a queue of `maxSize` (like rust-vmm's
 * QueueState -> Queue TryFrom): types, ranges, and ring alignment when ready.
 */
export function parseQueueState(where: string, raw: unknown, maxSize: number): QueueState {
  const s = obj(where, raw);
  version(where, s, 1);
  const size = int(where, s, 'size', 1, maxSize);
  if (!isPow2(size)) throw new Error(`${where}.size: ${size} is not a power of two`);
  const st: QueueState = {
    v: 1, size, ready: bool(where, s, 'ready'),
    descGpa: int(where, s, 'descGpa', 0, MAX_GPA), availGpa: int(where, s, 'availGpa', 0, MAX_GPA),
    usedGpa: int(where, s, 'usedGpa', 0, MAX_GPA), nextAvail: int(where, s, 'nextAvail', 0, 0xffff),
    nextUsed: int(where, s, 'nextUsed', 0, 0xffff), signalledUsed: int(where, s, 'signalledUsed', 0, 0xffff),
    signalledValid: bool(where, s, 'signalledValid'), eventIdx: bool(where, s, 'eventIdx'),
    indirect: bool(where, s, 'indirect'), broken: bool(where, s, 'broken'),
  };
  if (st.ready) {
    const probe = new Virtqueue({ maxSize });
    probe.applyState(st);
    const problem = probe.validate();
    if (problem !== null) throw new Error(`${where}: ${problem}`);
  }
  return st;
}
