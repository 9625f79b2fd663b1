/**
 * Handlers of the specialised decoded-instruction forms (decode-cache.ts `specialise`):
 * the 32-bit register/memory shapes of MOV, ALU, TEST, LEA, MOVZX and SHL/SHR/SAR by an
 * immediate, which make up most of what 32-bit guests run (the hottest of them, MOV
 * r,[m] / [m],r / r,r and ALU r,r / r,imm, are written out in the hot loop itself). Each handler knows its operand
 * shape from the handler number, so it tests no operand bits, and the read-modify-write
 * forms translate their memory operand once (one TLB look-up for the read and the write).
 *
 * Every handler does what the generic record handler of exec-cached.ts (and so the legacy
 * handler of exec.ts) does for the same instruction: same reads, probes, writes and lazy
 * flags, in the same order. Record word offsets and operand bits are literals here for the
 * reason given in exec-cached.ts (decode-cache.test.ts checks them).
 */
import { Executor0F } from './exec-0f.js';
import { DC_ENTRIES, DC_STRIDE } from './decode-cache.js';

const MSB32 = 0x80000000 | 0;
/** EFLAGS.OF. */
const OF = 0x800;

/** Operand addressing and the specialised handlers shared by the hot loop. */
export abstract class FastFormExecutor extends Executor0F {
  /** The decoded-instruction records (see decode-cache.ts for the layout). */
  readonly dc = new Int32Array(DC_ENTRIES * DC_STRIDE).fill(-1);

  /** Offset (within its segment) of the memory operand of packed operand word `a`. */
  protected cOffset(a: number, disp: number): number {
    let off = disp;
    const b = (a >>> 8) & 15;
    if (b !== 8) off += this.r32[b];
    const x = (a >>> 12) & 15;
    if (x !== 8) off += this.r32[x] << ((a >>> 16) & 3);
    return (a & 0x400000 /* F_A16 */) !== 0 ? off & 0xffff : off | 0;
  }

  /**
   * Linear address of the memory operand of the record at word index `s` of `dc`, for an
   * access of `size` bytes (a write when `write`): the segment is checked first when it
   * needs it (segment-checks.ts), as the legacy operand accessors do.
   */
  protected cLin(s: number, size: number, write: boolean): number {
    const a = this.dc[s + 4], seg = (a >>> 18) & 7;
    const off = this.cOffset(a, this.dc[s + 5]);
    if (((this.segChkMask >> seg) & 1) !== 0) this.checkSeg(seg, off, size, write);
    return (this.segBase[seg] + off) | 0;
  }

  /** MOVZX r32, byte [mem]. */
  protected fLdzx8(s: number): void {
    this.r32[this.dc[s + 4] & 7] = this.readU8(this.cLin(s, 1, false));
  }

  /** MOVZX r32, word [mem]. */
  protected fLdzx16(s: number): void {
    this.r32[this.dc[s + 4] & 7] = this.readU16(this.cLin(s, 2, false));
  }

  /** ALU r32, [mem]. */
  protected fAluRM(s: number): void {
    const a = this.dc[s + 4], sub = (a >>> 4) & 15, d = a & 7;
    const r = this.alu(sub, this.r32[d], this.readU32(this.cLin(s, 4, false)), MSB32);
    if (sub !== 7) this.r32[d] = r;
  }

  /** ALU [mem], r32. */
  protected fAluMR(s: number): void {
    const a = this.dc[s + 4], sub = (a >>> 4) & 15;
    this.aluMem32(sub, this.cLin(s, 4, sub !== 7), this.r32[a & 7]);
  }

  /** ALU [mem], imm. */
  protected fAluMI(s: number): void {
    const sub = (this.dc[s + 4] >>> 4) & 15;
    this.aluMem32(sub, this.cLin(s, 4, sub !== 7), this.dc[s + 6]);
  }

  /**
   * `[lin] = [lin] op b` (32 bits; CMP only reads). With the page writable in the TLB the
   * dword is read and written in place; otherwise as the generic path: probe, read, write.
   */
  private aluMem32(sub: number, lin: number, b: number): void {
    if (sub === 7) { this.alu(7, this.readU32(lin), b, MSB32); return; }
    const p = lin >>> 12;
    if ((lin & 0xfff) <= 0xffc && (this.tlbFlags[p] & this.writeMask) === this.writeMask) {
      const o = this.tlbData[p] + (lin & 0xfff);
      const view = this.view;
      view.setInt32(o, this.alu(sub, view.getInt32(o, true), b, MSB32), true);
      if (this.codePage[o >>> 12] !== 0) this.codeWatch.pageWritten(o >>> 12);
      return;
    }
    this.probeWrite(lin, 4);
    this.writeU32(lin, this.alu(sub, this.readU32(lin), b, MSB32));
  }

  /** TEST r32, r32. */
  protected fTestRR(s: number): void {
    const a = this.dc[s + 4];
    this.alu(4, this.r32[(a >>> 8) & 7], this.r32[a & 7], MSB32);
  }

  /** LEA r32 with 32-bit addressing. */
  protected fLea32(s: number): void {
    const a = this.dc[s + 4], r32 = this.r32;
    let off = this.dc[s + 5];
    const b = (a >>> 8) & 15;
    if (b !== 8) off += r32[b];
    const x = (a >>> 12) & 15;
    if (x !== 8) off += r32[x] << ((a >>> 16) & 3);
    r32[a & 7] = off;
  }

  /** SHL r32, imm (count 1-31), flags as `shift()`. */
  protected fShlRI(s: number): void {
    const e = (this.dc[s + 4] >>> 8) & 7, c = this.dc[s + 6];
    const v = this.r32[e];
    const last = v << (c - 1), r = v << c;
    this.r32[e] = r;
    this.lazyResult(r, MSB32, (last >>> 31) | ((last ^ r) < 0 ? OF : 0));
  }

  /** SHR r32, imm (count 1-31), flags as `shift()`. */
  protected fShrRI(s: number): void {
    const e = (this.dc[s + 4] >>> 8) & 7, c = this.dc[s + 6];
    const v = this.r32[e];
    const last = v >>> (c - 1), r = (v >>> c) | 0;
    this.r32[e] = r;
    this.lazyResult(r, MSB32, (last & 1) | ((last ^ r) < 0 ? OF : 0));
  }

  /** SAR r32, imm (count 1-31), flags as `shift()`. */
  protected fSarRI(s: number): void {
    const e = (this.dc[s + 4] >>> 8) & 7, c = this.dc[s + 6];
    const v = this.r32[e];
    const r = v >> c;
    this.r32[e] = r;
    this.lazyResult(r, MSB32, (v >> (c - 1)) & 1);
  }
}
