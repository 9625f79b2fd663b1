/**
 * GuestMemory: the machine's backing store, one SharedArrayBuffer holding guest RAM
 * followed by ROM images (BIOS, option ROMs) and device memory such as VGA VRAM.
 *
 * Consumer-side interface in the spirit of rust-vmm's vm-memory: devices and the CPU see
 * byte offsets into `u8`; how the bytes are provided is decided here. The buffer is
 * allocated with 4 KiB of slack so that `u8` can start at a page-aligned host address, which
 * KVM needs for its memory slots (`alignWindow`); everyone indexes through `u8`/`view`
 * (or adds `u8.byteOffset` when building other views on `buffer`).
 * Which guest-physical page maps to which offset is PhysMap's job, not this class's.
 */

import { CodeWatch } from './code-watch.js';

/** Size of a guest page in bytes. */
export const PAGE_SIZE = 4096;

/** A named slice of the backing store (RAM, a ROM image, VRAM). */
export interface MemoryBlock {
  readonly name: string;
  /** Byte offset of the block inside `GuestMemory.u8` (page-aligned). */
  readonly offset: number;
  readonly sizeBytes: number;
}

/** The backing store of one machine. Never shared between machines. */
export class GuestMemory {
  /** The whole backing store. */
  readonly buffer: SharedArrayBuffer;
  /** Byte view over the whole backing store. */
  readonly u8: Uint8Array;
  /** Little-endian view for multi-byte accesses. */
  readonly view: DataView;
  /** Guest RAM is always the first block, at offset 0. */
  readonly ramBytes: number;
  /**
   * Write tracking for the CPUs' decoded-instruction caches. Whoever writes `u8` without
   * going through a CPU (DMA, loaders, snapshot restore) calls `notifyWrite` afterwards.
   */
  readonly codeWatch: CodeWatch;
  private readonly blocks = new Map<string, MemoryBlock>();
  private next: number;

  /**
   * @param ramBytes guest RAM size (multiple of 4 KiB)
   * @param extraBytes room reserved after RAM for ROMs and device memory
   * @param alignWindow returns where in the buffer the window must start (0..4095) so that
   *   it is page-aligned in host memory (the KVM backend provides it); default 0
   */
  constructor(ramBytes: number, extraBytes: number, alignWindow?: (buffer: SharedArrayBuffer) => number) {
    if (ramBytes % PAGE_SIZE !== 0 || extraBytes % PAGE_SIZE !== 0) {
      throw new RangeError(`GuestMemory: sizes must be multiples of ${PAGE_SIZE} (ram ${ramBytes}, extra ${extraBytes})`);
    }
    const size = ramBytes + extraBytes;
    this.buffer = new SharedArrayBuffer(size + PAGE_SIZE);
    const offset = alignWindow?.(this.buffer) ?? 0;
    if (!Number.isInteger(offset) || offset < 0 || offset >= PAGE_SIZE) {
      throw new RangeError(`GuestMemory: window offset ${offset} must be within the first page`);
    }
    this.u8 = new Uint8Array(this.buffer, offset, size);
    this.view = new DataView(this.buffer, offset, size);
    this.ramBytes = ramBytes;
    this.codeWatch = new CodeWatch(size);
    this.blocks.set('ram', { name: 'ram', offset: 0, sizeBytes: ramBytes });
    this.next = ramBytes;
  }

  /** Reserves a page-aligned block after RAM (ROM images, VRAM). Throws if out of room. */
  allocate(name: string, sizeBytes: number): MemoryBlock {
    if (this.blocks.has(name)) throw new Error(`GuestMemory: block "${name}" already allocated`);
    const size = Math.ceil(sizeBytes / PAGE_SIZE) * PAGE_SIZE;
    if (this.next + size > this.u8.length) {
      throw new RangeError(`GuestMemory: no room for "${name}" (${size} bytes; ${this.u8.length - this.next} left)`);
    }
    const block: MemoryBlock = { name, offset: this.next, sizeBytes: size };
    this.next += size;
    this.blocks.set(name, block);
    return block;
  }

  /**
   * Call after writing `length` bytes at byte offset `offset` of `u8` other than through a
   * CPU (device DMA, ROM loading): drops decoded instructions cached from those pages.
   * For RAM the offset is the guest-physical address.
   */
  notifyWrite(offset: number, length: number): void {
    this.codeWatch.notifyWrite(offset, length);
  }

  /** Looks up a block by name. */
  block(name: string): MemoryBlock | undefined {
    return this.blocks.get(name);
  }

  /** Bytes of guest RAM at RAM offset `ramOffset` (a view, not a copy). Bounds-checked. */
  ramSlice(ramOffset: number, length: number): Uint8Array {
    if (ramOffset < 0 || length < 0 || ramOffset + length > this.ramBytes) {
      throw new RangeError(`GuestMemory: RAM range ${ramOffset}+${length} outside ${this.ramBytes} bytes`);
    }
    return this.u8.subarray(ramOffset, ramOffset + length);
  }
}
