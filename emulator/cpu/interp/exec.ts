/**
 * The decoder and executor for the one-byte opcode map: prefixes (66/67, segment
 * overrides, LOCK, REP/REPNE), ModRM/SIB in 16- and 32-bit addressing, and the integer
 * instructions of the primary map (ALU, shifts/rotates, MUL/IMUL/DIV/IDIV, BCD, string ops
 * with REP, stack, control transfer, I/O, flag ops).
 *
 * Follows Intel SDM Vol. 2 (instruction pages; Appendix A opcode map, Table A-2) and
 * Vol. 1 §7 (general-purpose instructions). The 0F map lives in exec-0f.ts. LOCK is
 * accepted and ignored (one CPU, instructions are atomic here); its #UD on invalid targets
 * is raised. Memory operands are checked against their segment (limit, type, #AC) through
 * segment-checks.ts before the linear access when the segment is not flat.
 */
import {
  AF, CF, CS, DF, DS, EAX, EBP, EBX, ECX, EDI, EDX, ES, ESI, ESP, EXC_BP, EXC_BR, EXC_DE, EXC_GP, EXC_NM, EXC_OF,
  EXC_UD, IF, IOPL, OF, SF, SS, ZF, CR0_EM, CR0_TS, CR0_MP, PF, reg8Index, parityFlag, FS, GS,
  LAZY_LOGIC, CR4_VME,
} from './state.js';
import { SystemCore } from './system.js';
import { bulkMovs, bulkStos, elementsBeforeWrap16 } from './string-bulk.js';
import { loadVirtualFlags16, virtualCliSti, virtualFlags16, vmeFlagsVirtual, vmeRedirect } from './vme.js';

/** Receives diagnostics from the CPU (unimplemented opcodes, guest oddities). */
export interface CpuLogger {
  warn(message: string): void;
}

const MSB8 = 0x80, MSB16 = 0x8000, MSB32 = 0x80000000 | 0;
/** Iterations of a REP string instruction run before giving interrupts a chance. */
const REP_CHUNK = 4096;

/** Decoder/executor for the primary opcode map. */
export abstract class Executor extends SystemCore {
  // ---- per-instruction decode state (fields, never allocated) ----
  opsize32 = false;
  addrsize32 = false;
  /** Segment override (ES..GS) or -1. */
  segOverride = -1;
  /** 0, 0xf2 or 0xf3. */
  repPrefix = 0;
  /** Last of 0x66/0xf2/0xf3 seen (SIMD mandatory prefix). */
  lastPrefix = 0;
  lock = false;
  modrm = 0;
  mod = 0;
  reg = 0;
  rm = 0;
  /** Effective offset within the segment of the memory operand. */
  eaOff = 0;
  /** Segment of the memory operand. */
  eaSeg = DS;
  /** Linear address of the memory operand. */
  ea = 0;
  /** EIP / ESP at the start of the current instruction (restored on faults). */
  instrStart = 0;
  espStart = 0;
  /** Interrupts are inhibited for one instruction (MOV SS, POP SS, STI). */
  irqInhibit = false;
  /** The last instruction was MOV SS / POP SS: debug traps are inhibited too. */
  ssShadow = false;
  /** The CPU is halted (HLT) until an interrupt. */
  halted = false;
  /**
   * REP MOVS / REP STOS move whole runs of elements on RAM pages at once (string-bulk.ts).
   * When false, one element at a time (for differential tests; results are identical).
   */
  stringBulk = true;
  /** Diagnostics sink. */
  logger: CpuLogger | undefined;
  private readonly udLogged = new Uint8Array(0x200 / 8 + 1);

  // ------------------------------------------------------------------ fetch

  fetch8(): number {
    const lin = (this.segBase[CS] + this.eip) | 0;
    this.eip = (this.eip + 1) | 0;
    if ((lin >>> 12) === this.fetchPage) return this.u8[this.fetchDelta + (lin & 0xfff)];
    return this.fetchLin8(lin);
  }

  fetchS8(): number {
    return (this.fetch8() << 24) >> 24;
  }

  fetch16(): number {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if ((lin & 0xfff) <= 0xffe && (lin >>> 12) === this.fetchPage) {
      this.eip = (this.eip + 2) | 0;
      return this.view.getUint16(this.fetchDelta + (lin & 0xfff), true);
    }
    return this.fetch8() | (this.fetch8() << 8);
  }

  fetch32(): number {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if ((lin & 0xfff) <= 0xffc && (lin >>> 12) === this.fetchPage) {
      this.eip = (this.eip + 4) | 0;
      return this.view.getInt32(this.fetchDelta + (lin & 0xfff), true);
    }
    return this.fetch8() | (this.fetch8() << 8) | (this.fetch8() << 16) | (this.fetch8() << 24);
  }

  fetchV(): number {
    return this.opsize32 ? this.fetch32() : this.fetch16();
  }

  // ------------------------------------------------------------------ ModRM

  decodeModrm(): void {
    // Kept small so V8 inlines it into the handlers: register forms need no further call.
    const m = this.fetch8();
    this.modrm = m;
    this.mod = m >> 6;
    this.reg = (m >> 3) & 7;
    this.rm = m & 7;
    if (m < 0xc0) this.decodeEa();
  }

  /** Effective address of the memory operand (ModRM fields already set). */
  private decodeEa(): void {
    if (this.addrsize32) this.ea32(); else this.ea16();
    this.ea = (this.segBase[this.eaSeg] + this.eaOff) | 0;
  }

  private ea16(): void {
    const r = this.r16;
    let off: number, seg = DS;
    switch (this.rm) {
      case 0: off = r[EBX * 2] + r[ESI * 2]; break;
      case 1: off = r[EBX * 2] + r[EDI * 2]; break;
      case 2: off = r[EBP * 2] + r[ESI * 2]; seg = SS; break;
      case 3: off = r[EBP * 2] + r[EDI * 2]; seg = SS; break;
      case 4: off = r[ESI * 2]; break;
      case 5: off = r[EDI * 2]; break;
      case 6:
        if (this.mod === 0) { off = this.fetch16(); } else { off = r[EBP * 2]; seg = SS; }
        break;
      default: off = r[EBX * 2]; break;
    }
    if (this.mod === 1) off += this.fetchS8();
    else if (this.mod === 2) off += this.fetch16();
    this.eaOff = off & 0xffff;
    this.eaSeg = this.segOverride >= 0 ? this.segOverride : seg;
  }

  private ea32(): void {
    let off: number, seg = DS;
    if (this.rm === 4) {
      const sib = this.fetch8();
      const base = sib & 7, index = (sib >> 3) & 7;
      if (base === 5 && this.mod === 0) off = this.fetch32();
      else {
        off = this.r32[base];
        if (base === ESP || base === EBP) seg = SS;
      }
      if (index !== 4) off += this.r32[index] << (sib >> 6);
    } else if (this.rm === 5 && this.mod === 0) {
      off = this.fetch32();
    } else {
      off = this.r32[this.rm];
      if (this.rm === EBP) seg = SS;
    }
    if (this.mod === 1) off += this.fetchS8();
    else if (this.mod === 2) off += this.fetch32();
    this.eaOff = off | 0;
    this.eaSeg = this.segOverride >= 0 ? this.segOverride : seg;
  }

  // ------------------------------------------------------------------ operands

  getReg8(r: number): number { return this.r8[reg8Index(r)]; }
  setReg8(r: number, v: number): void { this.r8[reg8Index(r)] = v; }
  getRegV(r: number): number { return this.opsize32 ? this.r32[r] : this.r16[r * 2]; }
  setRegV(r: number, v: number): void { if (this.opsize32) this.r32[r] = v; else this.r16[r * 2] = v; }

  readE8(): number {
    if (this.mod === 3) return this.r8[reg8Index(this.rm)];
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 1, false);
    return this.readU8(this.ea);
  }
  writeE8(v: number): void {
    if (this.mod === 3) { this.r8[reg8Index(this.rm)] = v; return; }
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 1, true);
    this.writeU8(this.ea, v);
  }
  readE16(): number {
    if (this.mod === 3) return this.r16[this.rm * 2];
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 2, false);
    return this.readU16(this.ea);
  }
  writeE16(v: number): void {
    if (this.mod === 3) { this.r16[this.rm * 2] = v; return; }
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 2, true);
    this.writeU16(this.ea, v);
  }
  readE32(): number {
    if (this.mod === 3) return this.r32[this.rm];
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 4, false);
    return this.readU32(this.ea);
  }
  writeE32(v: number): void {
    if (this.mod === 3) { this.r32[this.rm] = v; return; }
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 4, true);
    this.writeU32(this.ea, v);
  }
  readEV(): number { return this.opsize32 ? this.readE32() : this.readE16(); }
  /** Read for read-modify-write: checks writability first so flags are never changed by a faulting write. */
  rmwE8(): number {
    if (this.mod === 3) return this.r8[reg8Index(this.rm)];
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 1, true);
    this.probeWrite(this.ea, 1);
    return this.readU8(this.ea);
  }
  rmwE16(): number {
    if (this.mod === 3) return this.r16[this.rm * 2];
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 2, true);
    this.probeWrite(this.ea, 2);
    return this.readU16(this.ea);
  }
  rmwE32(): number {
    if (this.mod === 3) return this.r32[this.rm];
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff, 4, true);
    this.probeWrite(this.ea, 4);
    return this.readU32(this.ea);
  }
  rmwEV(): number { return this.opsize32 ? this.rmwE32() : this.rmwE16(); }
  writeEV(v: number): void { if (this.opsize32) this.writeE32(v); else this.writeE16(v); }
  /**
   * Segment checks (segment-checks.ts) for an access of `size` bytes at `disp` bytes past
   * the decoded memory operand, for the instructions that address it through `ea` directly.
   */
  chkEa(size: number, write: boolean, disp = 0): void {
    if (((this.segChkMask >> this.eaSeg) & 1) !== 0) this.checkSeg(this.eaSeg, this.eaOff + disp, size, write);
  }
  /** Segment checks of an m16:16 / m16:32 far pointer operand (offset, then selector). */
  chkFarPointer(): void {
    const n = this.opsize32 ? 4 : 2;
    this.chkEa(n, false);
    this.chkEa(2, false, n);
  }
  /** Linear address of `seg`:`off` honouring an override (no segment checks; see `dataLin`). */
  segAddr(defSeg: number, off: number): number {
    return (this.segBase[this.segOverride >= 0 ? this.segOverride : defSeg] + off) | 0;
  }
  /** Linear address of `seg`:`off` honouring an override, for a checked access of `size` bytes. */
  dataLin(defSeg: number, off: number, size: number, write: boolean): number {
    return this.segLin(this.segOverride >= 0 ? this.segOverride : defSeg, off, size, write);
  }

  pushV(v: number): void { if (this.opsize32) this.push32(v); else this.push16(v); }
  popV(): number { return this.opsize32 ? this.pop32() : this.pop16(); }

  /** Raises #UD for an unimplemented or invalid opcode, logging each opcode once. */
  undefinedOpcode(op: number): never {
    const i = op & 0x1ff;
    if (!(this.udLogged[i >> 3] & (1 << (i & 7)))) {
      this.udLogged[i >> 3] |= 1 << (i & 7);
      this.logger?.warn(`cpu: #UD for opcode ${op >= 0x100 ? '0f ' : ''}${(op & 0xff).toString(16).padStart(2, '0')} at ${this.segSel[CS].toString(16)}:${(this.instrStart >>> 0).toString(16)}`);
    }
    return this.raise(EXC_UD);
  }

  /** Executes the 0F two-byte map (exec-0f.ts). */
  abstract exec0F(): void;
  /** Executes an x87 escape opcode D8-DF (ModRM decoded). */
  abstract execFpu(op: number): void;
  /** FWAIT. */
  abstract execWait(): void;

  // ------------------------------------------------------------------ step

  /** Decodes and executes one instruction. */
  step(): void {
    this.instrStart = this.eip;
    this.espStart = this.r32[ESP];
    this.irqInhibit = false;
    this.ssShadow = false;
    const def32 = this.cs32;
    this.opsize32 = def32;
    this.addrsize32 = def32;
    this.segOverride = -1;
    this.repPrefix = 0;
    this.lastPrefix = 0;
    this.lock = false;
    this.decodeFrom(this.fetch8());
  }

  /**
   * Decodes prefixes starting with the already-fetched byte `first`, then executes the
   * opcode (per-instruction state already reset, as `step` does).
   */
  decodeFrom(first: number): void {
    const def32 = this.cs32;
    let b = first;
    for (let n = 0; ; n++) {
      switch (b) {
        case 0x66: this.opsize32 = !def32; this.lastPrefix = 0x66; break;
        case 0x67: this.addrsize32 = !def32; break;
        case 0x26: this.segOverride = ES; break;
        case 0x2e: this.segOverride = CS; break;
        case 0x36: this.segOverride = SS; break;
        case 0x3e: this.segOverride = DS; break;
        case 0x64: this.segOverride = FS; break;
        case 0x65: this.segOverride = GS; break;
        case 0xf0: this.lock = true; break;
        case 0xf2: case 0xf3: this.repPrefix = b; this.lastPrefix = b; break;
        default:
          this.exec(b);
          return;
      }
      if (n >= 14) this.raise(EXC_GP, 0);
      b = this.fetch8();
    }
  }

  // Hot instructions live in small methods of their own: V8 does not inline anything into
  // the giant `exec` switch (it is over TurboFan's inlining size limit), so a case body
  // written inline pays a real call for every helper (decodeModrm, readE32, alu, lazy...),
  // while a small method gets its helpers inlined.

  private aluOp(op: number, form: number): void {
    switch (form) {
      case 0: this.aluEbGb(op); return;
      case 1: if (this.opsize32) this.aluEdGd(op); else this.aluEwGw(op); return;
      case 2: this.aluGbEb(op); return;
      case 3: if (this.opsize32) this.aluGdEd(op); else this.aluGwEw(op); return;
      case 4: this.aluAlIb(op); return;
      default: this.aluEaxIv(op);
    }
  }

  protected aluEbGb(op: number): void {
    this.decodeModrm();
    const a = op === 7 ? this.readE8() : this.rmwE8();
    const r = this.alu(op, a, this.getReg8(this.reg), MSB8);
    if (op !== 7) { this.writeE8(r); }
  }

  protected aluEdGd(op: number): void {
    this.decodeModrm();
    const r = this.alu(op, op === 7 ? this.readE32() : this.rmwE32(), this.r32[this.reg], MSB32);
    if (op !== 7) this.writeE32(r);
  }

  protected aluEwGw(op: number): void {
    this.decodeModrm();
    const r = this.alu(op, op === 7 ? this.readE16() : this.rmwE16(), this.r16[this.reg * 2], MSB16);
    if (op !== 7) this.writeE16(r);
  }

  protected aluGbEb(op: number): void {
    this.decodeModrm();
    const r = this.alu(op, this.getReg8(this.reg), this.readE8(), MSB8);
    if (op !== 7) this.setReg8(this.reg, r);
  }

  protected aluGdEd(op: number): void {
    this.decodeModrm();
    const r = this.alu(op, this.r32[this.reg], this.readE32(), MSB32);
    if (op !== 7) this.r32[this.reg] = r;
  }

  protected aluGwEw(op: number): void {
    this.decodeModrm();
    const r = this.alu(op, this.r16[this.reg * 2], this.readE16(), MSB16);
    if (op !== 7) this.r16[this.reg * 2] = r;
  }

  protected aluAlIb(op: number): void {
    const r = this.alu(op, this.r8[0], this.fetch8(), MSB8);
    if (op !== 7) this.r8[0] = r;
  }

  protected aluEaxIv(op: number): void {
    if (this.opsize32) {
      const r = this.alu(op, this.r32[EAX], this.fetch32(), MSB32);
      if (op !== 7) this.r32[EAX] = r;
    } else {
      const r = this.alu(op, this.r16[0], this.fetch16(), MSB16);
      if (op !== 7) this.r16[0] = r;
    }
  }

  protected incReg(r: number): void {
    if (this.opsize32) this.r32[r] = this.inc(this.r32[r], MSB32); else this.r16[r * 2] = this.inc(this.r16[r * 2], MSB16);
  }

  protected decReg(r: number): void {
    if (this.opsize32) this.r32[r] = this.dec(this.r32[r], MSB32); else this.r16[r * 2] = this.dec(this.r16[r * 2], MSB16);
  }

  protected pushReg(r: number): void {
    this.pushV(this.getRegV(r));
  }

  protected popReg(r: number): void {
    const v = this.popV();
    this.setRegV(r, v);
  }

  protected imulImm(op: number): void {
    this.decodeModrm();
    const src = this.opsize32 ? this.readE32() : (this.readE16() << 16) >> 16;
    const imm = op === 0x6b ? this.fetchS8() : this.opsize32 ? this.fetch32() : (this.fetch16() << 16) >> 16;
    this.setRegV(this.reg, this.imul2(src, imm));
  }

  protected jccShort(cc: number): void {
    const d = this.fetchS8();
    if (this.cond(cc)) this.jumpTo(this.eip + d);
  }

  /** Jcc rel16/rel32 (0F 80-8F). */
  jccNear(cc: number): void {
    const d = this.fetchV();
    if (this.cond(cc)) this.jumpTo(this.eip + d);
  }

  protected group1Eb(): void {
    this.decodeModrm();
    const a = this.reg === 7 ? this.readE8() : this.rmwE8();
    const r = this.alu(this.reg, a, this.fetch8(), MSB8);
    if (this.reg !== 7) this.writeE8(r);
  }

  protected group1Ed(op: number): void {
    this.decodeModrm();
    const a = this.reg === 7 ? this.readE32() : this.rmwE32();
    const b = op === 0x83 ? this.fetchS8() : this.fetch32();
    const r = this.alu(this.reg, a, b, MSB32);
    if (this.reg !== 7) this.writeE32(r);
  }

  protected group1Ew(op: number): void {
    this.decodeModrm();
    const a = this.reg === 7 ? this.readE16() : this.rmwE16();
    const b = op === 0x83 ? this.fetchS8() & 0xffff : this.fetch16();
    const r = this.alu(this.reg, a, b, MSB16);
    if (this.reg !== 7) this.writeE16(r);
  }

  protected testEbGb(): void {
    this.decodeModrm();
    this.alu(4, this.readE8(), this.getReg8(this.reg), MSB8);
  }

  protected testEvGv(): void {
    this.decodeModrm();
    if (this.opsize32) this.alu(4, this.readE32(), this.r32[this.reg], MSB32);
    else this.alu(4, this.readE16(), this.r16[this.reg * 2], MSB16);
  }

  protected movEbGb(): void { this.decodeModrm(); this.writeE8(this.getReg8(this.reg)); }
  protected movEvGv(): void {
    this.decodeModrm();
    if (this.opsize32) this.writeE32(this.r32[this.reg]); else this.writeE16(this.r16[this.reg * 2]);
  }
  protected movGbEb(): void { this.decodeModrm(); this.setReg8(this.reg, this.readE8()); }
  protected movGvEv(): void {
    this.decodeModrm();
    if (this.opsize32) this.r32[this.reg] = this.readE32(); else this.r16[this.reg * 2] = this.readE16();
  }

  protected lea(): void {
    this.decodeModrm();
    if (this.mod === 3) this.undefinedOpcode(0x8d);
    this.setRegV(this.reg, this.eaOff);
  }

  protected movRegImm(r: number): void {
    if (this.opsize32) this.r32[r] = this.fetch32(); else this.r16[r * 2] = this.fetch16();
  }

  protected shiftEbIb(): void {
    this.decodeModrm();
    const v = this.rmwE8();
    const c = this.fetch8() & 31;
    if (c !== 0) this.writeE8(this.shift(this.reg, v, c, 8));
  }

  protected shiftEvIb(): void {
    this.decodeModrm();
    const v = this.rmwEV();
    const c = this.fetch8() & 31;
    if (c !== 0) this.writeEV(this.shift(this.reg, v, c, this.opsize32 ? 32 : 16));
  }

  protected shiftGroup2(op: number): void {
    this.decodeModrm();
    const c = op & 2 ? this.r8[4] & 31 : 1;
    if (op & 1) {
      const v = this.rmwEV();
      if (c !== 0) this.writeEV(this.shift(this.reg, v, c, this.opsize32 ? 32 : 16));
    } else {
      const v = this.rmwE8();
      if (c !== 0) this.writeE8(this.shift(this.reg, v, c, 8));
    }
  }

  protected retNear(): void { this.jumpTo(this.popV()); }

  protected retNearImm(): void {
    const imm = this.fetch16();
    const t = this.popV();
    this.jumpTo(t);
    this.adjustSp(imm);
  }

  protected movEbIb(): void {
    this.decodeModrm();
    this.writeE8(this.fetch8());
  }

  protected movEvIv(): void {
    this.decodeModrm();
    this.writeEV(this.fetchV());
  }

  protected leave(): void {
    // LEAVE: (E)SP <- (E)BP; (E)BP <- pop
    const bp = this.r32[EBP];
    const sp = this.r32[ESP];
    if (this.ss32) this.r32[ESP] = bp; else this.r16[ESP * 2] = bp;
    try {
      this.setRegV(EBP, this.popV());
    } catch (e) {
      this.r32[ESP] = sp;
      throw e;
    }
  }

  protected callNear(): void {
    const d = this.fetchV();
    this.pushV(this.eip);
    this.jumpTo(this.eip + d);
  }

  protected jmpNear(): void { const d = this.fetchV(); this.jumpTo(this.eip + d); }
  protected jmpShort(): void { const d = this.fetchS8(); this.jumpTo(this.eip + d); }

  protected incDecEb(): void {
    this.decodeModrm();
    const v = this.rmwE8();
    if (this.reg === 0) this.writeE8(this.inc(v, MSB8));
    else if (this.reg === 1) this.writeE8(this.dec(v, MSB8));
    else this.undefinedOpcode(0xfe);
  }

  /** Near jump target masking: 16-bit operand size truncates EIP. */
  jumpTo(target: number): void {
    this.eip = this.opsize32 ? target | 0 : target & 0xffff;
  }

  /** Executes the opcode `op` (prefixes consumed). */
  exec(op: number): void {
    if (op < 0x40 && (op & 7) < 6) { this.aluOp(op >> 3, op & 7); return; }
    switch (op) {
      case 0x06: this.pushV(this.segSel[ES]); return;
      case 0x07: this.popSeg(ES); return;
      case 0x0e: this.pushV(this.segSel[CS]); return;
      case 0x0f: this.exec0F(); return;
      case 0x16: this.pushV(this.segSel[SS]); return;
      case 0x17: this.popSeg(SS); this.irqInhibit = true; this.ssShadow = true; return;
      case 0x1e: this.pushV(this.segSel[DS]); return;
      case 0x1f: this.popSeg(DS); return;
      case 0x27: this.daa(); return;
      case 0x2f: this.das(); return;
      case 0x37: this.aaa(); return;
      case 0x3f: this.aas(); return;
      case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
        this.incReg(op & 7);
        return;
      case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
        this.decReg(op & 7);
        return;
      case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
        this.pushReg(op & 7);
        return;
      case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
        this.popReg(op & 7);
        return;
      case 0x60: this.pusha(); return;
      case 0x61: this.popa(); return;
      case 0x62: this.bound(); return;
      case 0x63: this.arpl(); return;
      case 0x68: this.pushV(this.fetchV()); return;
      case 0x69: case 0x6b: this.imulImm(op); return;
      case 0x6a: this.pushV(this.fetchS8()); return;
      case 0x6c: this.ins(1); return;
      case 0x6d: this.ins(this.opsize32 ? 4 : 2); return;
      case 0x6e: this.outs(1); return;
      case 0x6f: this.outs(this.opsize32 ? 4 : 2); return;
      case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
      case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f:
        this.jccShort(op & 15);
        return;
      case 0x80: case 0x82: this.group1Eb(); return;
      case 0x81: case 0x83: if (this.opsize32) this.group1Ed(op); else this.group1Ew(op); return;
      case 0x84: this.testEbGb(); return;
      case 0x85: this.testEvGv(); return;
      case 0x86: {
        this.decodeModrm();
        const a = this.readE8();
        this.writeE8(this.getReg8(this.reg));
        this.setReg8(this.reg, a);
        return;
      }
      case 0x87: {
        this.decodeModrm();
        const a = this.readEV();
        this.writeEV(this.getRegV(this.reg));
        this.setRegV(this.reg, a);
        return;
      }
      case 0x88: this.movEbGb(); return;
      case 0x89: this.movEvGv(); return;
      case 0x8a: this.movGbEb(); return;
      case 0x8b: this.movGvEv(); return;
      case 0x8c: {
        this.decodeModrm();
        if (this.reg > 5) this.undefinedOpcode(op);
        const v = this.segSel[this.reg];
        if (this.mod === 3) this.setRegV(this.rm, v); else { this.chkEa(2, true); this.writeU16(this.ea, v); }
        return;
      }
      case 0x8d: this.lea(); return;
      case 0x8e: {
        this.decodeModrm();
        if (this.reg === CS || this.reg > 5) this.undefinedOpcode(op);
        this.loadSeg(this.reg, this.readE16());
        if (this.reg === SS) { this.irqInhibit = true; this.ssShadow = true; }
        return;
      }
      case 0x8f: {
        // POP Ev: ESP is incremented before the destination address is computed.
        const v = this.popV();
        this.decodeModrm();
        this.writeEV(v);
        return;
      }
      case 0x90:
        if (this.repPrefix === 0xf3) { /* PAUSE */ }
        return;
      case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
        const r = op & 7;
        const t = this.getRegV(r);
        this.setRegV(r, this.getRegV(EAX));
        this.setRegV(EAX, t);
        return;
      }
      case 0x98:
        if (this.opsize32) this.r32[EAX] = (this.r32[EAX] << 16) >> 16;
        else this.r16[0] = (this.r8[0] << 24) >> 24;
        return;
      case 0x99:
        if (this.opsize32) this.r32[EDX] = this.r32[EAX] >> 31;
        else this.r16[EDX * 2] = (this.r16[0] & 0x8000) ? 0xffff : 0;
        return;
      case 0x9a: {
        const off = this.fetchV();
        const sel = this.fetch16();
        this.farCall(sel, off, this.opsize32);
        return;
      }
      case 0x9b: this.execWait(); return;
      case 0x9c: {
        if (this.vm86 && ((this.flags & IOPL) >> 12) < 3) {
          if (!vmeFlagsVirtual(this, this.opsize32)) this.raise(EXC_GP, 0);
          this.push16(virtualFlags16(this));
          return;
        }
        const f = this.getFlags();
        if (this.opsize32) this.push32(f & 0xfcffff); else this.push16(f);
        return;
      }
      case 0x9d: {
        if (this.vm86 && ((this.flags & IOPL) >> 12) < 3) {
          if (!vmeFlagsVirtual(this, this.opsize32)) this.raise(EXC_GP, 0);
          loadVirtualFlags16(this, this.pop16());
          return;
        }
        const v = this.popV();
        this.writeFlags(v, this.popfMask(this.opsize32));
        this.attention = true;
        return;
      }
      case 0x9e: this.setArith(CF | PF | AF | ZF | SF, this.r8[1]); return;
      case 0x9f: this.r8[1] = (this.getFlags() & 0xd7) | 2; return;
      case 0xa0: this.r8[0] = this.readU8(this.dataLin(DS, this.moffs(), 1, false)); return;
      case 0xa1: {
        const a = this.dataLin(DS, this.moffs(), this.opsize32 ? 4 : 2, false);
        if (this.opsize32) this.r32[EAX] = this.readU32(a); else this.r16[0] = this.readU16(a);
        return;
      }
      case 0xa2: this.writeU8(this.dataLin(DS, this.moffs(), 1, true), this.r8[0]); return;
      case 0xa3: {
        const a = this.dataLin(DS, this.moffs(), this.opsize32 ? 4 : 2, true);
        if (this.opsize32) this.writeU32(a, this.r32[EAX]); else this.writeU16(a, this.r16[0]);
        return;
      }
      case 0xa4: this.movs(1); return;
      case 0xa5: this.movs(this.opsize32 ? 4 : 2); return;
      case 0xa6: this.cmps(1); return;
      case 0xa7: this.cmps(this.opsize32 ? 4 : 2); return;
      case 0xa8: this.alu(4, this.r8[0], this.fetch8(), MSB8); return;
      case 0xa9:
        if (this.opsize32) this.alu(4, this.r32[EAX], this.fetch32(), MSB32);
        else this.alu(4, this.r16[0], this.fetch16(), MSB16);
        return;
      case 0xaa: this.stos(1); return;
      case 0xab: this.stos(this.opsize32 ? 4 : 2); return;
      case 0xac: this.lods(1); return;
      case 0xad: this.lods(this.opsize32 ? 4 : 2); return;
      case 0xae: this.scas(1); return;
      case 0xaf: this.scas(this.opsize32 ? 4 : 2); return;
      case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
        this.setReg8(op & 7, this.fetch8());
        return;
      case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
        this.movRegImm(op & 7);
        return;
      case 0xc0: this.shiftEbIb(); return;
      case 0xc1: this.shiftEvIb(); return;
      case 0xc2: this.retNearImm(); return;
      case 0xc3: this.retNear(); return;
      case 0xc4: this.loadFarPointer(ES); return;
      case 0xc5: this.loadFarPointer(DS); return;
      case 0xc6: this.movEbIb(); return;
      case 0xc7: this.movEvIv(); return;
      case 0xc8: this.enter(); return;
      case 0xc9: this.leave(); return;
      case 0xca: this.farReturn(this.opsize32, this.fetch16()); return;
      case 0xcb: this.farReturn(this.opsize32, 0); return;
      case 0xcc: this.softInt(EXC_BP); return;
      case 0xcd: {
        const v = this.fetch8();
        if (this.vm86 && (this.cr4 & CR4_VME) !== 0 && vmeRedirect(this, v)) return;
        this.softInt(v);
        return;
      }
      case 0xce: if (this.getOF()) this.softInt(EXC_OF); return;
      case 0xcf: this.iret(this.opsize32); this.onIret(); return;
      case 0xd0: case 0xd1: case 0xd2: case 0xd3: this.shiftGroup2(op); return;
      case 0xd4: { // AAM
        const base = this.fetch8();
        if (base === 0) this.raise(EXC_DE);
        const al = this.r8[0];
        this.r8[1] = Math.floor(al / base);
        this.r8[0] = al % base;
        this.lazyResult(this.r8[0], MSB8, 0);
        return;
      }
      case 0xd5: { // AAD
        const base = this.fetch8();
        const al = (this.r8[0] + this.r8[1] * base) & 0xff;
        this.r16[0] = al;
        this.lazyResult(al, MSB8, 0);
        return;
      }
      case 0xd6: this.r8[0] = this.getCF() ? 0xff : 0; return; // SALC
      case 0xd7: {
        const off = this.addrsize32 ? (this.r32[EBX] + this.r8[0]) | 0 : (this.r16[EBX * 2] + this.r8[0]) & 0xffff;
        this.r8[0] = this.readU8(this.dataLin(DS, off, 1, false));
        return;
      }
      case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
        this.decodeModrm();
        if (this.cr0 & (CR0_EM | CR0_TS)) this.raise(EXC_NM);
        this.execFpu(op);
        return;
      case 0xe0: case 0xe1: case 0xe2: {
        const d = this.fetchS8();
        let c: number;
        if (this.addrsize32) c = this.r32[ECX] = this.r32[ECX] - 1;
        else c = this.r16[ECX * 2] = this.r16[ECX * 2] - 1;
        let take = c !== 0;
        if (op === 0xe0) take = take && !this.getZF();
        else if (op === 0xe1) take = take && this.getZF() !== 0;
        if (take) this.jumpTo(this.eip + d);
        return;
      }
      case 0xe3: {
        const d = this.fetchS8();
        const c = this.addrsize32 ? this.r32[ECX] : this.r16[ECX * 2];
        if (c === 0) this.jumpTo(this.eip + d);
        return;
      }
      case 0xe4: { const p = this.fetch8(); this.r8[0] = this.portIn(p, 1); return; }
      case 0xe5: {
        const p = this.fetch8();
        if (this.opsize32) this.r32[EAX] = this.portIn(p, 4); else this.r16[0] = this.portIn(p, 2);
        return;
      }
      case 0xe6: { const p = this.fetch8(); this.portOut(p, 1, this.r8[0]); return; }
      case 0xe7: {
        const p = this.fetch8();
        if (this.opsize32) this.portOut(p, 4, this.r32[EAX]); else this.portOut(p, 2, this.r16[0]);
        return;
      }
      case 0xe8: this.callNear(); return;
      case 0xe9: this.jmpNear(); return;
      case 0xea: {
        const off = this.fetchV();
        const sel = this.fetch16();
        this.farJump(sel, off, this.opsize32);
        return;
      }
      case 0xeb: this.jmpShort(); return;
      case 0xec: this.r8[0] = this.portIn(this.r16[EDX * 2], 1); return;
      case 0xed:
        if (this.opsize32) this.r32[EAX] = this.portIn(this.r16[EDX * 2], 4);
        else this.r16[0] = this.portIn(this.r16[EDX * 2], 2);
        return;
      case 0xee: this.portOut(this.r16[EDX * 2], 1, this.r8[0]); return;
      case 0xef:
        if (this.opsize32) this.portOut(this.r16[EDX * 2], 4, this.r32[EAX]);
        else this.portOut(this.r16[EDX * 2], 2, this.r16[0]);
        return;
      case 0xf1: this.softInt(1, true); return; // INT1 / ICEBP
      case 0xf4:
        if (this.pe && this.cpl !== 0) this.raise(EXC_GP, 0);
        this.halted = true;
        this.attention = true;
        return;
      case 0xf5: this.setArith(CF, this.getCF() ^ 1); return;
      case 0xf6: this.group3(8); return;
      case 0xf7: this.group3(this.opsize32 ? 32 : 16); return;
      case 0xf8: this.setArith(CF, 0); return;
      case 0xf9: this.setArith(CF, CF); return;
      case 0xfa:
        if (this.pe && this.cpl > ((this.flags & IOPL) >> 12)) { virtualCliSti(this, false); return; }
        this.flags &= ~IF;
        return;
      case 0xfb:
        if (this.pe && this.cpl > ((this.flags & IOPL) >> 12)) { virtualCliSti(this, true); return; }
        if (!(this.flags & IF)) { this.flags |= IF; this.irqInhibit = true; this.attention = true; }
        return;
      case 0xfc: this.flags &= ~DF; return;
      case 0xfd: this.flags |= DF; return;
      case 0xfe: this.incDecEb(); return;
      case 0xff: this.group5(); return;
      default:
        this.undefinedOpcode(op);
    }
  }

  /** Called after IRET (NMI unblocking is handled by the CPU). */
  protected onIret(): void {
    this.attention = true;
  }

  private moffs(): number {
    return this.addrsize32 ? this.fetch32() : this.fetch16();
  }

  private popSeg(seg: number): void {
    const sp = this.r32[ESP];
    const v = this.popV() & 0xffff;
    try {
      this.loadSeg(seg, v);
    } catch (e) {
      this.r32[ESP] = sp;
      throw e;
    }
  }

  private loadFarPointer(seg: number): void {
    this.decodeModrm();
    if (this.mod === 3) this.undefinedOpcode(0xc4);
    this.chkFarPointer();
    const off = this.opsize32 ? this.readU32(this.ea) : this.readU16(this.ea);
    const sel = this.readU16((this.ea + (this.opsize32 ? 4 : 2)) | 0);
    this.loadSeg(seg, sel);
    this.setRegV(this.reg, off);
  }

  /** Shared LxS for exec-0f (LSS/LFS/LGS; LSS creates no interrupt shadow). */
  loadFarPointerTo(seg: number): void {
    this.loadFarPointer(seg);
  }

  /** INT n / INT3 / INTO / INT1. */
  softInt(vector: number, icebp = false): void {
    this.deliverInterrupt(vector, !icebp, -1);
  }

  // ------------------------------------------------------------------ I/O

  portIn(port: number, size: 1 | 2 | 4): number {
    this.checkIoPermission(port, size);
    this.attention = true;
    const v = this.ops.pioRead(port & 0xffff, size);
    return size === 4 ? v | 0 : v & (size === 1 ? 0xff : 0xffff);
  }

  portOut(port: number, size: 1 | 2 | 4, v: number): void {
    this.checkIoPermission(port, size);
    this.attention = true;
    this.ops.pioWrite(port & 0xffff, size, size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff));
  }

  // ------------------------------------------------------------------ group 3 / 5

  protected group3(bits: number): void {
    this.decodeModrm();
    const msb = bits === 8 ? MSB8 : bits === 16 ? MSB16 : MSB32;
    const rmw = this.reg === 2 || this.reg === 3;
    const v = bits === 8 ? (rmw ? this.rmwE8() : this.readE8()) : bits === 16 ? (rmw ? this.rmwE16() : this.readE16()) : (rmw ? this.rmwE32() : this.readE32());
    switch (this.reg) {
      case 0: case 1: {
        const imm = bits === 8 ? this.fetch8() : bits === 16 ? this.fetch16() : this.fetch32();
        this.alu(4, v, imm, msb);
        return;
      }
      case 2: this.writeSized(bits, ~v); return;
      case 3: this.writeSized(bits, this.neg(v, msb)); return;
      case 4: this.mul(bits, v); return;
      case 5: this.imul1(bits, v); return;
      case 6: this.div(bits, v); return;
      default: this.idiv(bits, v); return;
    }
  }

  private writeSized(bits: number, v: number): void {
    if (bits === 8) this.writeE8(v); else if (bits === 16) this.writeE16(v); else this.writeE32(v);
  }

  private mul(bits: number, v: number): void {
    let hiNonZero: boolean;
    if (bits === 8) {
      const r = this.r8[0] * v;
      this.r16[0] = r;
      hiNonZero = (r & 0xff00) !== 0;
      this.lazyResult(r & 0xff, MSB8, hiNonZero ? CF | OF : 0);
    } else if (bits === 16) {
      const r = this.r16[0] * v;
      this.r16[0] = r;
      this.r16[EDX * 2] = r >>> 16;
      hiNonZero = (r >>> 16) !== 0;
      this.lazyResult(r & 0xffff, MSB16, hiNonZero ? CF | OF : 0);
    } else {
      const a = this.r32[EAX] >>> 0, b = v >>> 0;
      const lo = Math.imul(a, b);
      const hi = this.mulHigh(a, b);
      this.r32[EAX] = lo;
      this.r32[EDX] = hi;
      this.lazyResult(lo, MSB32, hi !== 0 ? CF | OF : 0);
    }
  }

  /** High 32 bits of an unsigned 32x32 product. */
  private mulHigh(a: number, b: number): number {
    const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
    const mid1 = aH * bL, mid2 = aL * bH;
    const lowPart = aL * bL;
    const carry = ((lowPart >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
    return (aH * bH + (mid1 >>> 16) + (mid2 >>> 16) + carry) | 0;
  }

  private imul1(bits: number, v: number): void {
    if (bits === 8) {
      const r = ((this.r8[0] << 24) >> 24) * ((v << 24) >> 24);
      this.r16[0] = r;
      const ovf = r !== ((r << 24) >> 24);
      this.lazyResult(r & 0xff, MSB8, ovf ? CF | OF : 0);
    } else if (bits === 16) {
      const r = ((this.r16[0] << 16) >> 16) * ((v << 16) >> 16);
      this.r16[0] = r;
      this.r16[EDX * 2] = r >> 16;
      const ovf = r !== ((r << 16) >> 16);
      this.lazyResult(r & 0xffff, MSB16, ovf ? CF | OF : 0);
    } else {
      const a = this.r32[EAX], b = v | 0;
      const lo = Math.imul(a, b);
      let hi = this.mulHigh(a >>> 0, b >>> 0);
      if (a < 0) hi = (hi - b) | 0;
      if (b < 0) hi = (hi - a) | 0;
      this.r32[EAX] = lo;
      this.r32[EDX] = hi;
      const ovf = hi !== (lo >> 31);
      this.lazyResult(lo, MSB32, ovf ? CF | OF : 0);
    }
  }

  /** Two/three-operand IMUL at the current operand size (src, imm already sign-extended). */
  imul2(a: number, b: number): number {
    if (this.opsize32) {
      const lo = Math.imul(a, b);
      let hi = this.mulHigh(a >>> 0, b >>> 0);
      if (a < 0) hi = (hi - b) | 0;
      if (b < 0) hi = (hi - a) | 0;
      this.lazyResult(lo, MSB32, hi !== (lo >> 31) ? CF | OF : 0);
      return lo;
    }
    const r = ((a << 16) >> 16) * ((b << 16) >> 16);
    this.lazyResult(r & 0xffff, MSB16, r !== ((r << 16) >> 16) ? CF | OF : 0);
    return r & 0xffff;
  }

  private div(bits: number, v: number): void {
    if (bits === 8) {
      if (v === 0) this.raise(EXC_DE);
      const n = this.r16[0];
      const q = Math.floor(n / v);
      if (q > 0xff) this.raise(EXC_DE);
      this.r8[0] = q; this.r8[1] = n % v;
    } else if (bits === 16) {
      if (v === 0) this.raise(EXC_DE);
      const n = ((this.r16[EDX * 2] << 16) | this.r16[0]) >>> 0;
      const q = Math.floor(n / v);
      if (q > 0xffff) this.raise(EXC_DE);
      this.r16[0] = q; this.r16[EDX * 2] = n % v;
    } else {
      const d = v >>> 0;
      if (d === 0) this.raise(EXC_DE);
      const hi = this.r32[EDX] >>> 0, lo = this.r32[EAX] >>> 0;
      if (hi >= d) this.raise(EXC_DE);
      if (hi === 0) {
        this.r32[EAX] = Math.floor(lo / d); this.r32[EDX] = lo % d;
      } else {
        this.divide64(hi, lo, d);
        this.r32[EAX] = this.divQ; this.r32[EDX] = this.divR;
      }
    }
  }

  /** Unsigned 64/32 division with hi < d: quotient to EAX, remainder to EDX (bitwise long division). */
  private divide64(hi: number, lo: number, d: number): void {
    let rem = hi, q = 0;
    for (let i = 31; i >= 0; i--) {
      const top = rem >= 0x80000000;
      rem = (rem * 2 + ((lo >>> i) & 1));
      q = q * 2;
      if (top || rem >= d) { rem -= d; q += 1; }
      rem = rem >>> 0 === rem ? rem : rem % 4294967296;
    }
    this.divQ = q;
    this.divR = rem;
  }
  private divQ = 0;
  private divR = 0;

  private idiv(bits: number, v: number): void {
    if (bits === 8) {
      const d = (v << 24) >> 24;
      if (d === 0) this.raise(EXC_DE);
      const n = (this.r16[0] << 16) >> 16;
      const q = Math.trunc(n / d);
      if (q > 127 || q < -128) this.raise(EXC_DE);
      this.r8[0] = q; this.r8[1] = n % d;
    } else if (bits === 16) {
      const d = (v << 16) >> 16;
      if (d === 0) this.raise(EXC_DE);
      const n = (this.r16[EDX * 2] << 16) | this.r16[0];
      const q = Math.trunc(n / d);
      if (q > 32767 || q < -32768) this.raise(EXC_DE);
      this.r16[0] = q; this.r16[EDX * 2] = n % d;
    } else {
      const d = v | 0;
      if (d === 0) this.raise(EXC_DE);
      let hi = this.r32[EDX], lo = this.r32[EAX] >>> 0;
      const negN = hi < 0;
      if (negN) { lo = (~lo + 1) >>> 0; hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0; } else hi >>>= 0;
      const ad = Math.abs(d);
      if (hi >= ad) this.raise(EXC_DE);
      this.divide64(hi, lo, ad);
      let q = this.divQ, r = this.divR;
      const negQ = negN !== (d < 0);
      if (negQ ? q > 0x80000000 : q > 0x7fffffff) this.raise(EXC_DE);
      q = negQ ? -q : q;
      r = negN ? -r : r;
      this.r32[EAX] = q; this.r32[EDX] = r;
    }
  }

  protected group5(): void {
    this.decodeModrm();
    switch (this.reg) {
      case 0: {
        const v = this.rmwEV();
        this.writeEV(this.inc(v, this.opsize32 ? MSB32 : MSB16));
        return;
      }
      case 1: {
        const v = this.rmwEV();
        this.writeEV(this.dec(v, this.opsize32 ? MSB32 : MSB16));
        return;
      }
      case 2: { const t = this.readEV(); this.pushV(this.eip); this.jumpTo(t); return; }
      case 3: {
        if (this.mod === 3) this.undefinedOpcode(0xff);
        this.chkFarPointer();
        const off = this.opsize32 ? this.readU32(this.ea) : this.readU16(this.ea);
        const sel = this.readU16((this.ea + (this.opsize32 ? 4 : 2)) | 0);
        this.farCall(sel, off, this.opsize32);
        return;
      }
      case 4: this.jumpTo(this.readEV()); return;
      case 5: {
        if (this.mod === 3) this.undefinedOpcode(0xff);
        this.chkFarPointer();
        const off = this.opsize32 ? this.readU32(this.ea) : this.readU16(this.ea);
        const sel = this.readU16((this.ea + (this.opsize32 ? 4 : 2)) | 0);
        this.farJump(sel, off, this.opsize32);
        return;
      }
      case 6: this.pushV(this.readEV()); return;
      default: this.undefinedOpcode(0xff);
    }
  }

  // ------------------------------------------------------------------ misc

  private pusha(): void {
    const sp = this.r32[ESP];
    if (this.opsize32) {
      for (let i = 0; i < 8; i++) this.push32(i === ESP ? sp : this.r32[i]);
    } else {
      for (let i = 0; i < 8; i++) this.push16(i === ESP ? sp : this.r16[i * 2]);
    }
  }

  private popa(): void {
    for (let i = 7; i >= 0; i--) {
      const v = this.popV();
      if (i !== ESP) this.setRegV(i, v);
    }
  }

  private bound(): void {
    this.decodeModrm();
    if (this.mod === 3) this.undefinedOpcode(0x62);
    if (this.opsize32) {
      const idx = this.r32[this.reg];
      this.chkEa(4, false); this.chkEa(4, false, 4);
      const lo = this.readU32(this.ea), hi = this.readU32((this.ea + 4) | 0);
      if (idx < lo || idx > hi) this.raise(EXC_BR);
    } else {
      const idx = (this.r16[this.reg * 2] << 16) >> 16;
      this.chkEa(2, false); this.chkEa(2, false, 2);
      const lo = (this.readU16(this.ea) << 16) >> 16, hi = (this.readU16((this.ea + 2) | 0) << 16) >> 16;
      if (idx < lo || idx > hi) this.raise(EXC_BR);
    }
  }

  private arpl(): void {
    if (!this.pe || this.vm86) this.undefinedOpcode(0x63);
    this.decodeModrm();
    const dst = this.readE16();
    const src = this.r16[this.reg * 2];
    if ((dst & 3) < (src & 3)) {
      this.writeE16((dst & ~3) | (src & 3));
      this.setArith(ZF, ZF);
    } else {
      this.setArith(ZF, 0);
    }
  }

  private enter(): void {
    const size = this.fetch16();
    const level = this.fetch8() & 31;
    const osz = this.opsize32 ? 4 : 2;
    const bp = this.r32[EBP];
    this.pushV(bp);
    const frame = this.r32[ESP];
    if (level > 0) {
      let tbp = bp;
      for (let i = 1; i < level; i++) {
        tbp = this.ss32 ? tbp - osz : (tbp & ~0xffff) | ((tbp - osz) & 0xffff);
        const lin = this.segLin(SS, tbp & this.spMask, osz, false);
        const v = this.opsize32 ? this.readU32(lin) : this.readU16(lin);
        this.pushV(v);
      }
      this.pushV(frame);
    }
    if (this.opsize32) this.r32[EBP] = frame; else this.r16[EBP * 2] = frame;
    this.adjustSp(-size);
    // Touch the lowest byte of the new frame (ENTER faults if it is not writable).
    this.probeWrite(this.segLin(SS, this.r32[ESP] & this.spMask, 1, true), 1);
  }

  // ---- BCD (SDM DAA/DAS/AAA/AAS; undefined flags as QEMU: OF from the lazy result, AAA/AAS clear SZP-undefined per Intel) ----
  private daa(): void {
    const oldAl = this.r8[0], oldCf = this.getCF();
    let al = oldAl, cf = 0, af = 0;
    if ((al & 0xf) > 9 || this.getAF()) { al = (al + 6) & 0xff; af = AF; }
    if (oldAl > 0x99 || oldCf) { al = (al + 0x60) & 0xff; cf = CF; }
    this.r8[0] = al;
    this.setBcdFlags(al, cf | af);
  }

  private das(): void {
    const oldAl = this.r8[0], oldCf = this.getCF();
    let al = oldAl, cf = 0, af = 0;
    if ((al & 0xf) > 9 || this.getAF()) { al = (al - 6) & 0xff; af = AF; }
    if (oldAl > 0x99 || oldCf) { al = (al - 0x60) & 0xff; cf = CF; }
    this.r8[0] = al;
    this.setBcdFlags(al, cf | af);
  }

  private setBcdFlags(al: number, cfaf: number): void {
    const f = cfaf | parityFlag(al) | (al === 0 ? ZF : 0) | (al & 0x80 ? SF : 0);
    this.flags = (this.flags & ~(CF | PF | AF | ZF | SF | OF)) | f;
    this.flagsDirty = 0;
  }

  private aaa(): void {
    if ((this.r8[0] & 0xf) > 9 || this.getAF()) {
      this.r16[0] = this.r16[0] + 0x106;
      this.r8[0] &= 0xf;
      this.setArith(CF | AF | OF | SF | ZF | PF, CF | AF | (this.r8[0] === 0 ? ZF : 0) | parityFlag(this.r8[0]));
    } else {
      this.r8[0] &= 0xf;
      this.setArith(CF | AF | OF | SF | ZF | PF, (this.r8[0] === 0 ? ZF : 0) | parityFlag(this.r8[0]));
    }
  }

  private aas(): void {
    if ((this.r8[0] & 0xf) > 9 || this.getAF()) {
      this.r16[0] = this.r16[0] - 6;
      this.r8[1] = this.r8[1] - 1;
      this.r8[0] &= 0xf;
      this.setArith(CF | AF | OF | SF | ZF | PF, CF | AF | (this.r8[0] === 0 ? ZF : 0) | parityFlag(this.r8[0]));
    } else {
      this.r8[0] &= 0xf;
      this.setArith(CF | AF | OF | SF | ZF | PF, (this.r8[0] === 0 ? ZF : 0) | parityFlag(this.r8[0]));
    }
  }

  // ------------------------------------------------------------------ string instructions

  /** Current count register for REP (CX or ECX by address size). */
  private getCount(): number { return this.addrsize32 ? this.r32[ECX] >>> 0 : this.r16[ECX * 2]; }
  private setCount(v: number): void { if (this.addrsize32) this.r32[ECX] = v; else this.r16[ECX * 2] = v; }
  private getSI(): number { return this.addrsize32 ? this.r32[ESI] : this.r16[ESI * 2]; }
  private getDI(): number { return this.addrsize32 ? this.r32[EDI] : this.r16[EDI * 2]; }
  private addSI(d: number): void { if (this.addrsize32) this.r32[ESI] = this.r32[ESI] + d; else this.r16[ESI * 2] = this.r16[ESI * 2] + d; }
  private addDI(d: number): void { if (this.addrsize32) this.r32[EDI] = this.r32[EDI] + d; else this.r16[EDI * 2] = this.r16[EDI * 2] + d; }

  private readSized(lin: number, size: number): number {
    return size === 1 ? this.readU8(lin) : size === 2 ? this.readU16(lin) : this.readU32(lin);
  }

  private writeSizedLin(lin: number, size: number, v: number): void {
    if (size === 1) this.writeU8(lin, v); else if (size === 2) this.writeU16(lin, v); else this.writeU32(lin, v);
  }

  /** Called when a REP string instruction stops early: re-executes it later. */
  private repAgain(): void {
    this.eip = this.instrStart;
  }

  private movs(size: number): void {
    const d = this.flags & DF ? -size : size;
    const srcSeg = this.segOverride >= 0 ? this.segOverride : DS;
    if (this.repPrefix === 0) {
      const v = this.readSized(this.segLin(srcSeg, this.getSI(), size, false), size);
      this.writeSizedLin(this.segLin(ES, this.getDI(), size, true), size, v);
      this.addSI(d); this.addDI(d);
      return;
    }
    let c = this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK || (n > 0 && this.attention)) { this.repAgain(); return; }
      const src = (this.segBase[srcSeg] + this.getSI()) | 0, dst = (this.segBase[ES] + this.getDI()) | 0;
      if (this.stringBulk && !this.attention) {
        // Whole runs of elements on RAM pages at once (string-bulk.ts); the loop goes on after them.
        const down = d < 0;
        let max = Math.min(c, REP_CHUNK - n);
        if (!this.addrsize32) {
          max = Math.min(max, elementsBeforeWrap16(this.getSI(), size, down), elementsBeforeWrap16(this.getDI(), size, down));
        }
        // Within the segment limits (0 when a segment fault may come: element by element then).
        if ((this.segChkMask & ((1 << srcSeg) | 1)) !== 0) {
          max = Math.min(max, this.segElements(srcSeg, this.getSI(), size, down, false), this.segElements(ES, this.getDI(), size, down, true));
        }
        const k = max > 0 ? bulkMovs(this, src, dst, size, max, down) : 0;
        if (k > 0) {
          this.addSI(d * k); this.addDI(d * k);
          c = (c - k) >>> 0;
          this.setCount(c);
          n += k - 1;
          continue;
        }
      }
      if (((this.segChkMask >> srcSeg) & 1) !== 0) this.checkSeg(srcSeg, this.getSI(), size, false);
      const v = this.readSized(src, size);
      if ((this.segChkMask & 1) !== 0) this.checkSeg(ES, this.getDI(), size, true);
      this.writeSizedLin(dst, size, v);
      this.addSI(d); this.addDI(d);
      c = (c - 1) >>> 0;
      this.setCount(c);
    }
  }

  private stos(size: number): void {
    const d = this.flags & DF ? -size : size;
    const v = size === 1 ? this.r8[0] : size === 2 ? this.r16[0] : this.r32[EAX];
    if (this.repPrefix === 0) {
      this.writeSizedLin(this.segLin(ES, this.getDI(), size, true), size, v);
      this.addDI(d);
      return;
    }
    let c = this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK || (n > 0 && this.attention)) { this.repAgain(); return; }
      const dst = (this.segBase[ES] + this.getDI()) | 0;
      if (this.stringBulk && !this.attention) {
        const down = d < 0;
        let max = Math.min(c, REP_CHUNK - n);
        if (!this.addrsize32) max = Math.min(max, elementsBeforeWrap16(this.getDI(), size, down));
        if ((this.segChkMask & 1) !== 0) max = Math.min(max, this.segElements(ES, this.getDI(), size, down, true));
        const k = max > 0 ? bulkStos(this, dst, size, v, max, down) : 0;
        if (k > 0) {
          this.addDI(d * k);
          c = (c - k) >>> 0;
          this.setCount(c);
          n += k - 1;
          continue;
        }
      }
      if ((this.segChkMask & 1) !== 0) this.checkSeg(ES, this.getDI(), size, true);
      this.writeSizedLin(dst, size, v);
      this.addDI(d);
      c = (c - 1) >>> 0;
      this.setCount(c);
    }
  }

  private lods(size: number): void {
    const d = this.flags & DF ? -size : size;
    const seg = this.segOverride >= 0 ? this.segOverride : DS;
    let c = this.repPrefix === 0 ? 1 : this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK) { this.repAgain(); return; }
      const v = this.readSized(this.segLin(seg, this.getSI(), size, false), size);
      if (size === 1) this.r8[0] = v; else if (size === 2) this.r16[0] = v; else this.r32[EAX] = v;
      this.addSI(d);
      c = (c - 1) >>> 0;
      if (this.repPrefix !== 0) this.setCount(c);
    }
  }

  private cmps(size: number): void {
    const d = this.flags & DF ? -size : size;
    const msb = size === 1 ? MSB8 : size === 2 ? MSB16 : MSB32;
    const seg = this.segOverride >= 0 ? this.segOverride : DS;
    const rep = this.repPrefix;
    let c = rep === 0 ? 1 : this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK || (n > 0 && this.attention)) { this.repAgain(); return; }
      const a = this.readSized(this.segLin(seg, this.getSI(), size, false), size);
      const b = this.readSized(this.segLin(ES, this.getDI(), size, false), size);
      this.alu(7, a, b, msb);
      this.addSI(d); this.addDI(d);
      if (rep === 0) return;
      c = (c - 1) >>> 0;
      this.setCount(c);
      const z = this.getZF() !== 0;
      if (rep === 0xf3 ? !z : z) return;
    }
  }

  private scas(size: number): void {
    const d = this.flags & DF ? -size : size;
    const msb = size === 1 ? MSB8 : size === 2 ? MSB16 : MSB32;
    const a = size === 1 ? this.r8[0] : size === 2 ? this.r16[0] : this.r32[EAX];
    const rep = this.repPrefix;
    let c = rep === 0 ? 1 : this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK || (n > 0 && this.attention)) { this.repAgain(); return; }
      const b = this.readSized(this.segLin(ES, this.getDI(), size, false), size);
      this.alu(7, a, b, msb);
      this.addDI(d);
      if (rep === 0) return;
      c = (c - 1) >>> 0;
      this.setCount(c);
      const z = this.getZF() !== 0;
      if (rep === 0xf3 ? !z : z) return;
    }
  }

  private ins(size: 1 | 2 | 4): void {
    const d = this.flags & DF ? -size : size;
    const port = this.r16[EDX * 2];
    this.checkIoPermission(port, size);
    let c = this.repPrefix === 0 ? 1 : this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK) { this.repAgain(); return; }
      const lin = this.segLin(ES, this.getDI(), size, true);
      this.probeWrite(lin, size);
      this.attention = true;
      const v = this.ops.pioRead(port, size);
      this.writeSizedLin(lin, size, v);
      this.addDI(d);
      c = (c - 1) >>> 0;
      if (this.repPrefix !== 0) this.setCount(c);
    }
  }

  private outs(size: 1 | 2 | 4): void {
    const d = this.flags & DF ? -size : size;
    const port = this.r16[EDX * 2];
    const seg = this.segOverride >= 0 ? this.segOverride : DS;
    this.checkIoPermission(port, size);
    let c = this.repPrefix === 0 ? 1 : this.getCount();
    for (let n = 0; c !== 0; n++) {
      if (n >= REP_CHUNK) { this.repAgain(); return; }
      const v = this.readSized(this.segLin(seg, this.getSI(), size, false), size);
      this.attention = true;
      this.ops.pioWrite(port, size, size === 4 ? v >>> 0 : v);
      this.addSI(d);
      c = (c - 1) >>> 0;
      if (this.repPrefix !== 0) this.setCount(c);
    }
  }

  /** WAIT/FWAIT without an x87 unit: #NM when CR0.MP and CR0.TS. */
  protected waitNoFpu(): void {
    if ((this.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) this.raise(EXC_NM);
  }

  /** Sets lazy flags as for a logic result (used by exec-0f BSF/BSR etc.). */
  setLogicFlags(r: number, msb: number): void {
    this.lazyOp = LAZY_LOGIC; this.lazyR = r; this.lazyMsb = msb; this.lazyA = 0; this.lazyB = 0;
    this.flags &= ~(CF | OF | AF);
    this.flagsDirty = ZF | SF | PF;
  }
}
