/**
 * CodeWatch: write tracking for decoded-instruction caches (self-modifying code, DMA).
 *
 * The interpreter caches decoded instructions keyed by their byte offset in the backing
 * store (`GuestMemory.u8`), so a cached instruction is valid exactly as long as the bytes
 * of its backing page are unchanged. Per backing page this class keeps a generation
 * number, which a cache stores with every entry and compares on each hit, and a "holds
 * decoded code" mark, which the cache sets when it decodes from the page. A write to a
 * marked page bumps the generation (every entry decoded from the page becomes stale at
 * once) and clears the mark, so writes to pages that hold no cached code cost one load.
 *
 * The CPU's own stores check the mark in their fast paths. Every other writer of guest
 * memory that bypasses the CPU (device DMA, firmware/ROM loaders, snapshot restore) must
 * call `notifyWrite` after writing, or `invalidateAll` after replacing memory wholesale.
 */

/** Per-page code generations shared by the CPUs of a machine and the writers of its memory. */
export class CodeWatch {
  /** Per backing page (offset >>> 12): generation, bumped on writes to marked pages. */
  readonly pageGen: Int32Array;
  /** Per backing page: 1 while some CPU may hold decoded instructions from the page. */
  readonly codePage: Uint8Array;

  /** @param bytes size of the backing store in bytes */
  constructor(bytes: number) {
    const pages = Math.ceil(bytes / 4096) + 1;
    this.pageGen = new Int32Array(pages);
    this.codePage = new Uint8Array(pages);
  }

  /**
   * Tells the decode caches that `length` bytes at byte offset `offset` of the backing
   * store (`GuestMemory.u8`; for RAM the guest-physical address) were written by
   * something other than a CPU store (DMA, loaders). Cheap when no code was cached there.
   */
  notifyWrite(offset: number, length: number): void {
    if (!(length > 0)) return;
    const codePage = this.codePage;
    const first = Math.max(0, Math.floor(offset / 4096));
    const last = Math.min(codePage.length - 1, Math.floor((offset + length - 1) / 4096));
    for (let p = first; p <= last; p++) {
      if (codePage[p] !== 0) this.pageWritten(p);
    }
  }

  /** Marks backing page `page` as written: drops its decoded instructions. */
  pageWritten(page: number): void {
    this.codePage[page] = 0;
    this.pageGen[page] = (this.pageGen[page] + 1) | 0;
  }

  /** Invalidates every decoded instruction (memory replaced wholesale, e.g. snapshot restore). */
  invalidateAll(): void {
    const codePage = this.codePage;
    for (let p = 0; p < codePage.length; p++) {
      if (codePage[p] !== 0) this.pageWritten(p);
    }
  }
}
