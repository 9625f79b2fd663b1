/**
 * The decoded-instruction cache of the interpreter: frequent instructions are decoded once
 * (prefixes, opcode, ModRM/SIB, displacement, immediate) into a compact record, and run
 * from the record afterwards (exec-cached.ts) without fetching or decoding their bytes.
 *
 * Records live in one Int32Array of `DC_STRIDE` words each, grouped into basic blocks
 * (block-cache.ts) keyed by the byte offset of their first instruction in the backing
 * store (`GuestMemory.u8`), which the instruction-fetch TLB already knows. Keying by backing
 * offset makes the records independent of paging, segmentation and the physical map:
 * CR0/CR3/CR4 writes, INVLPG and PhysMap remaps only change which offset EIP leads to
 * (the fetch TLB is dropped on all of them). A record is valid while
 *   - the generation of its backing page in `CodeWatch` is unchanged (every CPU store and
 *     every `GuestMemory.notifyWrite` to a page holding decoded code bumps it), and
 *   - the default operand/address size (CS.D) it was decoded for is the current one;
 * both are folded into one word, `(pageGen << 1) | CS.D`. Instructions that cross a page
 * boundary, carry LOCK/REP prefixes or are not in the supported set are recorded as
 * `OP_LEGACY` and run through the ordinary fetch/decode path.
 *
 * Record layout (word offsets from the record's base):
 *   0 tag    backing offset of the first byte
 *   1 gen    (pageGen << 1) | CS.D at decode time
 *   2 op     OP_* handler number (0 = legacy)
 *   3 len    instruction length in bytes, prefixes included
 *   4 ops    packed operands: see the F_* / *_SHIFT constants
 *   5 disp   displacement of the memory operand (or the moffs / near branch offset)
 *   6 imm    immediate (sign- or zero-extended as the instruction defines)
 */
import { CS, DS, EBP, EBX, EDI, ES, ESI, ESP, FS, GS, SS } from './state.js';

/** Number of records in a CPU's record arena. */
export const DC_ENTRIES = 1 << 17;
/** Words per record. */
export const DC_STRIDE = 8;
/** Word offsets inside a record. */
export const DC_TAG = 0, DC_GEN = 1, DC_OP = 2, DC_LEN = 3, DC_OPS = 4, DC_DISP = 5, DC_IMM = 6;

// ---- packed operand word (DC_OPS) ----
/** ModRM.reg, or the register of +r opcodes (bits 0-2). */
export const REG_MASK = 7;
/** Sub-operation (ALU op, shift op, condition code): bits 4-7. */
export const SUB_SHIFT = 4;
/** Register operand (ModRM.rm with mod = 3) or base register (8 = none): bits 8-11. */
export const BASE_SHIFT = 8;
/** Index register (8 = none): bits 12-15. */
export const INDEX_SHIFT = 12;
/** SIB scale: bits 16-17. */
export const SCALE_SHIFT = 16;
/** Effective segment of the memory operand: bits 18-20. */
export const SEG_SHIFT = 18;
/** The E operand is memory (else the register in BASE). */
export const F_MEM = 1 << 21;
/** 16-bit addressing: the offset wraps at 64 KiB. */
export const F_A16 = 1 << 22;
/** 32-bit operand size. */
export const F_O32 = 1 << 23;
/** Shift count comes from CL (shift group), else from `imm`. */
export const F_CL = 1 << 24;
/** No base / index register. */
export const NO_REG = 8;

// ---- handler numbers ----
export const OP_LEGACY = 0;
/** ALU Eb,Gb / Ev,Gv (SUB = ALU op). */
export const OP_ALU_EG8 = 1, OP_ALU_EG = 2;
/** ALU Gb,Eb / Gv,Ev. */
export const OP_ALU_GE8 = 3, OP_ALU_GE = 4;
/** ALU AL,Ib / eAX,Iv. */
export const OP_ALU_AI8 = 5, OP_ALU_AI = 6;
/** Group 1 Eb,Ib / Ev,Iv / Ev,Ib (imm sign-extended). */
export const OP_GRP1_8 = 7, OP_GRP1 = 8;
/** TEST Eb,Gb / Ev,Gv / AL,Ib / eAX,Iv / Eb,Ib / Ev,Iv. */
export const OP_TEST_EG8 = 9, OP_TEST_EG = 10, OP_TEST_AI8 = 11, OP_TEST_AI = 12, OP_TEST_EI8 = 13, OP_TEST_EI = 14;
/** MOV Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / Eb,Ib / Ev,Iv / r8,Ib / r,Iv; LEA. */
export const OP_MOV_EG8 = 15, OP_MOV_EG = 16, OP_MOV_GE8 = 17, OP_MOV_GE = 18, OP_MOV_EI8 = 19, OP_MOV_EI = 20,
  OP_MOV_RI8 = 21, OP_MOV_RI = 22, OP_LEA = 23;
/** INC/DEC/PUSH/POP r; PUSH imm. */
export const OP_INC_R = 24, OP_DEC_R = 25, OP_PUSH_R = 26, OP_POP_R = 27, OP_PUSH_I = 28;
/** Jcc (SUB = cc), JMP, CALL rel; RET; RET imm16. */
export const OP_JCC = 29, OP_JMP = 30, OP_CALL = 31, OP_RET = 32, OP_RET_I = 33;
/** MOVZX/MOVSX from 8 / 16 bits. */
export const OP_MOVZX8 = 34, OP_MOVZX16 = 35, OP_MOVSX8 = 36, OP_MOVSX16 = 37;
/** Shift group 2 (SUB = shift op; count in imm or CL). */
export const OP_SHIFT8 = 38, OP_SHIFT = 39;
/** NOT / NEG Eb / Ev. */
export const OP_NOT8 = 40, OP_NOT = 41, OP_NEG8 = 42, OP_NEG = 43;
/** INC/DEC Eb / Ev (SUB 0 = INC, 1 = DEC); CALL/JMP/PUSH Ev. */
export const OP_INCDEC_E8 = 44, OP_INCDEC_E = 45, OP_CALL_E = 46, OP_JMP_E = 47, OP_PUSH_E = 48;
/** SETcc, CMOVcc (SUB = cc); IMUL Gv,Ev; IMUL Gv,Ev,imm. */
export const OP_SETCC = 49, OP_CMOV = 50, OP_IMUL_GE = 51, OP_IMUL_GEI = 52;
/** CBW/CWDE, CWD/CDQ, NOP, CLC, STC, CLD, STD, LEAVE, XCHG r,eAX. */
export const OP_CWDE = 53, OP_CDQ = 54, OP_NOP = 55, OP_CLC = 56, OP_STC = 57, OP_CLD = 58, OP_STD = 59, OP_LEAVE = 60,
  OP_XCHG_AX = 61;

// Specialised forms (see `specialise`): 32-bit operand size, one handler per operand shape.
/** MOV r32,[mem] / MOV [mem],r32 / MOV r32,r32 (REG = destination, BASE = source). */
export const OP_LD32 = 62, OP_ST32 = 63, OP_MOV_RR32 = 64;
/** ALU (SUB) r32,r32 (REG = destination, BASE = source) / r32,[mem] / [mem],r32. */
export const OP_ALU_RR32 = 65, OP_ALU_RM32 = 66, OP_ALU_MR32 = 67;
/** ALU (SUB) r32,imm (BASE = destination) / [mem],imm. */
export const OP_ALU_RI32 = 68, OP_ALU_MI32 = 69;
/** LEA r32 with 32-bit addressing. */
export const OP_LEA32 = 70;
/** SHL / SHR / SAR r32 (BASE) by an immediate count of 1-31 (in imm). */
export const OP_SHL_RI32 = 71, OP_SHR_RI32 = 72, OP_SAR_RI32 = 73;
/** TEST r32,r32 (REG, BASE). */
export const OP_TEST_RR32 = 74;
/** MOVZX r32, byte [mem] / word [mem]. */
export const OP_LDZX8_32 = 75, OP_LDZX16_32 = 76;

/**
 * Decodes the instruction at byte offset `off` of `u8` for default operand size `def32`
 * into the record at word index `s` of `c` (words DC_OP..DC_IMM; the caller sets the tag
 * and generation).
 * Never reads past the end of `off`'s 4 KiB page: instructions that would cross it are
 * recorded as `OP_LEGACY`, as is everything outside the supported set.
 */
export function decodeInstr(u8: Uint8Array, off: number, def32: boolean, c: Int32Array, s: number): void {
  const end = (off | 0xfff) + 1;
  let p = off;
  let o32 = def32, a32 = def32, seg = -1;
  c[s + DC_OP] = OP_LEGACY;
  c[s + DC_LEN] = 1;
  c[s + DC_OPS] = 0;
  c[s + DC_DISP] = 0;
  c[s + DC_IMM] = 0;
  let b: number;
  for (;;) {
    if (p >= end || p - off >= 14) return;
    b = u8[p++];
    if (b === 0x66) o32 = !def32;
    else if (b === 0x67) a32 = !def32;
    else if (b === 0x26) seg = ES;
    else if (b === 0x2e) seg = CS;
    else if (b === 0x36) seg = SS;
    else if (b === 0x3e) seg = DS;
    else if (b === 0x64) seg = FS;
    else if (b === 0x65) seg = GS;
    else break;
  }
  if (b === 0xf0 || b === 0xf2 || b === 0xf3) return;
  let op = OP_LEGACY;
  let ops = o32 ? F_O32 : 0;
  let hasModrm = false;
  /** Immediate size in bytes (1 = sign-extended byte unless immU8), 0 = none. */
  let immBytes = 0;
  let immU8 = false;
  if (b === 0x0f) {
    if (p >= end) return;
    b = u8[p++];
    if (b >= 0x80 && b <= 0x8f) { op = OP_JCC; ops |= (b & 15) << SUB_SHIFT; immBytes = o32 ? 4 : 2; }
    else if (b >= 0x90 && b <= 0x9f) { op = OP_SETCC; ops |= (b & 15) << SUB_SHIFT; hasModrm = true; }
    else if (b >= 0x40 && b <= 0x4f) { op = OP_CMOV; ops |= (b & 15) << SUB_SHIFT; hasModrm = true; }
    else if (b === 0xaf) { op = OP_IMUL_GE; hasModrm = true; }
    else if (b === 0xb6) { op = OP_MOVZX8; hasModrm = true; }
    else if (b === 0xb7) { op = OP_MOVZX16; hasModrm = true; }
    else if (b === 0xbe) { op = OP_MOVSX8; hasModrm = true; }
    else if (b === 0xbf) { op = OP_MOVSX16; hasModrm = true; }
    else return;
  } else if (b < 0x40 && (b & 7) < 6) {
    ops |= (b >> 3) << SUB_SHIFT;
    switch (b & 7) {
      case 0: op = OP_ALU_EG8; hasModrm = true; break;
      case 1: op = OP_ALU_EG; hasModrm = true; break;
      case 2: op = OP_ALU_GE8; hasModrm = true; break;
      case 3: op = OP_ALU_GE; hasModrm = true; break;
      case 4: op = OP_ALU_AI8; immBytes = 1; immU8 = true; break;
      default: op = OP_ALU_AI; immBytes = o32 ? 4 : 2; break;
    }
  } else if (b >= 0x40 && b <= 0x5f) {
    op = b < 0x48 ? OP_INC_R : b < 0x50 ? OP_DEC_R : b < 0x58 ? OP_PUSH_R : OP_POP_R;
    ops |= b & 7;
  } else if (b >= 0x70 && b <= 0x7f) {
    op = OP_JCC; ops |= (b & 15) << SUB_SHIFT; immBytes = 1;
  } else if (b >= 0xb0 && b <= 0xb7) {
    op = OP_MOV_RI8; ops |= b & 7; immBytes = 1; immU8 = true;
  } else if (b >= 0xb8 && b <= 0xbf) {
    op = OP_MOV_RI; ops |= b & 7; immBytes = o32 ? 4 : 2;
  } else if (b >= 0x91 && b <= 0x97) {
    op = OP_XCHG_AX; ops |= b & 7;
  } else {
    switch (b) {
      case 0x68: op = OP_PUSH_I; immBytes = o32 ? 4 : 2; break;
      case 0x6a: op = OP_PUSH_I; immBytes = 1; break;
      case 0x69: op = OP_IMUL_GEI; hasModrm = true; immBytes = o32 ? 4 : 2; break;
      case 0x6b: op = OP_IMUL_GEI; hasModrm = true; immBytes = 1; break;
      case 0x80: case 0x82: op = OP_GRP1_8; hasModrm = true; immBytes = 1; immU8 = true; break;
      case 0x81: op = OP_GRP1; hasModrm = true; immBytes = o32 ? 4 : 2; break;
      case 0x83: op = OP_GRP1; hasModrm = true; immBytes = 1; break;
      case 0x84: op = OP_TEST_EG8; hasModrm = true; break;
      case 0x85: op = OP_TEST_EG; hasModrm = true; break;
      case 0x88: op = OP_MOV_EG8; hasModrm = true; break;
      case 0x89: op = OP_MOV_EG; hasModrm = true; break;
      case 0x8a: op = OP_MOV_GE8; hasModrm = true; break;
      case 0x8b: op = OP_MOV_GE; hasModrm = true; break;
      case 0x8d: op = OP_LEA; hasModrm = true; break;
      case 0x90: op = OP_NOP; break;
      case 0x98: op = OP_CWDE; break;
      case 0x99: op = OP_CDQ; break;
      case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
        // MOV AL/eAX <-> moffs: a memory operand with displacement only.
        const n = a32 ? 4 : 2;
        if (p + n > end) return;
        const d = n === 4 ? u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24) : u8[p] | (u8[p + 1] << 8);
        p += n;
        op = b === 0xa0 ? OP_MOV_GE8 : b === 0xa1 ? OP_MOV_GE : b === 0xa2 ? OP_MOV_EG8 : OP_MOV_EG;
        ops |= F_MEM | (NO_REG << BASE_SHIFT) | (NO_REG << INDEX_SHIFT) | ((seg >= 0 ? seg : DS) << SEG_SHIFT) | (a32 ? 0 : F_A16);
        c[s + DC_DISP] = d;
        break;
      }
      case 0xa8: op = OP_TEST_AI8; immBytes = 1; immU8 = true; break;
      case 0xa9: op = OP_TEST_AI; immBytes = o32 ? 4 : 2; break;
      case 0xc0: op = OP_SHIFT8; hasModrm = true; immBytes = 1; immU8 = true; break;
      case 0xc1: op = OP_SHIFT; hasModrm = true; immBytes = 1; immU8 = true; break;
      case 0xd0: op = OP_SHIFT8; hasModrm = true; c[s + DC_IMM] = 1; break;
      case 0xd1: op = OP_SHIFT; hasModrm = true; c[s + DC_IMM] = 1; break;
      case 0xd2: op = OP_SHIFT8; hasModrm = true; ops |= F_CL; break;
      case 0xd3: op = OP_SHIFT; hasModrm = true; ops |= F_CL; break;
      case 0xc2: op = OP_RET_I; immBytes = 2; immU8 = true; break;
      case 0xc3: op = OP_RET; break;
      case 0xc6: op = OP_MOV_EI8; hasModrm = true; immBytes = 1; immU8 = true; break;
      case 0xc7: op = OP_MOV_EI; hasModrm = true; immBytes = o32 ? 4 : 2; break;
      case 0xc9: op = OP_LEAVE; break;
      case 0xe8: op = OP_CALL; immBytes = o32 ? 4 : 2; break;
      case 0xe9: op = OP_JMP; immBytes = o32 ? 4 : 2; break;
      case 0xeb: op = OP_JMP; immBytes = 1; break;
      case 0xf6: case 0xf7: case 0xfe: case 0xff: op = -b; hasModrm = true; break; // by ModRM.reg below
      case 0xf8: op = OP_CLC; break;
      case 0xf9: op = OP_STC; break;
      case 0xfc: op = OP_CLD; break;
      case 0xfd: op = OP_STD; break;
      default: return;
    }
  }
  if (hasModrm) {
    if (p >= end) return;
    const m = u8[p++];
    const mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
    ops |= reg;
    if (mod === 3) {
      ops |= rm << BASE_SHIFT;
    } else {
      let base = NO_REG, index = NO_REG, scale = 0, dseg = DS, disp = 0;
      if (a32) {
        if (rm === 4) {
          if (p >= end) return;
          const sib = u8[p++];
          const sb = sib & 7;
          index = (sib >> 3) & 7;
          if (index === ESP) index = NO_REG;
          scale = sib >> 6;
          if (sb === 5 && mod === 0) {
            if (p + 4 > end) return;
            disp = u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24); p += 4;
          } else {
            base = sb;
            if (sb === ESP || sb === EBP) dseg = SS;
          }
        } else if (rm === 5 && mod === 0) {
          if (p + 4 > end) return;
          disp = u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24); p += 4;
        } else {
          base = rm;
          if (rm === EBP) dseg = SS;
        }
        if (mod === 1) {
          if (p >= end) return;
          disp += (u8[p++] << 24) >> 24;
        } else if (mod === 2) {
          if (p + 4 > end) return;
          disp += u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24); p += 4;
        }
        disp |= 0;
      } else {
        ops |= F_A16;
        switch (rm) {
          case 0: base = EBX; index = ESI; break;
          case 1: base = EBX; index = EDI; break;
          case 2: base = EBP; index = ESI; dseg = SS; break;
          case 3: base = EBP; index = EDI; dseg = SS; break;
          case 4: base = ESI; break;
          case 5: base = EDI; break;
          case 6:
            if (mod === 0) {
              if (p + 2 > end) return;
              disp = u8[p] | (u8[p + 1] << 8); p += 2;
            } else { base = EBP; dseg = SS; }
            break;
          default: base = EBX; break;
        }
        if (mod === 1) {
          if (p >= end) return;
          disp += (u8[p++] << 24) >> 24;
        } else if (mod === 2) {
          if (p + 2 > end) return;
          disp += u8[p] | (u8[p + 1] << 8); p += 2;
        }
      }
      ops |= F_MEM | (base << BASE_SHIFT) | (index << INDEX_SHIFT) | (scale << SCALE_SHIFT) | ((seg >= 0 ? seg : dseg) << SEG_SHIFT);
      c[s + DC_DISP] = disp;
    }
    if (op < 0) {
      // Groups 3, 4 and 5: the operation is in ModRM.reg.
      switch (-op) {
        case 0xf6: case 0xf7: {
          const w8 = op === -0xf6;
          if (reg <= 1) { op = w8 ? OP_TEST_EI8 : OP_TEST_EI; immBytes = w8 ? 1 : o32 ? 4 : 2; immU8 = w8; }
          else if (reg === 2) op = w8 ? OP_NOT8 : OP_NOT;
          else if (reg === 3) op = w8 ? OP_NEG8 : OP_NEG;
          else return;
          break;
        }
        case 0xfe:
          if (reg > 1) return;
          op = OP_INCDEC_E8; ops |= reg << SUB_SHIFT;
          break;
        default:
          if (reg <= 1) { op = OP_INCDEC_E; ops |= reg << SUB_SHIFT; }
          else if (reg === 2) op = OP_CALL_E;
          else if (reg === 4) op = OP_JMP_E;
          else if (reg === 6) op = OP_PUSH_E;
          else return;
          break;
      }
    }
    if (op === OP_LEA && mod === 3) return; // #UD through the legacy path
  }
  if (immBytes !== 0) {
    if (p + immBytes > end) return;
    let v: number;
    if (immBytes === 1) v = immU8 ? u8[p] : (u8[p] << 24) >> 24;
    else if (immBytes === 2) {
      // 16-bit immediates are zero-extended, as the legacy decoder's fetch16 reads them.
      v = u8[p] | (u8[p + 1] << 8);
      if (op === OP_IMUL_GEI) v = (v << 16) >> 16;
    }
    else v = u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24);
    p += immBytes;
    // Group 1 Ew,Ib: the sign-extended byte is used as a 16-bit operand.
    if (op === OP_GRP1 && !o32) v &= 0xffff;
    c[s + DC_IMM] = v;
  }
  c[s + DC_OPS] = ops;
  c[s + DC_LEN] = p - off;
  c[s + DC_OP] = op;
  specialise(c, s);
}

/** Swaps the REG and BASE fields of a packed operand word (register-register forms). */
function swapRegBase(ops: number): number {
  return (ops & ~(REG_MASK | (15 << BASE_SHIFT))) | ((ops >>> BASE_SHIFT) & 7) | ((ops & REG_MASK) << BASE_SHIFT);
}

/**
 * Rewrites a decoded record of a frequent generic form into its specialised handler (32-bit
 * operand size, register or memory operand known): the hot handlers then test no operand
 * bits. Register-register forms are normalised so that REG is the destination.
 */
export function specialise(c: Int32Array, s: number): void {
  const op = c[s + DC_OP], ops = c[s + DC_OPS];
  if ((ops & F_O32) === 0) return;
  const mem = (ops & F_MEM) !== 0;
  switch (op) {
    case OP_MOV_GE: c[s + DC_OP] = mem ? OP_LD32 : OP_MOV_RR32; break;
    case OP_MOV_EG:
      if (mem) c[s + DC_OP] = OP_ST32;
      else { c[s + DC_OP] = OP_MOV_RR32; c[s + DC_OPS] = swapRegBase(ops); }
      break;
    case OP_ALU_GE: c[s + DC_OP] = mem ? OP_ALU_RM32 : OP_ALU_RR32; break;
    case OP_ALU_EG:
      if (mem) c[s + DC_OP] = OP_ALU_MR32;
      else { c[s + DC_OP] = OP_ALU_RR32; c[s + DC_OPS] = swapRegBase(ops); }
      break;
    case OP_ALU_AI: c[s + DC_OP] = OP_ALU_RI32; c[s + DC_OPS] = ops & ~(15 << BASE_SHIFT); break; // BASE = EAX
    case OP_GRP1:
      // Group 1 keeps the operation in REG: move it to SUB.
      c[s + DC_OP] = mem ? OP_ALU_MI32 : OP_ALU_RI32;
      c[s + DC_OPS] = (ops & ~(REG_MASK | (15 << SUB_SHIFT))) | ((ops & REG_MASK) << SUB_SHIFT);
      break;
    case OP_LEA: if ((ops & F_A16) === 0) c[s + DC_OP] = OP_LEA32; break;
    case OP_SHIFT: {
      const count = c[s + DC_IMM] & 31;
      if (mem || (ops & F_CL) !== 0 || count === 0) break;
      const kind = ops & REG_MASK;
      if (kind === 4 || kind === 6) c[s + DC_OP] = OP_SHL_RI32;
      else if (kind === 5) c[s + DC_OP] = OP_SHR_RI32;
      else if (kind === 7) c[s + DC_OP] = OP_SAR_RI32;
      else break;
      c[s + DC_IMM] = count;
      break;
    }
    case OP_TEST_EG: if (!mem) c[s + DC_OP] = OP_TEST_RR32; break;
    case OP_MOVZX8: if (mem) c[s + DC_OP] = OP_LDZX8_32; break;
    case OP_MOVZX16: if (mem) c[s + DC_OP] = OP_LDZX16_32; break;
    default: break;
  }
}
