/**
 * Debug registers DR0-DR3 / DR6 / DR7: instruction breakpoints, data write and data
 * read/write breakpoints of 1, 2, 4 (and 8) bytes, and the DR6 status bits.
 *
 * Follows Intel SDM Vol. 3B ch. 17: 17.2.4 (DR7: L0-L3/G0-G3 enables, R/W0-R/W3 00 =
 * instruction, 01 = data write, 11 = data read or write, 10 = I/O (not supported here:
 * never matches), LEN0-LEN3 00/01/11/10 = 1/2/4/8 bytes, the address aligned down to the
 * length; GD), 17.2.3 (DR6: B0-B3, BD, BS), 17.3.1 (instruction breakpoints are faults
 * checked before the instruction unless EFLAGS.RF is set; data breakpoints are traps
 * reported after the instruction; general detect is a fault on MOV DRn while DR7.GD is
 * set). As QEMU does, a #DB raised for breakpoints replaces B0-B3 with the breakpoints hit.
 *
 * Cost: nothing while no breakpoint is enabled in DR7. With breakpoints enabled the CPU
 * runs one instruction at a time (cpu.ts), checking instruction breakpoints before each;
 * data breakpoints keep the pages they watch out of the TLB's RAM fast path (memory.ts
 * `tlbInsert`), so only accesses to those pages reach `watchHits`.
 */

/** DR7.GD and the DR6 bits BD (general detect) and BS (single step). */
export const DR7_GD = 0x2000, DR6_BD = 0x2000, DR6_BS = 0x4000;

/** The enabled data breakpoints in a form the memory slow path checks quickly. */
export class DataWatch {
  /** At least one data breakpoint is enabled. */
  active = false;
  /** Number of entries used. */
  count = 0;
  /** Per entry: first byte (aligned to the length), last byte, DR index, 1 = writes only. */
  readonly first = new Int32Array(4);
  readonly last = new Int32Array(4);
  readonly index = new Uint8Array(4);
  readonly writesOnly = new Uint8Array(4);
}

/** Bytes covered by LEN field value `len` (SDM Table 17-2; 10b = 8 bytes). */
function lengthOf(len: number): number {
  return len === 0 ? 1 : len === 1 ? 2 : len === 3 ? 4 : 8;
}

/** Whether breakpoint `i` is enabled locally or globally in `dr7`. */
function enabled(dr7: number, i: number): boolean {
  return ((dr7 >> (i * 2)) & 3) !== 0;
}

/** True when DR7 enables any breakpoint (the CPU then steps instruction by instruction). */
export function breakpointsEnabled(dr7: number): boolean {
  return (dr7 & 0xff) !== 0;
}

/** Rebuilds `w` from DR0-DR3 and DR7. */
export function configureWatch(w: DataWatch, dr: Int32Array): void {
  const dr7 = dr[7];
  w.count = 0;
  for (let i = 0; i < 4; i++) {
    if (!enabled(dr7, i)) continue;
    const rw = (dr7 >>> (16 + i * 4)) & 3;
    if (rw !== 1 && rw !== 3) continue;
    const len = lengthOf((dr7 >>> (18 + i * 4)) & 3);
    const first = (dr[i] & ~(len - 1)) >>> 0;
    const n = w.count++;
    w.first[n] = first;
    w.last[n] = first + len - 1;
    w.index[n] = i;
    w.writesOnly[n] = rw === 1 ? 1 : 0;
  }
  w.active = w.count > 0;
}

/** B0-B3 bits of the data breakpoints an access of `size` bytes at linear `lin` hits. */
export function watchHits(w: DataWatch, lin: number, size: number, write: boolean): number {
  const a = lin >>> 0, b = a + size - 1;
  let hits = 0;
  for (let n = 0; n < w.count; n++) {
    if (w.writesOnly[n] !== 0 && !write) continue;
    if (a <= (w.last[n] >>> 0) && (w.first[n] >>> 0) <= b) hits |= 1 << w.index[n];
  }
  return hits;
}

/** Whether linear page `page` holds a byte some enabled data breakpoint watches. */
export function watchesPage(w: DataWatch, page: number): boolean {
  for (let n = 0; n < w.count; n++) {
    if ((w.first[n] >>> 12) === page || (w.last[n] >>> 12) === page) return true;
  }
  return false;
}

/** B0-B3 bits of the enabled instruction breakpoints at linear address `lin`. */
export function instructionHits(dr: Int32Array, lin: number): number {
  const dr7 = dr[7];
  let hits = 0;
  for (let i = 0; i < 4; i++) {
    if (enabled(dr7, i) && ((dr7 >>> (16 + i * 4)) & 3) === 0 && dr[i] === (lin | 0)) hits |= 1 << i;
  }
  return hits;
}
