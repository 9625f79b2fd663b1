/**
 * A parsed split-virtqueue descriptor chain (virtio 1.2 §2.7.5, §2.7.5.3 indirect
 * descriptors): the device-readable segments, then the device-writable ones, as the
 * driver placed them. The chain holds guest addresses only; data moves through the
 * injected guest memory when a device reads or writes it, so a driver that lies about
 * lengths costs nothing until the device copies, and copies are bounded by the caller.
 *
 * Devices treat the chain as one readable byte stream and one writable byte stream
 * (VIRTIO_F_ANY_LAYOUT semantics, §2.6.4: message framing is independent of the
 * descriptor layout).
 */
import type { DmaMemory } from '../ide/bus-master.js';

/** One guest buffer: `len` bytes at guest-physical address `gpa`. */
export interface Segment {
  readonly gpa: number;
  readonly len: number;
}

/** A descriptor chain popped from the available ring. */
export class DescriptorChain {
  /** Head descriptor index: the id to put in the used ring. */
  readonly head: number;
  /** Device-readable buffers, in order. */
  readonly readable: readonly Segment[];
  /** Device-writable buffers, in order. */
  readonly writable: readonly Segment[];
  /** Total bytes of the readable segments. */
  readonly readableBytes: number;
  /** Total bytes of the writable segments. */
  readonly writableBytes: number;

  constructor(head: number, readable: readonly Segment[], writable: readonly Segment[]) {
    this.head = head;
    this.readable = readable;
    this.writable = writable;
    this.readableBytes = readable.reduce((a, s) => a + s.len, 0);
    this.writableBytes = writable.reduce((a, s) => a + s.len, 0);
  }

  /**
   * Copies readable bytes starting at stream offset `offset` into `dest` (all of it).
   * False if the readable stream is too short or guest memory refused an access.
   */
  read(mem: DmaMemory, offset: number, dest: Uint8Array): boolean {
    if (offset + dest.length > this.readableBytes) return false;
    return copySegments(this.readable, offset, dest.length, (gpa, at, n) => mem.read(gpa, dest.subarray(at, at + n)));
  }

  /** All readable bytes (the caller bounds `readableBytes` first), or null on a memory error. */
  readAll(mem: DmaMemory): Uint8Array | null {
    const out = new Uint8Array(this.readableBytes);
    return this.read(mem, 0, out) ? out : null;
  }

  /**
   * Copies `src` into the writable stream at offset `offset`. False if the writable
   * stream is too short or guest memory refused an access.
   */
  write(mem: DmaMemory, offset: number, src: Uint8Array): boolean {
    if (offset + src.length > this.writableBytes) return false;
    return copySegments(this.writable, offset, src.length, (gpa, at, n) => mem.write(gpa, src.subarray(at, at + n)));
  }
}

function copySegments(segs: readonly Segment[], offset: number, length: number,
  copy: (gpa: number, at: number, n: number) => boolean): boolean {
  let skip = offset;
  let done = 0;
  for (const s of segs) {
    if (done === length) break;
    if (skip >= s.len) { skip -= s.len; continue; }
    const n = Math.min(s.len - skip, length - done);
    if (!copy(s.gpa + skip, done, n)) return false;
    done += n;
    skip = 0;
  }
  return done === length;
}
