/**
 * The two-byte (0F xx) opcode map of the integer core: system instructions (descriptor
 * tables, LLDT/LTR, LAR/LSL/VERR/VERW, MOV CRn/DRn, CLTS, INVLPG, INVD/WBINVD), MSRs,
 * CPUID, RDTSC, SYSENTER/SYSEXIT, Jcc/SETcc/CMOVcc, bit instructions, SHLD/SHRD, CMPXCHG,
 * CMPXCHG8B, XADD, MOVZX/MOVSX, BSWAP, and the hand-off of SIMD opcodes to the SIMD unit.
 *
 * Follows Intel SDM Vol. 2 (instruction pages; Table A-3 two-byte opcode map), Vol. 3A
 * §2.5-2.8 (control registers, system instructions), Vol. 4 (MSRs). Leaves out: debug
 * registers act only as storage, MTRRs/PAT only as storage, RDPMC (#GP), 64-bit MSRs
 * beyond the list in `readMsr`.
 */
import {
  CF, CR0_AM, CR0_ET, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE, CR4_TSD, CS, EAX, EBX,
  ECX, EDX, ESP, EXC_GP, EXC_NP, EXC_UD, FS, GS, IF, LDTR, OF, RF, SS, TR, VM, ZF, CR4_DE, EXC_DB,
} from './state.js';
import { DR6_BD, DR7_GD, breakpointsEnabled, configureWatch } from './debug-registers.js';
import { Executor } from './exec.js';
import { cpuid, type CpuFeatures } from './features.js';
import type { ApicMsrAccess, MsrValue } from '../../devices/apic/lapic.js';

const MSB16 = 0x8000, MSB32 = 0x80000000 | 0;

/** MSR numbers (SDM Vol. 4). */
export const MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
  MSR_SYSENTER_EIP = 0x176, MSR_PAT = 0x277, MSR_MTRRCAP = 0xfe, MSR_MTRR_DEF_TYPE = 0x2ff, MSR_EFER = 0xc0000080 | 0;
/** IA32_TSC_DEADLINE (SDM Vol. 3A 11.5.4.1): the local APIC's, forwarded with IA32_APIC_BASE. */
export const MSR_TSC_DEADLINE = 0x6e0;
/** IA32_APIC_BASE bit 11: the local APIC is globally enabled (SDM Vol. 3A 11.4.3). */
const APIC_BASE_ENABLE = 1 << 11;
/** CPUID.1:EDX bit 9 (APIC on chip). */
const CPUID1_EDX_APIC = 1 << 9;

/** The 0F map. */
export abstract class Executor0F extends Executor {
  /** CPUID feature set (read by CPUID and by checks such as EFER.NXE). */
  abstract readonly features: CpuFeatures;
  /** Time-stamp counter offset (TSC = tscBase() + tscOffset). */
  tscOffset = 0;
  /**
   * Where the TSC counts from: the machine's virtual time in ns (a 1 GHz TSC that agrees
   * with the PIT, HPET and PM timer), or retired instructions when none is given.
   */
  tscSource: (() => number) | undefined;
  /** The TSC before the offset. */
  protected tscBase(): number {
    return this.tscSource !== undefined ? Math.floor(this.tscSource()) : this.instructionsRetired;
  }
  abstract readonly instructionsRetired: number;
  /** MSR storage (low / high halves) for MSRs that are plain storage. */
  readonly msrLo = new Map<number, number>();
  readonly msrHi = new Map<number, number>();
  /** DR7 enables at least one breakpoint: run instruction by instruction (cpu.ts). */
  debugActive = false;
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /**
   * This CPU's local APIC (SDM Vol. 3A 11.4.4): IA32_APIC_BASE and IA32_TSC_DEADLINE are
   * forwarded to it, and CPUID.1:EDX.APIC follows its global enable bit (11.4.3).
   */
  apicMsr: ApicMsrAccess | undefined;
  /** Initial APIC ID reported in CPUID.1:EBX[31:24] (SDM Vol. 3A 11.4.6). */
  apicId = 0;
  private readonly cpuidOut = new Int32Array(4);
  private readonly apicMsrOut: MsrValue = { lo: 0, hi: 0 };

  /** Executes an MMX/SSE opcode of the 0F map (ModRM not yet decoded). Returns false when no unit handles it. */
  abstract execSimd(op: number): boolean;

  exec0F(): void {
    this.exec0FOp(this.fetch8());
  }

  /** Executes 0F `op` (the second opcode byte already fetched). */
  exec0FOp(op: number): void {
    switch (op) {
      case 0x00: this.group6(); return;
      case 0x01: this.group7(); return;
      case 0x02: case 0x03: this.larLsl(op === 0x02); return;
      case 0x06:
        if (this.pe && this.cpl !== 0) this.raise(EXC_GP, 0);
        this.cr0 &= ~CR0_TS;
        return;
      case 0x08: case 0x09:
        if (this.pe && this.cpl !== 0) this.raise(EXC_GP, 0);
        return;
      case 0x0b: case 0xb9: this.raise(EXC_UD); return;
      case 0x0d: case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
        this.decodeModrm(); // hint NOPs / PREFETCH
        return;
      case 0x20: case 0x21: case 0x22: case 0x23: this.movControl(op); return;
      case 0x30: this.wrmsr(); return;
      case 0x31: {
        if ((this.cr4 & CR4_TSD) && this.pe && this.cpl !== 0) this.raise(EXC_GP, 0);
        const t = this.tscBase() + this.tscOffset;
        this.r32[EAX] = t % 4294967296;
        this.r32[EDX] = Math.floor(t / 4294967296);
        return;
      }
      case 0x32: this.rdmsr(); return;
      case 0x33: this.raise(EXC_GP, 0); return;
      case 0x34: this.sysenter(); return;
      case 0x35: this.sysexit(); return;
      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        this.cmov(op & 15);
        return;
      case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
      case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f:
        this.jccNear(op & 15);
        return;
      case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
      case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f:
        this.setcc(op & 15);
        return;
      case 0xa0: this.pushV(this.segSel[FS]); return;
      case 0xa1: this.popSegReg(FS); return;
      case 0xa2: {
        cpuid(this.features, this.r32[EAX], this.cpuidOut, this.apicId);
        if (this.r32[EAX] === 1 && this.apicMsr !== undefined && !this.apicGloballyEnabled()) this.cpuidOut[3] &= ~CPUID1_EDX_APIC;
        this.r32[EAX] = this.cpuidOut[0]; this.r32[EBX] = this.cpuidOut[1];
        this.r32[ECX] = this.cpuidOut[2]; this.r32[EDX] = this.cpuidOut[3];
        return;
      }
      case 0xa3: this.bitOp(0, false); return;
      case 0xa4: case 0xa5: case 0xac: case 0xad: this.shiftDouble(op); return;
      case 0xa8: this.pushV(this.segSel[GS]); return;
      case 0xa9: this.popSegReg(GS); return;
      case 0xab: this.bitOp(1, false); return;
      case 0xaf: this.imulGvEv(); return;
      case 0xb0: case 0xb1: this.cmpxchg(op === 0xb0 ? 8 : this.opsize32 ? 32 : 16); return;
      case 0xb2: this.loadFarPointerTo(SS); return;
      case 0xb3: this.bitOp(2, false); return;
      case 0xb4: this.loadFarPointerTo(FS); return;
      case 0xb5: this.loadFarPointerTo(GS); return;
      case 0xb6: this.movzxB(); return;
      case 0xb7: this.movzxW(); return;
      case 0xba: {
        this.decodeModrm();
        if (this.reg < 4) this.undefinedOpcode(0x1ba);
        this.bitOp(this.reg - 4, true);
        return;
      }
      case 0xbb: this.bitOp(3, false); return;
      case 0xbc: case 0xbd: {
        this.decodeModrm();
        const v = this.opsize32 ? this.readE32() : this.readE16();
        if (v === 0) {
          this.setLogicFlags(0, this.opsize32 ? MSB32 : MSB16);
          return;
        }
        const idx = op === 0xbc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
        this.setRegV(this.reg, idx);
        this.setLogicFlags(v, this.opsize32 ? MSB32 : MSB16);
        return;
      }
      case 0xbe: this.movsxB(); return;
      case 0xbf: this.movsxW(); return;
      case 0xc0: {
        this.decodeModrm();
        const d = this.rmwE8();
        const s = this.getReg8(this.reg);
        const r = this.alu(0, d, s, 0x80);
        if (this.mod === 3) { this.setReg8(this.reg, d); this.writeE8(r); } else { this.writeE8(r); this.setReg8(this.reg, d); }
        return;
      }
      case 0xc1: {
        this.decodeModrm();
        const d = this.rmwEV();
        const s = this.getRegV(this.reg);
        const r = this.alu(0, d, s, this.opsize32 ? MSB32 : MSB16);
        if (this.mod === 3) { this.setRegV(this.reg, d); this.writeEV(r); } else { this.writeEV(r); this.setRegV(this.reg, d); }
        return;
      }
      case 0xc7: {
        this.decodeModrm();
        if (this.reg !== 1 || this.mod === 3) this.undefinedOpcode(0x1c7);
        this.chkEa(8, true);
        this.probeWrite(this.ea, 8);
        const lo = this.readU32(this.ea), hi = this.readU32((this.ea + 4) | 0);
        if (lo === this.r32[EAX] && hi === this.r32[EDX]) {
          this.writeU32(this.ea, this.r32[EBX]);
          this.writeU32((this.ea + 4) | 0, this.r32[ECX]);
          this.setArith(ZF, ZF);
        } else {
          this.writeU32(this.ea, lo);
          this.writeU32((this.ea + 4) | 0, hi);
          this.r32[EAX] = lo; this.r32[EDX] = hi;
          this.setArith(ZF, 0);
        }
        return;
      }
      case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        const r = op & 7;
        const v = this.r32[r];
        if (this.opsize32) this.r32[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
        else this.r16[r * 2] = 0; // BSWAP r16 is undefined; zero like most implementations
        return;
      }
      case 0xae: {
        // Group 15: with a SIMD unit everything goes there; without, fences/CLFLUSH are no-ops.
        if (this.execSimd(op)) return;
        const save = this.eip;
        const m = this.fetch8();
        this.eip = save;
        const reg = (m >> 3) & 7;
        if ((m >> 6) === 3 && reg >= 5 && this.lastPrefix === 0) {
          if ((reg === 7 && !this.features.sse) || (reg !== 7 && !this.features.sse2)) this.undefinedOpcode(0x1ae);
          this.fetch8();
          return;
        }
        if ((m >> 6) !== 3 && reg === 7 && this.lastPrefix === 0) { this.decodeModrm(); return; } // CLFLUSH
        this.undefinedOpcode(0x1ae);
        return;
      }
      default:
        if (this.execSimd(op)) return;
        this.undefinedOpcode(0x100 | op);
    }
  }

  // Hot 0F instructions in small methods so V8 inlines their helpers (see exec.ts).

  protected cmov(cc: number): void {
    this.decodeModrm();
    const v = this.readEV();
    if (this.cond(cc)) this.setRegV(this.reg, v);
  }

  protected setcc(cc: number): void {
    this.decodeModrm();
    this.writeE8(this.cond(cc) ? 1 : 0);
  }

  protected imulGvEv(): void {
    this.decodeModrm();
    const a = this.opsize32 ? this.r32[this.reg] : (this.r16[this.reg * 2] << 16) >> 16;
    const b = this.opsize32 ? this.readE32() : (this.readE16() << 16) >> 16;
    this.setRegV(this.reg, this.imul2(a, b));
  }

  protected movzxB(): void { this.decodeModrm(); this.setRegV(this.reg, this.readE8()); }
  protected movzxW(): void { this.decodeModrm(); this.setRegV(this.reg, this.readE16()); }
  protected movsxB(): void { this.decodeModrm(); this.setRegV(this.reg, (this.readE8() << 24) >> 24); }
  protected movsxW(): void { this.decodeModrm(); this.setRegV(this.reg, (this.readE16() << 16) >> 16); }

  private popSegReg(seg: number): void {
    const sp = this.r32[ESP];
    const v = this.popV() & 0xffff;
    try { this.loadSeg(seg, v); } catch (e) { this.r32[ESP] = sp; throw e; }
  }

  // ------------------------------------------------------------------ bit ops

  /** BT(0)/BTS(1)/BTR(2)/BTC(3); `imm` = Ib form (ModRM already decoded). */
  private bitOp(kind: number, imm: boolean): void {
    if (!imm) this.decodeModrm();
    const bits = this.opsize32 ? 32 : 16;
    let off = imm ? this.fetch8() : this.opsize32 ? this.r32[this.reg] : (this.r16[this.reg * 2] << 16) >> 16;
    let v: number;
    let addr = 0;
    if (this.mod === 3) {
      off &= bits - 1;
      v = this.opsize32 ? this.r32[this.rm] : this.r16[this.rm * 2];
    } else {
      if (imm) off &= bits - 1;
      const unitBytes = bits >> 3;
      const disp = Math.floor(off / bits) * unitBytes;
      off = ((off % bits) + bits) % bits;
      const base = this.addrsize32 ? (this.eaOff + disp) | 0 : (this.eaOff + disp) & 0xffff;
      if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, base, unitBytes, kind !== 0);
      addr = (this.ea + disp) | 0;
      if (kind !== 0) this.probeWrite(addr, unitBytes);
      v = this.opsize32 ? this.readU32(addr) : this.readU16(addr);
    }
    const bit = (v >>> off) & 1;
    let nv = v;
    if (kind === 1) nv = v | (1 << off);
    else if (kind === 2) nv = v & ~(1 << off);
    else if (kind === 3) nv = v ^ (1 << off);
    if (kind !== 0) {
      if (this.mod === 3) { if (this.opsize32) this.r32[this.rm] = nv; else this.r16[this.rm * 2] = nv; }
      else if (this.opsize32) this.writeU32(addr, nv); else this.writeU16(addr, nv);
    }
    this.setArith(CF, bit);
  }

  private shiftDouble(op: number): void {
    this.decodeModrm();
    const left = op < 0xa8;
    const count = ((op & 1) ? this.r8[4] : this.fetch8()) & 31;
    if (count === 0) return;
    if (this.opsize32) {
      const d = this.rmwE32(), s = this.r32[this.reg];
      let r: number, cf: number, pre: number;
      if (left) {
        r = (d << count) | (count === 32 ? 0 : s >>> (32 - count));
        pre = count === 1 ? d : (d << (count - 1)) | (s >>> (33 - count));
        cf = (d >>> (32 - count)) & 1;
      } else {
        r = (d >>> count) | (s << (32 - count));
        pre = count === 1 ? d : (d >>> (count - 1)) | (s << (33 - count));
        cf = (d >>> (count - 1)) & 1;
      }
      this.writeE32(r);
      this.lazyResult(r, MSB32, cf | (((pre ^ r) & MSB32) ? OF : 0));
    } else {
      const d = this.rmwE16(), s = this.r16[this.reg * 2];
      let r: number, cf: number, pre: number;
      if (left) {
        const t = ((d << 16) | s) >>> 0;
        // 48-bit concat d:s:d for counts above 16 (matches common implementations).
        const ext = count > 16 ? (((s << 16) | d) >>> 0) : t;
        const c = count > 16 ? count - 16 : count;
        r = (ext << c | (count > 16 ? (d >>> (16 - c)) : 0)) >>> 16 & 0xffff;
        const pc = c - 1;
        pre = pc === 0 ? (count > 16 ? s : d) : ((ext << pc) >>> 16) & 0xffff;
        cf = count > 16 ? (s >>> (16 - c)) & 1 : (d >>> (16 - count)) & 1;
      } else {
        const t = ((s << 16) | d) >>> 0;
        const ext = count > 16 ? (((d << 16) | s) >>> 0) : t;
        const c = count > 16 ? count - 16 : count;
        r = (ext >>> c) & 0xffff;
        pre = c === 1 ? (count > 16 ? s : d) : (ext >>> (c - 1)) & 0xffff;
        cf = (ext >>> (c - 1)) & 1;
      }
      this.writeE16(r);
      this.lazyResult(r, MSB16, cf | (((pre ^ r) & MSB16) ? OF : 0));
    }
  }

  private cmpxchg(bits: number): void {
    this.decodeModrm();
    if (bits === 8) {
      const d = this.rmwE8();
      this.alu(7, this.r8[0], d, 0x80);
      if (this.r8[0] === d) this.writeE8(this.getReg8(this.reg));
      else { this.writeE8(d); this.r8[0] = d; }
    } else if (bits === 16) {
      const d = this.rmwE16();
      this.alu(7, this.r16[0], d, MSB16);
      if (this.r16[0] === d) this.writeE16(this.r16[this.reg * 2]);
      else { this.writeE16(d); this.r16[0] = d; }
    } else {
      const d = this.rmwE32();
      this.alu(7, this.r32[EAX], d, MSB32);
      if (this.r32[EAX] === d) this.writeE32(this.r32[this.reg]);
      else { if (this.mod !== 3) this.writeE32(d); this.r32[EAX] = d; }
    }
  }

  // ------------------------------------------------------------------ system groups

  private requireCpl0(): void {
    if ((this.pe && this.cpl !== 0) || this.vm86) this.raise(EXC_GP, 0);
  }

  private group6(): void {
    this.decodeModrm();
    if (!this.pe || this.vm86) this.undefinedOpcode(0x100);
    switch (this.reg) {
      case 0: case 1: { // SLDT / STR
        const v = this.segSel[this.reg === 0 ? LDTR : TR];
        if (this.mod === 3) this.setRegV(this.rm, v); else { this.chkEa(2, true); this.writeU16(this.ea, v); }
        return;
      }
      case 2: { // LLDT
        this.requireCpl0();
        const sel = this.readE16();
        if ((sel & 0xfffc) === 0) { this.segSel[LDTR] = sel; this.segAttr[LDTR] = 0; this.segBase[LDTR] = 0; this.segLimit[LDTR] = 0; return; }
        if ((sel & 4) || !this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
        if (((this.descHi >> 8) & 0x1f) !== 2) this.raise(EXC_GP, sel & 0xfffc);
        if (!(this.descHi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
        this.loadCache(LDTR, sel, this.descLo, this.descHi);
        return;
      }
      case 3: { // LTR
        this.requireCpl0();
        const sel = this.readE16();
        if ((sel & 0xfffc) === 0 || (sel & 4) || !this.readDescriptor(sel)) this.raise(EXC_GP, sel & 0xfffc);
        const type = (this.descHi >> 8) & 0x1f;
        if (type !== 1 && type !== 9) this.raise(EXC_GP, sel & 0xfffc);
        if (!(this.descHi & 0x8000)) this.raise(EXC_NP, sel & 0xfffc);
        this.descHi |= 0x200;
        this.sysWrite8((this.gdtBase + (sel & 0xfff8) + 5) | 0, (this.descHi >> 8) & 0xff);
        this.loadCache(TR, sel, this.descLo, this.descHi);
        return;
      }
      case 4: case 5: { // VERR / VERW
        const sel = this.readE16();
        let ok = false;
        if ((sel & 0xfffc) !== 0 && this.readDescriptor(sel)) {
          const type = (this.descHi >> 8) & 0x1f;
          const dpl = (this.descHi >> 13) & 3;
          const conforming = (type & 0x1c) === 0x1c;
          const privOk = conforming || (dpl >= this.cpl && dpl >= (sel & 3));
          if ((type & 0x10) && privOk) {
            if (this.reg === 4) ok = !(type & 8) || (type & 2) !== 0;
            else ok = !(type & 8) && (type & 2) !== 0;
          }
        }
        this.setArith(ZF, ok ? ZF : 0);
        return;
      }
      default: this.undefinedOpcode(0x100);
    }
  }

  private group7(): void {
    this.decodeModrm();
    switch (this.reg) {
      case 0: case 1: { // SGDT / SIDT
        if (this.mod === 3) this.undefinedOpcode(0x101);
        const lim = this.reg === 0 ? this.gdtLimit : this.idtLimit;
        const base = this.reg === 0 ? this.gdtBase : this.idtBase;
        this.chkEa(2, true); this.chkEa(4, true, 2);
        this.probeWrite(this.ea, 6);
        this.writeU16(this.ea, lim);
        this.writeU32((this.ea + 2) | 0, this.opsize32 ? base : base & 0xffffff);
        return;
      }
      case 2: case 3: { // LGDT / LIDT
        if (this.mod === 3) this.undefinedOpcode(0x101);
        this.requireCpl0();
        this.chkEa(2, false); this.chkEa(4, false, 2);
        const lim = this.readU16(this.ea);
        let base = this.readU32((this.ea + 2) | 0);
        if (!this.opsize32) base &= 0xffffff;
        if (this.reg === 2) { this.gdtLimit = lim; this.gdtBase = base; } else { this.idtLimit = lim; this.idtBase = base; }
        return;
      }
      case 4: { // SMSW
        if (this.mod === 3) this.setRegV(this.rm, this.opsize32 ? this.cr0 : this.cr0 & 0xffff);
        else { this.chkEa(2, true); this.writeU16(this.ea, this.cr0); }
        return;
      }
      case 6: { // LMSW
        this.requireCpl0();
        const v = this.readE16();
        this.writeCr0((this.cr0 & ~0xe) | (v & 0xf) | (this.cr0 & CR0_PE));
        return;
      }
      case 7: // INVLPG
        if (this.mod === 3) this.undefinedOpcode(0x101);
        this.requireCpl0();
        this.invlpg(this.ea);
        return;
      default: this.undefinedOpcode(0x101);
    }
  }

  private larLsl(lar: boolean): void {
    if (!this.pe || this.vm86) this.undefinedOpcode(0x102);
    this.decodeModrm();
    const sel = this.readE16();
    let ok = false;
    if ((sel & 0xfffc) !== 0 && this.readDescriptor(sel)) {
      const hi = this.descHi;
      const type = (hi >> 8) & 0x1f;
      const dpl = (hi >> 13) & 3;
      const conforming = (type & 0x1c) === 0x1c;
      let valid: boolean;
      if (type & 0x10) valid = true;
      else valid = lar ? [1, 2, 3, 4, 5, 9, 0xb, 0xc].includes(type) : [1, 2, 3, 9, 0xb].includes(type);
      if (valid && (conforming || (dpl >= this.cpl && dpl >= (sel & 3)))) {
        ok = true;
        if (lar) this.setRegV(this.reg, this.opsize32 ? hi & 0xf0ff00 : hi & 0xff00);
        else {
          let limit = (this.descLo & 0xffff) | (hi & 0xf0000);
          if (hi & 0x800000) limit = (limit << 12) | 0xfff;
          this.setRegV(this.reg, limit);
        }
      }
    }
    this.setArith(ZF, ok ? ZF : 0);
  }

  /** Writes CR0 with the side effects on paging, protection and the TLB. */
  writeCr0(v: number): void {
    v |= CR0_ET;
    if ((v & CR0_PG) && !(v & CR0_PE)) this.raise(EXC_GP, 0);
    const changed = this.cr0 ^ v;
    this.cr0 = v;
    if (changed & (CR0_PG | CR0_WP | CR0_PE)) this.flushTlb(false);
    this.pe = (v & CR0_PE) !== 0;
    if (!this.pe) { this.vm86 = false; this.setCpl(0); }
    if (changed & (CR0_PE | CR0_AM)) { this.refreshSegChecks(); this.updateAlignCheck(); }
  }

  /** Writes CR4; unsupported bits raise #GP(0). */
  writeCr4(v: number): void {
    if (v & ~(0x7fc | (this.features.vme ? 0x3 : 0))) this.raise(EXC_GP, 0);
    if ((v & 0x600) && !this.features.fxsr) this.raise(EXC_GP, 0);
    const changed = this.cr4 ^ v;
    this.cr4 = v;
    if (changed & (CR4_PSE | CR4_PAE | CR4_PGE)) { this.flushTlb(false); this.cr4 = v; }
  }

  private movControl(op: number): void {
    // MOV to/from control/debug registers: mod is ignored (always a register operand).
    this.decodeModrmRegOnly();
    this.requireCpl0();
    const n = this.reg;
    switch (op) {
      case 0x20: {
        let v: number;
        switch (n) {
          case 0: v = this.cr0; break;
          case 2: v = this.cr2; break;
          case 3: v = this.cr3; break;
          case 4: v = this.cr4; break;
          default: this.undefinedOpcode(0x120);
        }
        this.r32[this.rm] = v;
        return;
      }
      case 0x22: {
        const v = this.r32[this.rm];
        switch (n) {
          case 0: this.writeCr0(v); break;
          case 2: this.cr2 = v; break;
          case 3: this.cr3 = v; this.flushTlb(true); break;
          case 4: this.writeCr4(v); break;
          default: this.undefinedOpcode(0x122);
        }
        return;
      }
      case 0x21: {
        const i = this.debugRegisterIndex(n);
        this.r32[this.rm] = i === 6 ? this.dr[6] | 0xffff0ff0 : i === 7 ? this.dr[7] | 0x400 : this.dr[i];
        return;
      }
      default: {
        const i = this.debugRegisterIndex(n);
        this.dr[i] = this.r32[this.rm];
        if (i !== 6) this.updateDebugState();
      }
    }
  }

  /**
   * DR index for MOV DRn: DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); with DR7.GD set
   * the access is a #DB fault with DR6.BD set and GD cleared (SDM Vol. 3B 17.2.2, 17.2.4).
   */
  private debugRegisterIndex(n: number): number {
    if ((n === 4 || n === 5) && (this.cr4 & CR4_DE)) this.undefinedOpcode(0x121);
    if (this.dr[7] & DR7_GD) {
      this.dr[7] &= ~DR7_GD;
      this.dr[6] |= DR6_BD;
      this.updateDebugState();
      this.raise(EXC_DB);
    }
    return n === 4 ? 6 : n === 5 ? 7 : n;
  }

  /**
   * Follows DR0-DR3/DR7 (debug-registers.ts): `debugActive` makes the CPU run one
   * instruction at a time with breakpoint checks; data breakpoints take their pages out
   * of the TLB's RAM fast path (the TLB is flushed so no entry keeps it).
   */
  updateDebugState(): void {
    const wasWatching = this.watch.active;
    this.debugActive = breakpointsEnabled(this.dr[7]);
    configureWatch(this.watch, this.dr);
    if (this.watch.active || wasWatching) this.flushTlb(false);
    this.attention = true;
  }

  private decodeModrmRegOnly(): void {
    const m = this.fetch8();
    this.modrm = m; this.mod = 3; this.reg = (m >> 3) & 7; this.rm = m & 7;
  }

  // ------------------------------------------------------------------ MSRs

  /** Reads MSR `index` into lo/hi (out params through `msrOut`); false when unknown. */
  readMsr(index: number): boolean {
    index |= 0;
    let lo = 0, hi = 0;
    switch (index) {
      case MSR_TSC: {
        const t = this.tscBase() + this.tscOffset;
        lo = t % 4294967296; hi = Math.floor(t / 4294967296);
        break;
      }
      case MSR_APIC_BASE:
      case MSR_TSC_DEADLINE:
        if (this.apicMsr !== undefined) {
          if (!this.apicMsr.readMsr(index, this.apicMsrOut)) return false;
          lo = this.apicMsrOut.lo; hi = this.apicMsrOut.hi;
          break;
        }
        if (index !== MSR_APIC_BASE || !this.features.apic) return false;
        lo = this.msrLo.get(index) ?? 0xfee00900; hi = 0;
        break;
      case MSR_SYSENTER_CS: lo = this.sysenterCs; break;
      case MSR_SYSENTER_ESP: lo = this.sysenterEsp; break;
      case MSR_SYSENTER_EIP: lo = this.sysenterEip; break;
      case MSR_PAT: lo = this.msrLo.get(index) ?? 0x00070406; hi = this.msrHi.get(index) ?? 0x00070406; break;
      case MSR_EFER: lo = this.efer; break;
      case MSR_MTRRCAP:
        if (!this.features.mtrr) return false;
        lo = 0x508; break;
      case 0x17: case 0x8b: case 0x1a0:
        lo = this.msrLo.get(index) ?? 0; hi = this.msrHi.get(index) ?? 0;
        break;
      default:
        if (this.isMtrr(index)) { lo = this.msrLo.get(index) ?? 0; hi = this.msrHi.get(index) ?? 0; break; }
        return false;
    }
    this.r32[EAX] = lo; this.r32[EDX] = hi;
    return true;
  }

  /** IA32_APIC_BASE[11] of the forwarded local APIC. */
  private apicGloballyEnabled(): boolean {
    return this.apicMsr !== undefined && this.apicMsr.readMsr(MSR_APIC_BASE, this.apicMsrOut) && (this.apicMsrOut.lo & APIC_BASE_ENABLE) !== 0;
  }

    private isMtrr(index: number): boolean {
    return this.features.mtrr && (index === MSR_MTRR_DEF_TYPE || (index >= 0x200 && index <= 0x20f) ||
      index === 0x250 || index === 0x258 || index === 0x259 || (index >= 0x268 && index <= 0x26f));
  }

  private rdmsr(): void {
    this.requireCpl0();
    const index = this.r32[ECX];
    if (!this.readMsr(index)) {
      this.logger?.warn(`cpu: RDMSR of unknown MSR 0x${(index >>> 0).toString(16)} -> #GP`);
      this.raise(EXC_GP, 0);
    }
  }

  private wrmsr(): void {
    this.requireCpl0();
    const index = this.r32[ECX];
    const lo = this.r32[EAX], hi = this.r32[EDX];
    switch (index) {
      case MSR_TSC: this.tscOffset = (hi >>> 0) * 4294967296 + (lo >>> 0) - this.tscBase(); return;
      case MSR_APIC_BASE:
      case MSR_TSC_DEADLINE:
        if (this.apicMsr !== undefined) {
          if (!this.apicMsr.writeMsr(index, lo, hi)) break;
          return;
        }
        if (index !== MSR_APIC_BASE || !this.features.apic) break;
        this.msrLo.set(index, lo);
        return;
      case MSR_SYSENTER_CS: this.sysenterCs = lo & 0xffff; return;
      case MSR_SYSENTER_ESP: this.sysenterEsp = lo; return;
      case MSR_SYSENTER_EIP: this.sysenterEip = lo; return;
      case MSR_PAT: this.msrLo.set(index, lo); this.msrHi.set(index, hi); return;
      case MSR_EFER: {
        const allowed = this.features.nx ? 0x800 : 0;
        if ((lo & ~(allowed | 1)) || hi) break;
        if ((this.efer ^ lo) & 0x800) this.flushTlb(false);
        this.efer = lo & allowed;
        return;
      }
      case 0x8b: case 0x1a0: case 0x17: this.msrLo.set(index, lo); this.msrHi.set(index, hi); return;
      default:
        if (this.isMtrr(index)) { this.msrLo.set(index, lo); this.msrHi.set(index, hi); return; }
    }
    this.logger?.warn(`cpu: WRMSR to unknown/invalid MSR 0x${(index >>> 0).toString(16)} -> #GP`);
    this.raise(EXC_GP, 0);
  }

  // ------------------------------------------------------------------ SYSENTER / SYSEXIT

  private sysenter(): void {
    if (!this.pe || (this.sysenterCs & 0xfffc) === 0) this.raise(EXC_GP, 0);
    this.getFlags();
    this.flags &= ~(VM | IF | RF);
    this.vm86 = false;
    const cs = this.sysenterCs & 0xfffc;
    this.flatSegment(CS, cs, 0x9b);
    this.flatSegment(SS, cs + 8, 0x93);
    this.setCpl(0);
    this.r32[ESP] = this.sysenterEsp;
    this.eip = this.sysenterEip;
  }

  private sysexit(): void {
    if (!this.pe || this.cpl !== 0 || this.vm86 || (this.sysenterCs & 0xfffc) === 0) this.raise(EXC_GP, 0);
    const cs = this.sysenterCs & 0xfffc;
    this.flatSegment(CS, (cs + 16) | 3, 0xfb);
    this.flatSegment(SS, (cs + 24) | 3, 0xf3);
    this.setCpl(3);
    this.r32[ESP] = this.r32[ECX];
    this.eip = this.r32[EDX];
  }

  private flatSegment(seg: number, sel: number, access: number): void {
    this.segSel[seg] = sel;
    this.segBase[seg] = 0;
    this.segLimit[seg] = -1;
    this.segAttr[seg] = access | 0xc000;
    if (seg === SS) this.updateStackSize(); else this.cs32 = true;
    this.refreshSegCheck(seg);
  }
}
