/**
 * Segment checks on ordinary data accesses (and the alignment check, which rides on the
 * same switch): limit (expand-up and expand-down), null selector, type (write to a
 * read-only data or code segment, read of an execute-only code segment) and #AC.
 *
 * Follows Intel SDM Vol. 3A 5.3 (limit checking: "the whole access must lie within the
 * segment"; expand-down segments, whose valid offsets run from limit + 1 to 0xFFFF or
 * 0xFFFFFFFF by the B flag), 5.4-5.5 (type checking; the null selector), 6.15 #GP/#SS
 * (#SS(0) for a limit violation through SS, #GP(0) otherwise; in real and v86 mode the
 * cached limit applies too, so "unreal mode" segments with a 4 GiB limit stay usable while
 * a word at offset 0xFFFF of an ordinary real-mode segment faults) and 6.15 #AC with
 * Table 6-7 (CR0.AM, EFLAGS.AC and CPL 3; an operand of 2, 4 or 8 bytes at an address that
 * is not a multiple of its size).
 *
 * Speed: nothing is checked per access for a segment whose `segChkMask` entry is 0. That is
 * the case for a protected-mode writable expand-up data segment with a 4 GiB limit while
 * alignment checking is off (the base does not matter: a 4 GiB expand-up limit never
 * faults, so Linux's per-CPU FS and TLS GS segments count as "flat" here). `segChkMask` is
 * recomputed whenever a segment cache, the mode, the CPL, CR0.AM or EFLAGS.AC changes;
 * the access paths (ModRM operands in exec.ts, the decoded-instruction handlers, the stack,
 * string instructions) test that one byte and call `checkSeg` only when it is set.
 * Leaves out: limit checks on instruction fetch (CS), on the pushes of an interrupt or call
 * gate onto a new inner stack, and on MASKMOVQ/MASKMOVDQU; #AC for x87/SSE operands.
 */
import { AC, CR0_AM, EXC_AC, EXC_GP, EXC_SS, SS } from './state.js';
import { MemoryCore } from './memory.js';

/** segAttr bits: present, code/data (S), code, expand-down (data) / conforming (code), writable (data) / readable (code), B/D. */
const A_P = 0x80, A_S = 0x10, A_CODE = 0x08, A_ED = 0x04, A_RW = 0x02, A_B = 0x4000;

/** The segment-check layer between the memory core and the system layer. */
export class SegmentCheckCore extends MemoryCore {
  /** Protected mode (CR0.PE) and virtual-8086 mode (EFLAGS.VM), cached. */
  pe = false;
  vm86 = false;
  /** Bit `seg` (ES..GS) set when accesses through that segment must be checked (see the file comment). */
  segChkMask = 0;
  /** Alignment checking is on: CR0.AM, EFLAGS.AC and CPL 3 (SDM Vol. 3A 6.15, #AC). */
  alignCheck = false;

  /** Recomputes bit `seg` of `segChkMask` from the segment cache and the mode. */
  refreshSegCheck(seg: number): void {
    let chk: boolean;
    const attr = this.segAttr[seg], limit = this.segLimit[seg];
    if (this.alignCheck) chk = true;
    else if (!this.pe || this.vm86) chk = limit !== -1;
    else chk = (attr & (A_P | A_S | A_CODE | A_ED | A_RW)) !== (A_P | A_S | A_RW) || limit !== -1;
    if (chk) this.segChkMask |= 1 << seg; else this.segChkMask &= ~(1 << seg);
  }

  /** Recomputes `segChkMask` for all six segment registers. */
  refreshSegChecks(): void {
    for (let s = 0; s < 6; s++) this.refreshSegCheck(s);
  }

  /** Re-evaluates whether alignment checking is on (after CR0, EFLAGS or CPL changes). */
  updateAlignCheck(): void {
    const on = (this.cr0 & CR0_AM) !== 0 && (this.flags & AC) !== 0 && this.cpl === 3;
    if (on !== this.alignCheck) {
      this.alignCheck = on;
      this.refreshSegChecks();
    }
  }

  /**
   * Checks an access of `size` bytes at offset `off` of segment `seg` (a write when
   * `write`); raises #GP(0), #SS(0) or #AC(0). Only called when bit `seg` of `segChkMask` is set.
   */
  checkSeg(seg: number, off: number, size: number, write: boolean): void {
    this.checkSegAccess(seg, off, size, write);
    if (this.alignCheck && size > 1 && ((this.segBase[seg] + off) & (size - 1)) !== 0) this.raise(EXC_AC, 0);
  }

  /** The limit, type and null-selector part of `checkSeg` (no alignment check). */
  checkSegAccess(seg: number, off: number, size: number, write: boolean): void {
    const attr = this.segAttr[seg], limit = this.segLimit[seg] >>> 0;
    const first = off >>> 0, last = first + size - 1;
    const vector = seg === SS ? EXC_SS : EXC_GP;
    if (this.pe && !this.vm86) {
      if ((attr & A_P) === 0 || (attr & A_S) === 0) this.raise(vector, 0); // null (unusable) segment
      if (attr & A_CODE) {
        if (write || (attr & A_RW) === 0) this.raise(EXC_GP, 0);
        if (last > limit) this.raise(vector, 0);
      } else {
        if (write && (attr & A_RW) === 0) this.raise(vector, 0);
        if (attr & A_ED) {
          const upper = (attr & A_B) !== 0 ? 0xffffffff : 0xffff;
          if (first <= limit || last > upper) this.raise(vector, 0);
        } else if (last > limit) {
          this.raise(vector, 0);
        }
      }
    } else if (last > limit) {
      this.raise(vector, 0);
    }
  }

  /** Linear address of `seg`:`off` for an access of `size` bytes, checked when the segment needs it. */
  segLin(seg: number, off: number, size: number, write: boolean): number {
    if (((this.segChkMask >> seg) & 1) !== 0) this.checkSeg(seg, off, size, write);
    return (this.segBase[seg] + off) | 0;
  }

  /**
   * How many consecutive elements of `size` bytes from offset `off` (downwards when
   * `down`) a string instruction may move through `seg` without a segment fault, for the
   * bulk paths (string-bulk.ts); `Infinity` when the segment is not checked, 0 when the
   * element-by-element path must decide (expand-down, type faults, alignment checking).
   */
  segElements(seg: number, off: number, size: number, down: boolean, write: boolean): number {
    if (((this.segChkMask >> seg) & 1) === 0) return Infinity;
    if (this.alignCheck) return 0;
    const attr = this.segAttr[seg], limit = this.segLimit[seg] >>> 0;
    if (this.pe && !this.vm86 && (attr & (A_P | A_S | A_CODE | A_ED | (write ? A_RW : 0))) !== (A_P | A_S | (write ? A_RW : 0))) return 0;
    const first = off >>> 0;
    if (first + size - 1 > limit) return 0;
    return down ? Math.floor(first / size) + 1 : Math.floor((limit - first + 1) / size);
  }
}
