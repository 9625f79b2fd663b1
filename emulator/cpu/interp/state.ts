/**
 * Architectural register state of the interpreter and its lazy arithmetic flags.
 *
 * Follows Intel SDM Vol. 1 §3.4 (basic execution registers, EFLAGS) and Vol. 3A §2.5
 * (control registers). General-purpose registers live in one Int32Array with 16- and
 * 8-bit aliases over the same bytes (little-endian host assumed, as every JS engine is).
 *
 * Lazy flags: arithmetic instructions record their operands, result and width; CF, PF,
 * AF, ZF, SF and OF are computed only when read (`flagsDirty` marks which of them are
 * still pending). Leaves out: nothing architectural lives here beyond registers; faults
 * are raised through `raise`, which throws the core's preallocated fault signal.
 */

/** Register numbers as encoded in ModRM.reg / ModRM.rm. */
export const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

/** Segment register numbers (ModRM.reg encoding of MOV Sreg); 6 = LDTR and 7 = TR share the caches. */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;

/** EFLAGS bits (SDM Vol. 1 §3.4.3). */
export const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400,
  OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000, VIF = 0x80000,
  VIP = 0x100000, ID = 0x200000;
/** The six status flags computed lazily. */
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

/** CR0 bits (SDM Vol. 3A §2.5). */
export const CR0_PE = 0x1, CR0_MP = 0x2, CR0_EM = 0x4, CR0_TS = 0x8, CR0_ET = 0x10, CR0_NE = 0x20,
  CR0_WP = 0x10000, CR0_AM = 0x40000, CR0_NW = 0x20000000, CR0_CD = 0x40000000, CR0_PG = 0x80000000 | 0;
/** CR4 bits (SDM Vol. 3A §2.5). */
export const CR4_VME = 0x1, CR4_PVI = 0x2, CR4_TSD = 0x4, CR4_DE = 0x8, CR4_PSE = 0x10, CR4_PAE = 0x20,
  CR4_MCE = 0x40, CR4_PGE = 0x80, CR4_PCE = 0x100, CR4_OSFXSR = 0x200, CR4_OSXMMEXCPT = 0x400;

/** Exception vectors (SDM Vol. 3A §6.3.1). */
export const EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6, EXC_NM = 7,
  EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17,
  EXC_MC = 18, EXC_XM = 19;

/** Lazy-flag operation classes. */
export const LAZY_ADD = 0, LAZY_SUB = 1, LAZY_LOGIC = 2;

/** The object thrown to unwind an instruction that faulted; one per CPU, never allocated per fault. */
export class CpuFault {
  /** Exception vector. */
  vector = 0;
  /** Error code, or -1 when the exception pushes none. */
  errorCode = -1;
}

/** Index into the byte view of the register file for ModRM 8-bit register `r` (AL..BH). */
export function reg8Index(r: number): number {
  return ((r & 3) << 2) | (r >> 2);
}

/** Odd-parity lookup helper: returns PF (1 when the low byte has an even number of set bits). */
export function parityFlag(v: number): number {
  v &= 0xff;
  return (~(0x6996 >> ((v ^ (v >> 4)) & 0xf)) & 1) << 2;
}

/** Registers, segment caches and lazy flags. Extended by the memory, system and executor layers. */
export class CpuState {
  /** EAX..EDI. */
  readonly r32 = new Int32Array(8);
  /** 16-bit aliases: index r*2 is the low word of r32[r]. */
  readonly r16 = new Uint16Array(this.r32.buffer);
  /** Byte aliases: use reg8Index(). */
  readonly r8 = new Uint8Array(this.r32.buffer);
  /** Instruction pointer (offset in CS). */
  eip = 0;

  /** Selectors of ES, CS, SS, DS, FS, GS, LDTR, TR. */
  readonly segSel = new Uint16Array(8);
  /** Descriptor-cache bases (as int32; use >>> 0 for display). */
  readonly segBase = new Int32Array(8);
  /** Descriptor-cache limits (byte granular, as int32). */
  readonly segLimit = new Int32Array(8);
  /** Descriptor-cache attributes: bits 0-7 = access byte, 12-15 = AVL, L, D/B, G (descriptor bits 40-47, 52-55). */
  readonly segAttr = new Int32Array(8);

  /** GDTR / IDTR. */
  gdtBase = 0; gdtLimit = 0; idtBase = 0; idtLimit = 0x3ff;

  cr0 = CR0_ET; cr2 = 0; cr3 = 0; cr4 = 0;
  /** Debug registers DR0-DR7 (breakpoints: debug-registers.ts). */
  readonly dr = new Int32Array(8);
  /** Current privilege level. */
  cpl = 0;
  /** CS.D: default operand/address size is 32 bits. */
  cs32 = false;
  /** SS.B: stack pointer is ESP (else SP). */
  ss32 = false;
  /** Stack pointer mask: 0xffff or -1. */
  spMask = 0xffff;

  // ---- lazy EFLAGS ----
  /** EFLAGS with the arithmetic bits valid only where not in `flagsDirty`. */
  flags = 2;
  /** Which arithmetic flags must still be computed from the lazy operands. */
  flagsDirty = 0;
  lazyOp = LAZY_LOGIC;
  lazyA = 0;
  lazyB = 0;
  lazyR = 0;
  /** Sign bit of the lazy operation's width (0x80, 0x8000, 0x80000000). */
  lazyMsb = 0x80;

  /** The preallocated fault signal. */
  readonly faultSignal = new CpuFault();

  /** Raises exception `vector` with an optional error code: unwinds the current instruction. */
  raise(vector: number, errorCode = -1): never {
    this.faultSignal.vector = vector;
    this.faultSignal.errorCode = errorCode;
    throw this.faultSignal;
  }

  getCF(): number {
    if (!(this.flagsDirty & CF)) return this.flags & CF;
    const a = this.lazyA, b = this.lazyB, r = this.lazyR;
    switch (this.lazyOp) {
      case LAZY_ADD: return ((a & b) | ((a | b) & ~r)) & this.lazyMsb ? 1 : 0;
      case LAZY_SUB: return ((~a & b) | ((~a | b) & r)) & this.lazyMsb ? 1 : 0;
      default: return 0;
    }
  }

  getOF(): number {
    if (!(this.flagsDirty & OF)) return this.flags & OF;
    const a = this.lazyA, b = this.lazyB, r = this.lazyR;
    switch (this.lazyOp) {
      case LAZY_ADD: return ((a ^ r) & (b ^ r)) & this.lazyMsb ? OF : 0;
      case LAZY_SUB: return ((a ^ b) & (a ^ r)) & this.lazyMsb ? OF : 0;
      default: return 0;
    }
  }

  getAF(): number {
    if (!(this.flagsDirty & AF)) return this.flags & AF;
    if (this.lazyOp === LAZY_LOGIC) return 0;
    return (this.lazyA ^ this.lazyB ^ this.lazyR) & AF;
  }

  getZF(): number {
    if (!(this.flagsDirty & ZF)) return this.flags & ZF;
    return (this.lazyR & ((this.lazyMsb << 1) - 1)) === 0 ? ZF : 0;
  }

  getSF(): number {
    if (!(this.flagsDirty & SF)) return this.flags & SF;
    return this.lazyR & this.lazyMsb ? SF : 0;
  }

  getPF(): number {
    if (!(this.flagsDirty & PF)) return this.flags & PF;
    return parityFlag(this.lazyR);
  }

  /** The full EFLAGS value with all lazy bits materialised. */
  getFlags(): number {
    if (this.flagsDirty !== 0) {
      const f = this.getCF() | this.getPF() | this.getAF() | this.getZF() | this.getSF() | this.getOF();
      this.flags = (this.flags & ~ARITH_FLAGS) | f;
      this.flagsDirty = 0;
    }
    return this.flags | 2;
  }

  /** Materialises the lazy flags in `mask` into `flags` and keeps the others lazy. */
  protected settle(mask: number): void {
    const d = this.flagsDirty & mask;
    if (d === 0) return;
    let f = 0;
    if (d & CF) f |= this.getCF();
    if (d & PF) f |= this.getPF();
    if (d & AF) f |= this.getAF();
    if (d & ZF) f |= this.getZF();
    if (d & SF) f |= this.getSF();
    if (d & OF) f |= this.getOF();
    this.flags = (this.flags & ~d) | f;
    this.flagsDirty &= ~d;
  }

  /** Sets the arithmetic flags in `mask` from concrete bits `value` (others untouched). */
  setArith(mask: number, value: number): void {
    this.settle(ARITH_FLAGS & ~mask);
    this.flags = (this.flags & ~mask) | (value & mask);
    this.flagsDirty &= ~mask;
  }

  /** Records a lazy result for all six flags. */
  protected lazy(op: number, a: number, b: number, r: number, msb: number): void {
    this.lazyOp = op; this.lazyA = a; this.lazyB = b; this.lazyR = r; this.lazyMsb = msb;
    this.flagsDirty = ARITH_FLAGS;
  }

  /** Records a lazy result for every flag but CF (INC/DEC). */
  protected lazyKeepCF(op: number, a: number, b: number, r: number, msb: number): void {
    const cf = this.getCF();
    this.flags = (this.flags & ~CF) | cf;
    this.lazyOp = op; this.lazyA = a; this.lazyB = b; this.lazyR = r; this.lazyMsb = msb;
    this.flagsDirty = ARITH_FLAGS & ~CF;
  }

  /** Lazy ZF/SF/PF from `r` with CF/OF/AF set concretely (shifts, MUL, logic). */
  protected lazyResult(r: number, msb: number, concrete: number): void {
    this.lazyOp = LAZY_LOGIC; this.lazyR = r; this.lazyMsb = msb;
    this.flags = (this.flags & ~(CF | OF | AF)) | (concrete & (CF | OF | AF));
    this.flagsDirty = ZF | SF | PF;
  }

  /** The 8 ALU operations of opcodes 00-3F / group 1 (ADD OR ADC SBB AND SUB XOR CMP). Returns the result masked to the width. */
  alu(op: number, a: number, b: number, msb: number): number {
    const mask = (msb << 1) - 1;
    let r: number;
    switch (op) {
      case 0: r = (a + b) & mask; this.lazy(LAZY_ADD, a, b, r, msb); return r;
      case 1: r = (a | b) & mask; this.lazy(LAZY_LOGIC, a, b, r, msb); return r;
      case 2: r = (a + b + this.getCF()) & mask; this.lazy(LAZY_ADD, a, b, r, msb); return r;
      case 3: r = (a - b - this.getCF()) & mask; this.lazy(LAZY_SUB, a, b, r, msb); return r;
      case 4: r = (a & b) & mask; this.lazy(LAZY_LOGIC, a, b, r, msb); return r;
      case 5: case 7: r = (a - b) & mask; this.lazy(LAZY_SUB, a, b, r, msb); return r;
      default: r = (a ^ b) & mask; this.lazy(LAZY_LOGIC, a, b, r, msb); return r;
    }
  }

  /** INC with flags. */
  inc(a: number, msb: number): number {
    const r = (a + 1) & ((msb << 1) - 1);
    this.lazyKeepCF(LAZY_ADD, a, 1, r, msb);
    return r;
  }

  /** DEC with flags. */
  dec(a: number, msb: number): number {
    const r = (a - 1) & ((msb << 1) - 1);
    this.lazyKeepCF(LAZY_SUB, a, 1, r, msb);
    return r;
  }

  /** NEG with flags. */
  neg(a: number, msb: number): number {
    const r = (0 - a) & ((msb << 1) - 1);
    this.lazy(LAZY_SUB, 0, a, r, msb);
    return r;
  }

  /** Condition code `cc` (0-15) of Jcc/SETcc/CMOVcc. */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.getOF() !== 0; break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF() !== 0; break;
      case 3: r = (this.getCF() | this.getZF()) !== 0; break;
      case 4: r = this.getSF() !== 0; break;
      case 5: r = this.getPF() !== 0; break;
      case 6: r = (this.getSF() !== 0) !== (this.getOF() !== 0); break;
      default: r = this.getZF() !== 0 || ((this.getSF() !== 0) !== (this.getOF() !== 0)); break;
    }
    return (cc & 1) !== 0 ? !r : r;
  }

  /**
   * Shift/rotate group 2 (ROL ROR RCL RCR SHL SHR SAL SAR) with exact flags. `count` is
   * already masked to 5 bits. Undefined flags follow QEMU's TCG (AF cleared on shifts; OF
   * computed from the last single-bit step for counts > 1).
   */
  shift(op: number, v: number, count: number, bits: number): number {
    if (count === 0) return v;
    const msb = bits === 32 ? 0x80000000 | 0 : 1 << (bits - 1);
    const mask = bits === 32 ? -1 : (1 << bits) - 1;
    v &= mask;
    let r: number, cf: number, of: number;
    switch (op) {
      case 0: { // ROL
        const c = count & (bits - 1);
        r = c === 0 ? v : ((v << c) | (v >>> (bits - c))) & mask;
        cf = r & 1;
        of = ((r & msb) ? 1 : 0) ^ cf;
        this.setArith(CF | OF, cf | (of ? OF : 0));
        return r;
      }
      case 1: { // ROR
        const c = count & (bits - 1);
        r = c === 0 ? v : ((v >>> c) | (v << (bits - c))) & mask;
        cf = r & msb ? 1 : 0;
        of = cf ^ ((r & (msb >>> 1)) ? 1 : 0);
        this.setArith(CF | OF, cf | (of ? OF : 0));
        return r;
      }
      case 2: { // RCL
        const c = bits === 32 ? count : count % (bits + 1);
        if (c === 0) return v;
        cf = this.getCF();
        r = v;
        for (let i = 0; i < c; i++) {
          const out = r & msb ? 1 : 0;
          r = ((r << 1) | cf) & mask;
          cf = out;
        }
        of = ((r & msb) ? 1 : 0) ^ cf;
        this.setArith(CF | OF, cf | (of ? OF : 0));
        return r;
      }
      case 3: { // RCR
        const c = bits === 32 ? count : count % (bits + 1);
        if (c === 0) return v;
        cf = this.getCF();
        r = v;
        for (let i = 0; i < c; i++) {
          const out = r & 1;
          r = ((r >>> 1) | (cf ? msb : 0)) & mask;
          cf = out;
        }
        of = ((r & msb) ? 1 : 0) ^ ((r & (msb >>> 1)) ? 1 : 0);
        this.setArith(CF | OF, cf | (of ? OF : 0));
        return r;
      }
      case 4: case 6: { // SHL
        const src = count - 1 >= 32 ? 0 : (v << (count - 1)) & mask;
        r = count >= 32 ? 0 : (v << count) & mask;
        cf = count > bits ? 0 : src & msb ? 1 : 0;
        of = (src ^ r) & msb ? OF : 0;
        this.lazyResult(r, msb, cf | of);
        return r;
      }
      case 5: { // SHR
        const src = count - 1 >= 32 ? 0 : v >>> (count - 1);
        r = count >= 32 ? 0 : v >>> count;
        cf = src & 1;
        of = (src ^ r) & msb ? OF : 0;
        r &= mask;
        this.lazyResult(r, msb, cf | of);
        return r;
      }
      default: { // SAR
        const sv = bits === 32 ? v : (v << (32 - bits)) >> (32 - bits);
        const src = sv >> Math.min(count - 1, 31);
        r = (sv >> Math.min(count, 31)) & mask;
        cf = src & 1;
        of = 0;
        this.lazyResult(r, msb, cf | of);
        return r;
      }
    }
  }
}
