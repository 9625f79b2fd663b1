/**
 * Bulk fast paths of REP MOVS and REP STOS (memcpy, memset, page clearing): the elements
 * that lie on pages already in the TLB with RAM behind them are copied or filled with one
 * typed-array operation on `GuestMemory.u8` instead of one translated access per element.
 *
 * The callers (exec.ts `movs` / `stos`) keep the architectural loop: they ask for at most
 * the elements the current REP chunk, the count register and 16-bit offset wrap-around
 * allow, apply the register updates for the elements done, and run the rest (page
 * crossings, TLB misses, MMIO, overlapping copies that a memmove would get wrong) one
 * element at a time. So a #PF on the next page is raised with ECX/ESI/EDI describing
 * exactly the elements already moved (SDM Vol. 2B MOVS/REP: restartable), attention
 * (pending interrupts) is honoured between chunks as before, and the memory contents are
 * byte-identical to the element-by-element loop.
 */
import type { MemoryCore } from './memory.js';

/** Elements of `size` bytes from linear `lin` on (downwards when `down`) that stay on its 4 KiB page. */
function elementsOnPage(lin: number, size: number, down: boolean): number {
  const o = lin & 0xfff;
  if (o + size > 0x1000) return 0; // the first element itself crosses the page
  return down ? ((o / size) | 0) + 1 : ((0x1000 - o) / size) | 0;
}

/**
 * Elements a 16-bit string offset `off` (SI or DI) can step through, by `size` (downwards
 * when `down`), before it would wrap around 64 KiB.
 */
export function elementsBeforeWrap16(off: number, size: number, down: boolean): number {
  return down ? ((off / size) | 0) + 1 : (((0xffff - off) / size) | 0) + 1;
}

/**
 * Copies up to `max` elements of `size` bytes from linear `src` to linear `dst`, stepping
 * down when `down` (EFLAGS.DF), as REP MOVS does. Returns how many elements it copied:
 * 0 when the first element is not on RAM pages present in the TLB with the needed access
 * rights, or when the ranges overlap such that a sequential copy differs from a memmove.
 */
export function bulkMovs(m: MemoryCore, src: number, dst: number, size: number, max: number, down: boolean): number {
  const sp = src >>> 12, dp = dst >>> 12;
  const flags = m.tlbFlags, rm = m.readMask, wm = m.writeMask;
  if ((flags[sp] & rm) !== rm || (flags[dp] & wm) !== wm) return 0;
  const k = Math.min(max, elementsOnPage(src, size, down), elementsOnPage(dst, size, down));
  if (k <= 0) return 0;
  const span = k * size;
  const so = m.tlbData[sp] + (src & 0xfff), dOff = m.tlbData[dp] + (dst & 0xfff);
  // Lowest byte of each range.
  const sLow = down ? so - span + size : so, dLow = down ? dOff - span + size : dOff;
  // Element-wise copying equals memmove unless the destination runs into source bytes not
  // yet read: ahead of the source going up, behind it going down.
  const overlap = dLow < sLow + span && sLow < dLow + span;
  if (overlap && (down ? dOff < so : dOff > so)) return 0;
  m.u8.copyWithin(dLow, sLow, sLow + span);
  const page = dLow >>> 12;
  if (m.codePage[page] !== 0) m.codeWatch.pageWritten(page);
  return k;
}

/**
 * Stores `value` (the low `size` bytes) into up to `max` elements from linear `dst` on,
 * stepping down when `down`, as REP STOS does. Returns how many elements it stored (0 when
 * the first element is not on a writable RAM page present in the TLB).
 */
export function bulkStos(m: MemoryCore, dst: number, size: number, value: number, max: number, down: boolean): number {
  const dp = dst >>> 12;
  const wm = m.writeMask;
  if ((m.tlbFlags[dp] & wm) !== wm) return 0;
  const k = Math.min(max, elementsOnPage(dst, size, down));
  if (k <= 0) return 0;
  const span = k * size;
  const dOff = m.tlbData[dp] + (dst & 0xfff);
  const low = down ? dOff - span + size : dOff;
  const u8 = m.u8;
  if (size === 1) {
    u8.fill(value, low, low + span);
  } else {
    if (size === 2) m.view.setUint16(low, value, true); else m.view.setInt32(low, value, true);
    // Double the filled prefix until the span is covered.
    for (let done = size; done < span;) {
      const n = Math.min(done, span - done);
      u8.copyWithin(low + done, low, low + n);
      done += n;
    }
  }
  const page = low >>> 12;
  if (m.codePage[page] !== 0) m.codeWatch.pageWritten(page);
  return k;
}
