/**
 * System layer of the interpreter: segment loading with descriptor checks, stack
 * helpers, interrupt/exception delivery (real mode IVT, protected-mode interrupt/trap/task
 * gates with stack switch through the TSS, v86), far CALL/JMP/RET through call gates, IRET
 * (same level, outer level, to v86, nested task return), hardware task switching with
 * 32-bit and 16-bit TSSes (also as the source of the inner stack), and the I/O permission
 * check.
 *
 * Follows Intel SDM Vol. 3A ch. 3 (segmentation), ch. 5 (protection: 5.8 call gates),
 * ch. 6 (interrupts: 6.12 handler procedures and tasks, 6.13 error codes), ch. 7 (task
 * management), ch. 20 (v86 mode), Vol. 1 §18.5 (I/O permission bitmap), Vol. 2 pseudo-code
 * of CALL, JMP, RET, IRET, INT n, LAR/LSL. VME/PVI live in vme.ts. Stack accesses are checked
 * against SS (segment-checks.ts) except the pushes onto a new inner stack.
 */
import {
  AC, CR0_PE, CR0_PG, CR0_TS, CS, DS, ES, EXC_GP, EXC_NP, EXC_SS, EXC_TS, FS, GS, IF, IOPL, LDTR, NT, RF, SS,
  TF, TR, VM, ESP, VIF, VIP,
} from './state.js';
import { SegmentCheckCore } from './segment-checks.js';
import { vmeFlagsVirtual, vmeIret16 } from './vme.js';

/** Kind of control transfer that started a task switch. */
export const SWITCH_JMP = 0, SWITCH_CALL = 1, SWITCH_IRET = 2, SWITCH_INT = 3;

/** Segment attribute helpers (segAttr layout: access byte | flags nibble << 12). */
const ATTR_P = 0x80, ATTR_S = 0x10, ATTR_D = 0x4000;

/** Protection/segmentation/interrupt logic. */
export class SystemCore extends SegmentCheckCore {
  /** Descriptor scratch (set by readDescriptor). */
  descLo = 0;
  descHi = 0;
  /** Whether an exception currently delivered is from an external source (EXT bit of error codes). */
  protected extInt = 0;

  // ------------------------------------------------------------------ stack

  /** Pushes 16 bits on SS:SP. */
  push16(v: number): void {
    const sp = (this.r32[ESP] - 2) & this.spMask;
    if ((this.segChkMask & 4) !== 0) this.checkSeg(SS, sp, 2, true);
    this.writeU16((this.segBase[SS] + sp) | 0, v);
    if (this.ss32) this.r32[ESP] = sp; else this.r16[ESP * 2] = sp;
  }

  /** Pushes 32 bits on SS:SP. */
  push32(v: number): void {
    const sp = (this.r32[ESP] - 4) & this.spMask;
    if ((this.segChkMask & 4) !== 0) this.checkSeg(SS, sp, 4, true);
    this.writeU32((this.segBase[SS] + sp) | 0, v);
    if (this.ss32) this.r32[ESP] = sp; else this.r16[ESP * 2] = sp;
  }

  /** Pops 16 bits. */
  pop16(): number {
    const sp = this.r32[ESP] & this.spMask;
    if ((this.segChkMask & 4) !== 0) this.checkSeg(SS, sp, 2, false);
    const v = this.readU16((this.segBase[SS] + sp) | 0);
    if (this.ss32) this.r32[ESP] = sp + 2; else this.r16[ESP * 2] = sp + 2;
    return v;
  }

  /** Pops 32 bits. */
  pop32(): number {
    const sp = this.r32[ESP] & this.spMask;
    if ((this.segChkMask & 4) !== 0) this.checkSeg(SS, sp, 4, false);
    const v = this.readU32((this.segBase[SS] + sp) | 0);
    if (this.ss32) this.r32[ESP] = sp + 4; else this.r16[ESP * 2] = sp + 4;
    return v;
  }

  /** Reads the stack at SP + `offset` without popping. */
  peekStack(offset: number, size: number): number {
    const lin = this.segLin(SS, (this.r32[ESP] + offset) & this.spMask, size, false);
    return size === 4 ? this.readU32(lin) : this.readU16(lin);
  }

  /** Adds `n` to the stack pointer honouring the stack size. */
  adjustSp(n: number): void {
    if (this.ss32) this.r32[ESP] = this.r32[ESP] + n; else this.r16[ESP * 2] = this.r16[ESP * 2] + n;
  }

  // ------------------------------------------------------------------ flags with privilege rules

  /** Writes EFLAGS from POPF/IRET honouring which bits the current mode may change. */
  writeFlags(v: number, mask: number): void {
    const cur = this.getFlags();
    this.flags = ((cur & ~mask) | (v & mask) | 2) & ~0xffc08028;
    this.flags |= 2;
    this.flagsDirty = 0;
    this.updateAlignCheck();
  }

  /** The EFLAGS bits POPF may change at the current privilege level (SDM POPF). */
  popfMask(size32: boolean): number {
    let m = 0x3f7fd5 & ~(VM | RF | 0x180000); // CF PF AF ZF SF TF IF DF OF IOPL NT AC ID (no VM/RF/VIF/VIP)
    if (this.pe && !this.vm86) {
      if (this.cpl > 0) m &= ~IOPL;
      if (this.cpl > ((this.flags & IOPL) >> 12)) m &= ~IF;
    } else if (this.vm86) {
      m &= ~IOPL;
    }
    if (!size32) m &= 0xffff;
    return m;
  }

  // ------------------------------------------------------------------ descriptors

  /** Reads the descriptor for `sel` into descLo/descHi. Returns false when outside the table. */
  readDescriptor(sel: number): boolean {
    let base: number, limit: number;
    if (sel & 4) {
      if ((this.segAttr[LDTR] & ATTR_P) === 0) return false;
      base = this.segBase[LDTR]; limit = this.segLimit[LDTR];
    } else {
      base = this.gdtBase; limit = this.gdtLimit;
    }
    const off = sel & 0xfff8;
    if (off + 7 > (limit >>> 0)) return false;
    this.descLo = this.sysRead32((base + off) | 0);
    this.descHi = this.sysRead32((base + off + 4) | 0);
    return true;
  }

  /** Sets the accessed bit of a code/data descriptor (already read into descHi). */
  private setAccessed(sel: number): void {
    if (this.descHi & 0x100) return;
    this.descHi |= 0x100;
    const base = sel & 4 ? this.segBase[LDTR] : this.gdtBase;
    this.sysWrite8((base + (sel & 0xfff8) + 5) | 0, (this.descHi >> 8) & 0xff);
  }

  /** Loads a segment cache from descLo/descHi. */
  loadCache(seg: number, sel: number, lo: number, hi: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    let limit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & 0x800000) limit = (limit << 12) | 0xfff;
    this.segLimit[seg] = limit;
    this.segAttr[seg] = (hi >>> 8) & 0xf0ff;
    if (seg === SS) this.updateStackSize();
    else if (seg === CS) this.cs32 = (this.segAttr[CS] & ATTR_D) !== 0;
    if (seg < 6) this.refreshSegCheck(seg);
  }

  /** Recomputes the SS.B-derived stack pointer mask. */
  protected updateStackSize(): void {
    this.ss32 = (this.segAttr[SS] & ATTR_D) !== 0;
    this.spMask = this.ss32 ? -1 : 0xffff;
  }

  /** Real-mode / v86 segment load: base = selector * 16. */
  loadSegReal(seg: number, sel: number): void {
    sel &= 0xffff;
    this.segSel[seg] = sel;
    this.segBase[seg] = sel << 4;
    if (this.vm86) {
      this.segLimit[seg] = 0xffff;
      this.segAttr[seg] = seg === CS ? 0xfb : 0xf3;
    } else if (this.segAttr[seg] === 0) {
      this.segAttr[seg] = seg === CS ? 0x9b : 0x93;
    }
    if (seg === SS) this.updateStackSize();
    else if (seg === CS) this.cs32 = (this.segAttr[CS] & ATTR_D) !== 0;
    this.refreshSegCheck(seg);
  }

  /** MOV/POP/LxS to a data or stack segment register (SDM MOV, "Operation" for protected mode). */
  loadSeg(seg: number, sel: number): void {
    sel &= 0xffff;
    if (!this.pe || this.vm86) { this.loadSegReal(seg, sel); return; }
    const rpl = sel & 3;
    if ((sel & 0xfffc) === 0) {
      if (seg === SS) this.raise(EXC_GP, 0);
      this.segSel[seg] = sel; this.segBase[seg] = 0; this.segLimit[seg] = 0; this.segAttr[seg] = 0;
      this.refreshSegCheck(seg);
      return;
    }
    if (!this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
    const hi = this.descHi;
    const type = (hi >> 8) & 0x1f;
    const dpl = (hi >> 13) & 3;
    if (seg === SS) {
      if (rpl !== this.cpl || dpl !== this.cpl || (type & 0x1a) !== 0x12) this.raise(EXC_GP, sel & 0xfffc);
      if (!(hi & 0x8000)) this.raise(EXC_SS, sel & 0xfffc);
    } else {
      if (!(type & ATTR_S) || (type & 0x0a) === 0x08) this.raise(EXC_GP, sel & 0xfffc); // system or execute-only code
      const conformingCode = (type & 0x0c) === 0x0c;
      if (!conformingCode && dpl < Math.max(this.cpl, rpl)) this.raise(EXC_GP, sel & 0xfffc);
      if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
    }
    this.setAccessed(sel);
    this.loadCache(seg, sel, this.descLo, this.descHi);
  }

  /** Makes CS hold `sel` (with RPL forced to `cpl`) from descLo/descHi and switches privilege. */
  protected setCS(sel: number, lo: number, hi: number, cpl: number): void {
    this.loadCache(CS, (sel & 0xfffc) | cpl, lo, hi);
    this.setCpl(cpl);
  }

  /** Changes the current privilege level. */
  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.updateAccessMasks();
    this.updateAlignCheck();
  }

  /** Checks a code-segment descriptor for a far transfer; raises #GP/#NP. */
  private checkCodeDesc(sel: number, hi: number): void {
    const type = (hi >> 8) & 0x1f;
    if ((type & 0x18) !== 0x18) this.raise(EXC_GP, sel & 0xfffc);
    if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
  }

  /** Reads the inner stack SS:ESP for privilege `dpl` from the current 32-bit TSS. */
  private tssStack(dpl: number): void {
    const base = this.segBase[TR];
    const is32 = ((this.segAttr[TR] & 0xf) & 8) !== 0;
    if (is32) {
      const off = 4 + dpl * 8;
      if (off + 5 > (this.segLimit[TR] >>> 0)) this.raise(EXC_TS, this.segSel[TR] & 0xfffc);
      this.tmpEsp = this.sysRead32((base + off) | 0);
      this.tmpSs = this.sysRead16((base + off + 4) | 0);
    } else {
      const off = 2 + dpl * 4;
      if (off + 3 > (this.segLimit[TR] >>> 0)) this.raise(EXC_TS, this.segSel[TR] & 0xfffc);
      this.tmpEsp = this.sysRead16((base + off) | 0);
      this.tmpSs = this.sysRead16((base + off + 2) | 0);
    }
  }
  private tmpEsp = 0;
  private tmpSs = 0;

  /** Validates a new inner SS for privilege `dpl` (#TS); leaves its descriptor in descLo/descHi. */
  private checkInnerSS(ss: number, dpl: number): void {
    if ((ss & 0xfffc) === 0) this.raise(EXC_TS, this.extInt);
    if (!this.readDescriptor(ss)) this.raise(EXC_TS, (ss & 0xfffc) | this.extInt);
    const hi = this.descHi;
    if ((ss & 3) !== dpl || ((hi >> 13) & 3) !== dpl || (((hi >> 8) & 0x1a) !== 0x12)) this.raise(EXC_TS, (ss & 0xfffc) | this.extInt);
    if (!(hi & 0x8000)) this.raise(EXC_SS, (ss & 0xfffc) | this.extInt);
  }

  /** Writes to a stack being built at (base, sp) with the given stack mask; supervisor when `sys`. */
  private stackPush(base: number, sp: number, mask: number, v: number, size: number, sys: boolean): number {
    sp = (sp - size) & mask;
    const lin = (base + sp) | 0;
    if (size === 4) { if (sys) this.sysWrite32(lin, v); else this.writeU32(lin, v); }
    else if (sys) this.sysWrite16(lin, v); else this.writeU16(lin, v);
    return sp;
  }

  // ------------------------------------------------------------------ interrupts

  /**
   * Delivers interrupt `vector`. `soft` = INT n / INT3 / INTO (gate DPL checked, v86 IOPL
   * check); `errorCode` < 0 when none. EIP must already hold the return address.
   */
  deliverInterrupt(vector: number, soft: boolean, errorCode: number): void {
    if (!this.pe) {
      const off = vector * 4;
      if (off + 3 > (this.idtLimit >>> 0)) this.raise(EXC_GP, vector * 8 + 2);
      const ip = this.readU16((this.idtBase + off) | 0);
      const cs = this.readU16((this.idtBase + off + 2) | 0);
      this.push16(this.getFlags());
      this.push16(this.segSel[CS]);
      this.push16(this.eip);
      this.flags &= ~(IF | TF | AC | RF);
      this.loadSegReal(CS, cs);
      this.eip = ip;
      return;
    }
    const ext = soft ? 0 : this.extInt;
    if (this.vm86 && soft && ((this.flags & IOPL) >> 12) < 3) this.raise(EXC_GP, 0);
    if (vector * 8 + 7 > (this.idtLimit >>> 0)) this.raise(EXC_GP, vector * 8 + 2 + ext);
    const lo = this.sysRead32((this.idtBase + vector * 8) | 0);
    const hi = this.sysRead32((this.idtBase + vector * 8 + 4) | 0);
    const type = (hi >> 8) & 0x1f;
    if (type !== 5 && type !== 6 && type !== 7 && type !== 0xe && type !== 0xf) this.raise(EXC_GP, vector * 8 + 2 + ext);
    if (soft && ((hi >> 13) & 3) < this.cpl) this.raise(EXC_GP, vector * 8 + 2);
    if (!(hi & 0x8000)) this.raise(EXC_NP, vector * 8 + 2 + ext);
    if (type === 5) {
      const tss = lo >>> 16;
      if (!this.readDescriptor(tss) || (tss & 4)) this.raise(EXC_GP, (tss & 0xfffc) + ext);
      this.taskSwitch(tss, this.descLo, this.descHi, SWITCH_INT);
      if (errorCode >= 0) {
        // The error code is pushed at the new task's TSS size (QEMU does the same).
        if (this.segAttr[TR] & 8) this.push32(errorCode); else this.push16(errorCode);
      }
      return;
    }
    const gate32 = (type & 8) !== 0;
    const sel = lo >>> 16;
    const offset = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) : (lo & 0xffff);
    if ((sel & 0xfffc) === 0) this.raise(EXC_GP, ext);
    if (!this.readDescriptor(sel)) this.raise(EXC_GP, (sel & 0xfffc) + ext);
    const clo = this.descLo, chi = this.descHi;
    const dpl = (chi >> 13) & 3;
    if (((chi >> 8) & 0x18) !== 0x18 || dpl > this.cpl) this.raise(EXC_GP, (sel & 0xfffc) + ext);
    if (!(chi & 0x8000)) this.raise(EXC_NP, (sel & 0xfffc) + ext);
    const flags = this.getFlags();
    const size = gate32 ? 4 : 2;
    const conforming = (chi & 0x400) !== 0;
    if (!conforming && dpl < this.cpl) {
      // Inner privilege: switch to the TSS stack of `dpl`.
      if (this.vm86 && dpl !== 0) this.raise(EXC_GP, (sel & 0xfffc) + ext);
      this.tssStack(dpl);
      const newSs = this.tmpSs, newEsp = this.tmpEsp;
      this.checkInnerSS(newSs, dpl);
      const slo = this.descLo, shi = this.descHi;
      const sbase = (slo >>> 16) | ((shi & 0xff) << 16) | (shi & 0xff000000);
      const smask = shi & 0x400000 ? -1 : 0xffff;
      const sys = dpl < 3;
      let sp = newEsp;
      if (this.vm86) {
        sp = this.stackPush(sbase, sp, smask, this.segSel[GS], size, sys);
        sp = this.stackPush(sbase, sp, smask, this.segSel[FS], size, sys);
        sp = this.stackPush(sbase, sp, smask, this.segSel[DS], size, sys);
        sp = this.stackPush(sbase, sp, smask, this.segSel[ES], size, sys);
      }
      sp = this.stackPush(sbase, sp, smask, this.segSel[SS], size, sys);
      sp = this.stackPush(sbase, sp, smask, this.r32[ESP], size, sys);
      sp = this.stackPush(sbase, sp, smask, flags, size, sys);
      sp = this.stackPush(sbase, sp, smask, this.segSel[CS], size, sys);
      sp = this.stackPush(sbase, sp, smask, this.eip, size, sys);
      if (errorCode >= 0) sp = this.stackPush(sbase, sp, smask, errorCode, size, sys);
      // Commit.
      if (this.vm86) {
        for (const s of [ES, DS, FS, GS]) { this.segSel[s] = 0; this.segBase[s] = 0; this.segLimit[s] = 0; this.segAttr[s] = 0; }
        this.vm86 = false;
        this.refreshSegChecks();
      }
      this.setCS(sel, clo, chi, dpl);
      this.loadCache(SS, (newSs & 0xfffc) | dpl, slo, shi);
      if (this.ss32) this.r32[ESP] = sp; else this.r32[ESP] = (this.r32[ESP] & ~0xffff) | (sp & 0xffff);
    } else {
      if (this.vm86) this.raise(EXC_GP, (sel & 0xfffc) + ext);
      let sp = this.r32[ESP];
      const sys = this.cpl < 3;
      sp = this.stackPush(this.segBase[SS], sp, this.spMask, flags, size, sys);
      sp = this.stackPush(this.segBase[SS], sp, this.spMask, this.segSel[CS], size, sys);
      sp = this.stackPush(this.segBase[SS], sp, this.spMask, this.eip, size, sys);
      if (errorCode >= 0) sp = this.stackPush(this.segBase[SS], sp, this.spMask, errorCode, size, sys);
      this.setCS(sel, clo, chi, this.cpl);
      if (this.ss32) this.r32[ESP] = sp; else this.r16[ESP * 2] = sp;
    }
    this.flags &= ~(TF | NT | VM | RF);
    if (!(type & 1)) this.flags &= ~IF;
    this.eip = offset;
  }

  // ------------------------------------------------------------------ far transfers

  /** Far JMP to sel:offset (protected mode path handles gates and TSS). */
  farJump(sel: number, offset: number, size32: boolean): void {
    if (!this.pe || this.vm86) {
      this.loadSegReal(CS, sel);
      this.eip = size32 ? offset : offset & 0xffff;
      return;
    }
    if ((sel & 0xfffc) === 0) this.raise(EXC_GP, 0);
    if (!this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
    const lo = this.descLo, hi = this.descHi;
    const type = (hi >> 8) & 0x1f;
    const dpl = (hi >> 13) & 3;
    if (type & 0x10) {
      if (!(type & 8)) this.raise(EXC_GP, sel & 0xfffc);
      if (type & 4) { if (dpl > this.cpl) this.raise(EXC_GP, sel & 0xfffc); }
      else if ((sel & 3) > this.cpl || dpl !== this.cpl) this.raise(EXC_GP, sel & 0xfffc);
      if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
      this.setAccessed(sel);
      this.setCS(sel, lo, this.descHi, this.cpl);
      this.eip = size32 ? offset : offset & 0xffff;
      return;
    }
    if (dpl < this.cpl || dpl < (sel & 3)) this.raise(EXC_GP, sel & 0xfffc);
    if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
    switch (type) {
      case 4: case 0xc: { // call gate
        const tsel = lo >>> 16;
        const toff = type === 0xc ? ((lo & 0xffff) | (hi & 0xffff0000)) : lo & 0xffff;
        if ((tsel & 0xfffc) === 0) this.raise(EXC_GP, 0);
        if (!this.readDescriptor(tsel)) this.raise(EXC_GP, tsel & 0xfffc);
        const chi = this.descHi;
        this.checkCodeDesc(tsel, chi);
        const cdpl = (chi >> 13) & 3;
        if ((chi & 0x400) ? cdpl > this.cpl : cdpl !== this.cpl) this.raise(EXC_GP, tsel & 0xfffc);
        this.setAccessed(tsel);
        this.setCS(tsel, this.descLo, this.descHi, this.cpl);
        this.eip = toff;
        return;
      }
      case 5: { // task gate
        const tss = lo >>> 16;
        if (!this.readDescriptor(tss) || (tss & 4)) this.raise(EXC_GP, tss & 0xfffc);
        this.taskSwitch(tss, this.descLo, this.descHi, SWITCH_JMP);
        return;
      }
      case 1: case 9:
        this.taskSwitch(sel, lo, hi, SWITCH_JMP);
        return;
      default:
        this.raise(EXC_GP, sel & 0xfffc);
    }
  }

  /** Far CALL to sel:offset. */
  farCall(sel: number, offset: number, size32: boolean): void {
    if (!this.pe || this.vm86) {
      const cs = this.segSel[CS];
      if (size32) { this.push32(cs); this.push32(this.eip); } else { this.push16(cs); this.push16(this.eip); }
      this.loadSegReal(CS, sel);
      this.eip = size32 ? offset : offset & 0xffff;
      return;
    }
    if ((sel & 0xfffc) === 0) this.raise(EXC_GP, 0);
    if (!this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
    const lo = this.descLo, hi = this.descHi;
    const type = (hi >> 8) & 0x1f;
    const dpl = (hi >> 13) & 3;
    if (type & 0x10) {
      if (!(type & 8)) this.raise(EXC_GP, sel & 0xfffc);
      if (type & 4) { if (dpl > this.cpl) this.raise(EXC_GP, sel & 0xfffc); }
      else if ((sel & 3) > this.cpl || dpl !== this.cpl) this.raise(EXC_GP, sel & 0xfffc);
      if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
      const size = size32 ? 4 : 2;
      let sp = this.r32[ESP];
      const sys = this.cpl < 3;
      sp = this.stackPush(this.segBase[SS], sp, this.spMask, this.segSel[CS], size, sys);
      sp = this.stackPush(this.segBase[SS], sp, this.spMask, this.eip, size, sys);
      this.setAccessed(sel);
      this.setCS(sel, lo, this.descHi, this.cpl);
      if (this.ss32) this.r32[ESP] = sp; else this.r16[ESP * 2] = sp;
      this.eip = size32 ? offset : offset & 0xffff;
      return;
    }
    if (dpl < this.cpl || dpl < (sel & 3)) this.raise(EXC_GP, sel & 0xfffc);
    if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
    switch (type) {
      case 4: case 0xc: {
        const gate32 = type === 0xc;
        const tsel = lo >>> 16;
        const toff = gate32 ? ((lo & 0xffff) | (hi & 0xffff0000)) : lo & 0xffff;
        const params = hi & 0x1f;
        if ((tsel & 0xfffc) === 0) this.raise(EXC_GP, 0);
        if (!this.readDescriptor(tsel)) this.raise(EXC_GP, tsel & 0xfffc);
        const clo = this.descLo, chi = this.descHi;
        this.checkCodeDesc(tsel, chi);
        const cdpl = (chi >> 13) & 3;
        if (cdpl > this.cpl) this.raise(EXC_GP, tsel & 0xfffc);
        const size = gate32 ? 4 : 2;
        if (!(chi & 0x400) && cdpl < this.cpl) {
          this.tssStack(cdpl);
          const newSs = this.tmpSs, newEsp = this.tmpEsp;
          this.checkInnerSS(newSs, cdpl);
          const slo = this.descLo, shi = this.descHi;
          const sbase = (slo >>> 16) | ((shi & 0xff) << 16) | (shi & 0xff000000);
          const smask = shi & 0x400000 ? -1 : 0xffff;
          const sys = cdpl < 3;
          let sp = newEsp;
          sp = this.stackPush(sbase, sp, smask, this.segSel[SS], size, sys);
          sp = this.stackPush(sbase, sp, smask, this.r32[ESP], size, sys);
          for (let i = params - 1; i >= 0; i--) {
            const v = this.peekStack(i * size, size);
            sp = this.stackPush(sbase, sp, smask, v, size, sys);
          }
          sp = this.stackPush(sbase, sp, smask, this.segSel[CS], size, sys);
          sp = this.stackPush(sbase, sp, smask, this.eip, size, sys);
          this.setCS(tsel, clo, chi, cdpl);
          this.loadCache(SS, (newSs & 0xfffc) | cdpl, slo, shi);
          if (this.ss32) this.r32[ESP] = sp; else this.r32[ESP] = (this.r32[ESP] & ~0xffff) | (sp & 0xffff);
        } else {
          let sp = this.r32[ESP];
          const sys = this.cpl < 3;
          sp = this.stackPush(this.segBase[SS], sp, this.spMask, this.segSel[CS], size, sys);
          sp = this.stackPush(this.segBase[SS], sp, this.spMask, this.eip, size, sys);
          this.setCS(tsel, clo, chi, this.cpl);
          if (this.ss32) this.r32[ESP] = sp; else this.r16[ESP * 2] = sp;
        }
        this.eip = toff;
        return;
      }
      case 5: {
        const tss = lo >>> 16;
        if (!this.readDescriptor(tss) || (tss & 4)) this.raise(EXC_GP, tss & 0xfffc);
        this.taskSwitch(tss, this.descLo, this.descHi, SWITCH_CALL);
        return;
      }
      case 1: case 9:
        this.taskSwitch(sel, lo, hi, SWITCH_CALL);
        return;
      default:
        this.raise(EXC_GP, sel & 0xfffc);
    }
  }

  /** Far RET (pops `imm` extra bytes of parameters). */
  farReturn(size32: boolean, imm: number): void {
    const size = size32 ? 4 : 2;
    const eip = this.peekStack(0, size) >>> 0;
    const sel = this.peekStack(size, size) & 0xffff;
    if (!this.pe || this.vm86) {
      this.loadSegReal(CS, sel);
      this.eip = eip;
      this.adjustSp(2 * size + imm);
      return;
    }
    if ((sel & 0xfffc) === 0) this.raise(EXC_GP, 0);
    if (!this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
    const lo = this.descLo, hi = this.descHi;
    const rpl = sel & 3;
    const dpl = (hi >> 13) & 3;
    if (rpl < this.cpl) this.raise(EXC_GP, sel & 0xfffc);
    this.checkCodeDesc(sel, hi);
    if ((hi & 0x400) ? dpl > rpl : dpl !== rpl) this.raise(EXC_GP, sel & 0xfffc);
    if (rpl > this.cpl) {
      const esp = this.peekStack(2 * size + imm, size);
      const ss = this.peekStack(3 * size + imm, size) & 0xffff;
      this.checkOuterSS(ss, rpl);
      const slo = this.descLo, shi = this.descHi;
      this.setCS(sel, lo, hi, rpl);
      this.loadCache(SS, ss, slo, shi);
      if (this.ss32) this.r32[ESP] = esp; else this.r16[ESP * 2] = esp;
      this.adjustSp(imm);
      this.nullifyDataSegs();
    } else {
      this.setCS(sel, lo, hi, this.cpl);
      this.adjustSp(2 * size + imm);
    }
    this.eip = eip;
  }

  private checkOuterSS(ss: number, rpl: number): void {
    if ((ss & 0xfffc) === 0) this.raise(EXC_GP, 0);
    if (!this.readDescriptor(ss)) this.raise(EXC_GP, ss & 0xfffc);
    const hi = this.descHi;
    if ((ss & 3) !== rpl || ((hi >> 13) & 3) !== rpl || ((hi >> 8) & 0x1a) !== 0x12) this.raise(EXC_GP, ss & 0xfffc);
    if (!(hi & 0x8000)) this.raise(EXC_SS, ss & 0xfffc);
  }

  /** After a return to an outer level: null data segments the new CPL may not use. */
  private nullifyDataSegs(): void {
    for (const s of [ES, DS, FS, GS]) {
      const a = this.segAttr[s];
      const dpl = (a >> 5) & 3;
      const conformingCode = (a & 0x1c) === 0x1c;
      if ((a & ATTR_S) && !conformingCode && dpl < this.cpl) {
        this.segSel[s] = 0; this.segAttr[s] = 0; this.segBase[s] = 0; this.segLimit[s] = 0;
      }
    }
    this.refreshSegChecks();
  }

  /** IRET / IRETD. */
  iret(size32: boolean): void {
    const size = size32 ? 4 : 2;
    if (!this.pe) {
      const eip = this.peekStack(0, size) >>> 0;
      const cs = this.peekStack(size, size) & 0xffff;
      const fl = this.peekStack(2 * size, size);
      this.loadSegReal(CS, cs);
      this.eip = eip;
      this.adjustSp(3 * size);
      this.writeFlags(fl, size32 ? 0x257fd5 : 0x7fd5);
      return;
    }
    if (this.vm86) {
      if (((this.flags & IOPL) >> 12) < 3) {
        if (!vmeFlagsVirtual(this, size32)) this.raise(EXC_GP, 0);
        vmeIret16(this);
        return;
      }
      const eip = this.peekStack(0, size) >>> 0;
      const cs = this.peekStack(size, size) & 0xffff;
      const fl = this.peekStack(2 * size, size);
      this.loadSegReal(CS, cs);
      this.eip = eip;
      this.adjustSp(3 * size);
      this.writeFlags(fl, size32 ? 0x244dd5 : 0x4dd5); // IOPL not changeable
      return;
    }
    if (this.flags & NT) {
      const link = this.sysRead16(this.segBase[TR]);
      if ((link & 4) || !this.readDescriptor(link)) this.raise(EXC_TS, link & 0xfffc);
      this.taskSwitch(link, this.descLo, this.descHi, SWITCH_IRET);
      return;
    }
    const eip = this.peekStack(0, size) >>> 0;
    const sel = this.peekStack(size, size) & 0xffff;
    const fl = this.peekStack(2 * size, size);
    if (size32 && (fl & VM) && this.cpl === 0) {
      // Return to virtual-8086 mode.
      const esp = this.peekStack(12, 4);
      const ss = this.peekStack(16, 4) & 0xffff;
      const es = this.peekStack(20, 4) & 0xffff;
      const ds = this.peekStack(24, 4) & 0xffff;
      const fs = this.peekStack(28, 4) & 0xffff;
      const gs = this.peekStack(32, 4) & 0xffff;
      this.writeFlags(fl, 0x3f7fd5);
      this.vm86 = true;
      this.loadSegReal(CS, sel);
      this.loadSegReal(SS, ss);
      this.loadSegReal(ES, es);
      this.loadSegReal(DS, ds);
      this.loadSegReal(FS, fs);
      this.loadSegReal(GS, gs);
      this.r32[ESP] = esp;
      this.eip = eip & 0xffff;
      this.setCpl(3);
      return;
    }
    if ((sel & 0xfffc) === 0) this.raise(EXC_GP, 0);
    if (!this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
    const lo = this.descLo, hi = this.descHi;
    const rpl = sel & 3;
    const dpl = (hi >> 13) & 3;
    if (rpl < this.cpl) this.raise(EXC_GP, sel & 0xfffc);
    this.checkCodeDesc(sel, hi);
    if ((hi & 0x400) ? dpl > rpl : dpl !== rpl) this.raise(EXC_GP, sel & 0xfffc);
    // Flags the old privilege level may change.
    let mask = size32 ? 0x257fd5 : 0x7fd5;
    const iopl = (this.flags & IOPL) >> 12;
    if (this.cpl > 0) mask &= ~IOPL;
    else if (size32) mask |= VIF | VIP; // IRETD at CPL 0 loads VIF and VIP (SDM IRET)
    if (this.cpl > iopl) mask &= ~IF;
    if (rpl > this.cpl) {
      const esp = this.peekStack(3 * size, size);
      const ss = this.peekStack(4 * size, size) & 0xffff;
      this.checkOuterSS(ss, rpl);
      const slo = this.descLo, shi = this.descHi;
      this.setCS(sel, lo, hi, rpl);
      this.loadCache(SS, ss, slo, shi);
      if (this.ss32) this.r32[ESP] = esp; else this.r16[ESP * 2] = esp;
      this.nullifyDataSegs();
    } else {
      this.setCS(sel, lo, hi, this.cpl);
      this.adjustSp(3 * size);
    }
    this.writeFlags(fl, mask);
    this.eip = size32 ? eip : eip & 0xffff;
  }

  // ------------------------------------------------------------------ task switch

  /**
   * Hardware task switch to the TSS `sel` (descriptor lo/hi), SDM Vol. 3A §7.3, with
   * 32-bit TSSes (types 9/B, §7.2.1) and 16-bit TSSes (types 1/3, §7.6: IP, FLAGS, the
   * 16-bit registers, ES/CS/SS/DS and the LDT selector at 0x0E-0x2A, no CR3). The old and
   * the new task may be of either size. As QEMU does, a switch to a 16-bit task keeps the upper
   * halves of EIP, the general registers and EFLAGS, loads FS and GS with null selectors
   * and keeps CR3.
   */
  taskSwitch(sel: number, lo: number, hi: number, reason: number): void {
    const type = (hi >> 8) & 0x1f;
    if (reason === SWITCH_IRET) { if (type !== 0xb && type !== 3) this.raise(EXC_TS, sel & 0xfffc); }
    else if (type !== 9 && type !== 1) this.raise(EXC_GP, sel & 0xfffc);
    if (!(hi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
    const new32 = (type & 8) !== 0;
    const nbase = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    let nlimit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & 0x800000) nlimit = (nlimit << 12) | 0xfff;
    if ((nlimit >>> 0) < (new32 ? 0x67 : 0x2b)) this.raise(EXC_TS, sel & 0xfffc);
    // Read the new task's state first (faults here leave the old task intact).
    const nregs = [0, 0, 0, 0, 0, 0, 0, 0];
    const nsegs = [0, 0, 0, 0, 0, 0];
    let ncr3 = 0, neip: number, nflags: number, nldt: number;
    if (new32) {
      ncr3 = this.sysRead32(nbase + 0x1c);
      neip = this.sysRead32(nbase + 0x20);
      nflags = this.sysRead32(nbase + 0x24);
      for (let i = 0; i < 8; i++) nregs[i] = this.sysRead32(nbase + 0x28 + i * 4);
      for (let i = 0; i < 6; i++) nsegs[i] = this.sysRead16(nbase + 0x48 + i * 4);
      nldt = this.sysRead16(nbase + 0x60);
    } else {
      neip = (this.eip & ~0xffff) | this.sysRead16(nbase + 0x0e);
      nflags = (this.getFlags() & ~0xffff) | this.sysRead16(nbase + 0x10);
      for (let i = 0; i < 8; i++) nregs[i] = (this.r32[i] & ~0xffff) | this.sysRead16(nbase + 0x12 + i * 2);
      for (let i = 0; i < 4; i++) nsegs[i] = this.sysRead16(nbase + 0x22 + i * 2); // ES CS SS DS
      nldt = this.sysRead16(nbase + 0x2a);
    }
    // Save the old task.
    const obase = this.segBase[TR];
    let oflags = this.getFlags();
    if (reason === SWITCH_IRET) oflags &= ~NT;
    if ((this.segAttr[TR] & 8) !== 0) {
      this.sysWrite32(obase + 0x20, this.eip);
      this.sysWrite32(obase + 0x24, oflags);
      for (let i = 0; i < 8; i++) this.sysWrite32(obase + 0x28 + i * 4, this.r32[i]);
      for (let i = 0; i < 6; i++) this.sysWrite16(obase + 0x48 + i * 4, this.segSel[i]);
    } else {
      this.sysWrite16(obase + 0x0e, this.eip);
      this.sysWrite16(obase + 0x10, oflags);
      for (let i = 0; i < 8; i++) this.sysWrite16(obase + 0x12 + i * 2, this.r32[i]);
      for (let i = 0; i < 4; i++) this.sysWrite16(obase + 0x22 + i * 2, this.segSel[i]);
    }
    const oldSel = this.segSel[TR];
    if (reason === SWITCH_JMP || reason === SWITCH_IRET) {
      // Clear the busy bit of the old task.
      const dAddr = (this.gdtBase + (oldSel & 0xfff8) + 5) | 0;
      this.sysWrite8(dAddr, this.sysRead8(dAddr) & ~0x02);
    }
    if (reason === SWITCH_CALL || reason === SWITCH_INT) {
      this.sysWrite16(nbase, oldSel);
      nflags |= NT;
    }
    if (reason !== SWITCH_IRET) {
      const dAddr = (this.gdtBase + (sel & 0xfff8) + 5) | 0;
      this.sysWrite8(dAddr, this.sysRead8(dAddr) | 0x02);
      hi |= 0x200;
    }
    // Load the new task.
    this.segSel[TR] = sel;
    this.segBase[TR] = nbase;
    this.segLimit[TR] = nlimit;
    this.segAttr[TR] = ((hi >>> 8) & 0xf0ff) | 0x2;
    this.cr0 |= CR0_TS;
    if (new32 && (this.cr0 & CR0_PG)) { this.cr3 = ncr3; this.flushTlb(true); }
    this.eip = neip;
    for (let i = 0; i < 8; i++) this.r32[i] = nregs[i];
    this.flags = (nflags & 0x3f7fd7) | 2;
    this.flagsDirty = 0;
    this.vm86 = (nflags & VM) !== 0;
    // Segment registers: selectors first, then descriptors (faults raise #TS in the new task).
    for (let i = 0; i < 6; i++) this.segSel[i] = nsegs[i];
    this.segSel[LDTR] = nldt;
    if ((nldt & 0xfffc) === 0) { this.segAttr[LDTR] = 0; this.segBase[LDTR] = 0; this.segLimit[LDTR] = 0; }
    else {
      if ((nldt & 4) || !this.readDescriptor(nldt) || ((this.descHi >> 8) & 0x1f) !== 2) this.raise(EXC_TS, nldt & 0xfffc);
      this.loadCache(LDTR, nldt, this.descLo, this.descHi);
    }
    if (this.vm86) {
      for (let i = 0; i < 6; i++) this.loadSegReal(i, nsegs[i]);
      this.setCpl(3);
    } else {
      const ncs = nsegs[CS];
      if (!this.readDescriptor(ncs)) this.raise(EXC_TS, ncs & 0xfffc);
      if (((this.descHi >> 8) & 0x18) !== 0x18) this.raise(EXC_TS, ncs & 0xfffc);
      if (!(this.descHi & 0x8000)) this.raise(EXC_NP, ncs & 0xfffc);
      this.setCS(ncs, this.descLo, this.descHi, ncs & 3);
      for (const s of [SS, DS, ES, FS, GS]) {
        const v = nsegs[s];
        try {
          this.loadSeg(s, v);
        } catch (e) {
          if (e === this.faultSignal && this.faultSignal.vector === EXC_GP) this.raise(EXC_TS, v & 0xfffc);
          throw e;
        }
      }
    }
    this.pe = (this.cr0 & CR0_PE) !== 0;
    this.refreshSegChecks();
    this.updateAlignCheck();
    this.attention = true; // EFLAGS (IF/TF) changed wholesale
  }

  // ------------------------------------------------------------------ I/O permission

  /** Checks the right to access `size` ports at `port` (IOPL, then the TSS I/O bitmap); raises #GP(0). */
  checkIoPermission(port: number, size: number): void {
    if (!this.pe) return;
    if (!this.vm86 && this.cpl <= ((this.flags & IOPL) >> 12)) return;
    const trType = this.segAttr[TR] & 0xf;
    if ((trType & 0x9) !== 0x9 || (this.segLimit[TR] >>> 0) < 0x67) this.raise(EXC_GP, 0);
    const base = this.segBase[TR];
    const mapOff = this.sysRead16(base + 0x66);
    const byteOff = mapOff + (port >> 3);
    if (byteOff + 1 > (this.segLimit[TR] >>> 0)) this.raise(EXC_GP, 0);
    const bits = this.sysRead16(base + byteOff);
    const need = ((1 << size) - 1) << (port & 7);
    if (bits & need) this.raise(EXC_GP, 0);
  }
}
