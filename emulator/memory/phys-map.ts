/**
 * PhysMap: the flattened guest-physical memory map of the low 4 GiB, one entry per
 * 4 KiB page, as seen by the CPU's fast path and by DMA.
 *
 * For each page, `readPage[p]` / `writePage[p]` hold the page index inside
 * GuestMemory.u8 (byte offset = index * 4096) when the access can go straight to the
 * backing store, or -1 when it must take the slow path through `mmioRead`/`mmioWrite`
 * (MMIO, or writes to ROM, which are then dropped by the owner). The AddressSpace
 * (region tree) rebuilds these tables whenever the layout changes (PAM, PCI BARs).
 *
 * `codeVersion` is bumped for a page on every write the slow path sees and whenever
 * a mapping changes, so a decode cache can detect self-modifying code and remaps.
 */

/** Number of 4 KiB pages in 4 GiB. */
export const PHYS_PAGES = 1 << 20;

/** Slow-path handler for accesses that do not hit the backing store directly. */
export interface MmioDispatch {
  mmioRead(gpa: number, size: 1 | 2 | 4): number;
  mmioWrite(gpa: number, size: 1 | 2 | 4, value: number): void;
}

/** The per-page map. Owned by one machine. */
export class PhysMap {
  /** Backing-store page index for reads, or -1 for the slow path. */
  readonly readPage = new Int32Array(PHYS_PAGES).fill(-1);
  /** Backing-store page index for writes, or -1 for the slow path. */
  readonly writePage = new Int32Array(PHYS_PAGES).fill(-1);
  /** Incremented whenever a page's mapping changes; lets the CPU drop stale TLB/decode entries. */
  generation = 0;

  /** Maps `count` pages starting at guest page `gpaPage` onto backing pages starting at `backingPage`. */
  map(gpaPage: number, count: number, backingPage: number, writable: boolean): void {
    for (let i = 0; i < count; i++) {
      this.readPage[gpaPage + i] = backingPage + i;
      this.writePage[gpaPage + i] = writable ? backingPage + i : -1;
    }
    this.generation++;
  }

  /** Sends `count` pages starting at `gpaPage` to the slow path (MMIO or unmapped). */
  unmap(gpaPage: number, count: number): void {
    this.readPage.fill(-1, gpaPage, gpaPage + count);
    this.writePage.fill(-1, gpaPage, gpaPage + count);
    this.generation++;
  }
}
