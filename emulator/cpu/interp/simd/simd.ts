/**
 * MMX, SSE and SSE2 instructions of the two-byte (0F xx) opcode map for the interpreter:
 * moves, integer SIMD on MMX and XMM registers, packed/scalar single and double arithmetic,
 * compares, conversions, shuffles, MXCSR access, FXSAVE/FXRSTOR, fences and cache hints.
 *
 * Follows Intel SDM Vol. 1 ch. 9 (MMX; register aliasing §9.5, EMMS §9.6), ch. 10-11 (SSE,
 * SSE2; exceptions §11.5, alignment §11.6.7), Vol. 2 instruction pages, FXSAVE Table 3-53
 * (32-bit layout), opcode map Vol. 2 Appendix A.3 (Tables with mandatory prefixes).
 *
 * Leaves out: SSE3 and later (MOVDDUP, HADDPS, FISTTP is in the x87 unit), 64-bit mode
 * (REX, XMM8-15, FXSAVE64), AVX; non-temporal hints are ordinary stores; fences and cache
 * flushes are no-ops (the interpreter is sequentially consistent and has no cache).
 */
import type { ModRmOperand } from '../coprocessor.js';
import { RC_CHOP } from '../fpu/fp-math.js';
import {
  CR0_EM, CR0_NE, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT, EFLAGS_AF, EFLAGS_CF, EFLAGS_OF, EFLAGS_PF, EFLAGS_SF,
  EFLAGS_ZF, VEC_GP, VEC_MF, VEC_NM, VEC_UD, VEC_XM, type CoprocessorHostExt,
} from '../fpu/host-ext.js';
import {
  ensureRaw, setSlotRaw, SW_ES, x87AbridgedTag, x87SetStatusWord, x87StatusWord,
} from '../fpu/x87-state.js';
import {
  approx32, arith32, arith64, cmp32, cmp64, comi, cvtIn32, cvtIn64, f32ToF64Lane, f64ToF32Lane, out32, OP_ADD,
  OP_DIV, OP_MAX, OP_MIN, OP_MUL, OP_SQRT, OP_SUB, toInt32,
} from './sse-float.js';
import { MXCSR_MASK, SLOT_DST, SLOT_SRC, SLOT_TMP, type SimdState } from './simd-state.js';

// ---------------------------------------------------------------------------------------
// Opcode ownership table

/** Bit in `SIMD_OPCODES` for "no mandatory prefix". */
export const PFX_NONE = 1;
/** Bit for the 66h mandatory prefix. */
export const PFX_66 = 2;
/** Bit for the F3h mandatory prefix. */
export const PFX_F3 = 4;
/** Bit for the F2h mandatory prefix. */
export const PFX_F2 = 8;

const N = PFX_NONE;
const O = PFX_66;
const S = PFX_F3;
const D = PFX_F2;

function buildTable(): Uint8Array {
  const t = new Uint8Array(256);
  const set = (ops: number[], bits: number): void => {
    for (const o of ops) t[o] |= bits;
  };
  set([0x10, 0x11, 0x2a, 0x2c, 0x2d, 0x51, 0x58, 0x59, 0x5a, 0x5c, 0x5d, 0x5e, 0x5f, 0xc2, 0x70, 0x18], N | O | S | D);
  set([0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2b, 0x2e, 0x2f, 0x50, 0x54, 0x55, 0x56, 0x57, 0xc4, 0xc5, 0xc6], N | O);
  set([0x52, 0x53], N | S);
  set([0x5b, 0x6f, 0x7e, 0x7f], N | O | S);
  set([0x6c, 0x6d], O);
  set([0xd6, 0xe6], O | S | D);
  set([0x77, 0xae, 0xc3], N);
  for (let o = 0x60; o <= 0x6b; o++) t[o] |= N | O;
  for (const o of [0x6e, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0xd7, 0xe7, 0xf7]) t[o] |= N | O;
  for (let o = 0xd1; o <= 0xff; o++) {
    if (o === 0xd6 || o === 0xe6 || o === 0xd7 || o === 0xe7 || o === 0xf7 || o === 0xf0 || o === 0xff) continue;
    t[o] |= N | O;
  }
  return t;
}

/**
 * For each second byte of the 0F map, which mandatory prefixes (PFX_* bits) make it an
 * instruction of this unit. The core dispatches `0F xx` to `simdExecute` when
 * `SIMD_OPCODES[xx] & prefixBit(mandatoryPrefix)` is non-zero. 0F 18 (PREFETCHh / hint NOP)
 * and 0F AE (FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, fences, CLFLUSH) are included. 0F 77 (EMMS)
 * has no ModRM byte: the core passes any register-form operand ({ modrm: 0xc0, linear: -1 }).
 */
export const SIMD_OPCODES: Readonly<Uint8Array> = buildTable();

/** The PFX_* bit of a mandatory prefix value. */
export function prefixBit(mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3): number {
  return mandatoryPrefix === 0 ? PFX_NONE : mandatoryPrefix === 0x66 ? PFX_66 : mandatoryPrefix === 0xf3 ? PFX_F3 : PFX_F2;
}

/**
 * The prefix an instruction is executed with: the mandatory prefix when the opcode defines it;
 * otherwise an F2/F3 that the opcode does not use is ignored, as processors do, falling back
 * to the 66h form (when 0x66 is also present) or to the unprefixed form. -1: not ours.
 */
export function effectivePrefix(opcode: number, mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3, opsize: boolean): number {
  const bits = SIMD_OPCODES[opcode & 0xff];
  if (bits & prefixBit(mandatoryPrefix)) return mandatoryPrefix;
  if (mandatoryPrefix === 0xf2 || mandatoryPrefix === 0xf3) {
    if (opsize) return bits & PFX_66 ? 0x66 : -1;
    return bits & PFX_NONE ? 0 : -1;
  }
  return -1;
}

/**
 * True when `0F opcode` with these prefixes belongs to the SIMD unit (see `effectivePrefix`).
 * `opsize` is whether 0x66 was present (needed only when F2/F3 came last).
 */
export function simdOwns(opcode: number, mandatoryPrefix: 0 | 0x66 | 0xf2 | 0xf3, opsize = mandatoryPrefix === 0x66): boolean {
  return effectivePrefix(opcode, mandatoryPrefix, opsize) >= 0;
}

// ---------------------------------------------------------------------------------------
// Checks and register access

function sseCheck(host: CoprocessorHostExt): void {
  const cr0 = host.cr0;
  if (cr0 & CR0_EM || !(host.cr4 & CR4_OSFXSR)) host.fault(VEC_UD);
  if (cr0 & CR0_TS) host.fault(VEC_NM);
}

function mmxCheck(st: SimdState, host: CoprocessorHostExt): void {
  const cr0 = host.cr0;
  if (cr0 & CR0_EM) host.fault(VEC_UD);
  if (cr0 & CR0_TS) host.fault(VEC_NM);
  if (st.x87.sw & SW_ES) {
    if (cr0 & CR0_NE) host.fault(VEC_MF);
    host.signalFerr();
  }
}

/** x87 -> MMX transition: TOP = 0, every tag valid (SDM Vol. 1 §9.5.1). */
function mmxEnter(st: SimdState): void {
  st.x87.top = 0;
  st.x87.empty.fill(0);
}

function readMm(st: SimdState, r: number, slot: number): void {
  const x = st.x87;
  ensureRaw(x, r);
  const b = slot * 4;
  st.u32[b] = x.rawLo[r];
  st.u32[b + 1] = x.rawHi[r];
  st.u32[b + 2] = 0;
  st.u32[b + 3] = 0;
}

function writeMm(st: SimdState, r: number, slot: number): void {
  setSlotRaw(st.x87, r, 0xffff, st.u32[slot * 4 + 1], st.u32[slot * 4]);
}

function writeMmPair(st: SimdState, r: number, lo: number, hi: number): void {
  setSlotRaw(st.x87, r, 0xffff, hi >>> 0, lo >>> 0);
}

function load(st: SimdState, host: CoprocessorHostExt, addr: number, slot: number, bytes: number): void {
  const b = slot * 4;
  if (bytes === 2) {
    st.u32[b] = host.readU16(addr);
    st.u32[b + 1] = 0;
  } else {
    st.u32[b] = host.readU32(addr);
    st.u32[b + 1] = bytes >= 8 ? host.readU32(addr + 4) : 0;
  }
  if (bytes === 16) {
    st.u32[b + 2] = host.readU32(addr + 8);
    st.u32[b + 3] = host.readU32(addr + 12);
  } else {
    st.u32[b + 2] = 0;
    st.u32[b + 3] = 0;
  }
}

function store(st: SimdState, host: CoprocessorHostExt, addr: number, slot: number, bytes: number, from = 0): void {
  const b = slot * 4 + from;
  host.writeU32(addr, st.u32[b]);
  if (bytes >= 8) host.writeU32(addr + 4, st.u32[b + 1]);
  if (bytes === 16) {
    host.writeU32(addr + 8, st.u32[b + 2]);
    host.writeU32(addr + 12, st.u32[b + 3]);
  }
}

function alignCheck(host: CoprocessorHostExt, addr: number): void {
  if (addr & 15) host.fault(VEC_GP, 0);
}

function copySlot(st: SimdState, from: number, to: number): void {
  const a = from * 4;
  const b = to * 4;
  st.u32[b] = st.u32[a];
  st.u32[b + 1] = st.u32[a + 1];
  st.u32[b + 2] = st.u32[a + 2];
  st.u32[b + 3] = st.u32[a + 3];
}

/** XMM source operand: the register slot, or memory loaded into SLOT_SRC. */
function xsrc(st: SimdState, host: CoprocessorHostExt, op: ModRmOperand, bytes: number, aligned: boolean): number {
  if (op.modrm >= 0xc0) return op.modrm & 7;
  if (aligned && bytes === 16) alignCheck(host, op.linear);
  load(st, host, op.linear, SLOT_SRC, bytes);
  return SLOT_SRC;
}

/** MMX source operand (register copied into SLOT_SRC, or m64). */
function msrc(st: SimdState, host: CoprocessorHostExt, op: ModRmOperand): number {
  if (op.modrm >= 0xc0) readMm(st, op.modrm & 7, SLOT_SRC);
  else load(st, host, op.linear, SLOT_SRC, 8);
  return SLOT_SRC;
}

/** Commits the accumulated SIMD FP exception flags; raises #XM/#UD when one is unmasked. */
function finishFp(st: SimdState, host: CoprocessorHostExt): void {
  const p = st.pending;
  if (p === 0) return;
  st.pending = 0;
  st.mxcsr |= p;
  if (p & ~(st.mxcsr >>> 7) & 0x3f) host.fault(host.cr4 & CR4_OSXMMEXCPT ? VEC_XM : VEC_UD);
}

// ---------------------------------------------------------------------------------------
// Integer SIMD (shared by MMX, n = 8 bytes, and SSE2, n = 16 bytes); d is updated in place

function satS8(v: number): number { return v < -128 ? -128 : v > 127 ? 127 : v; }
function satU8(v: number): number { return v < 0 ? 0 : v > 255 ? 255 : v; }
function satS16(v: number): number { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
function satU16(v: number): number { return v < 0 ? 0 : v > 65535 ? 65535 : v; }

/** Shift count from a source slot (64-bit value; anything >= 2^32 saturates). */
function shiftCount(st: SimdState, s: number): number {
  return st.u32[s * 4 + 1] !== 0 ? 0xffff : st.u32[s * 4];
}

/** kind: 0 logical right, 1 arithmetic right, 2 left; width in bits. */
function shift(st: SimdState, d: number, kind: number, width: number, count: number, n: number): void {
  if (width === 16) {
    const base = d * 8;
    for (let i = 0; i < n / 2; i++) {
      const v = st.u16[base + i];
      if (kind === 1) st.i16[base + i] = st.i16[base + i] >> (count > 15 ? 15 : count);
      else if (count > 15) st.u16[base + i] = 0;
      else st.u16[base + i] = kind === 0 ? v >>> count : v << count;
    }
  } else if (width === 32) {
    const base = d * 4;
    for (let i = 0; i < n / 4; i++) {
      if (kind === 1) st.i32[base + i] = st.i32[base + i] >> (count > 31 ? 31 : count);
      else if (count > 31) st.u32[base + i] = 0;
      else st.u32[base + i] = kind === 0 ? st.u32[base + i] >>> count : st.u32[base + i] << count;
    }
  } else {
    const base = d * 4;
    for (let i = 0; i < n / 8; i++) {
      let lo = st.u32[base + 2 * i];
      let hi = st.u32[base + 2 * i + 1];
      if (count > 63) lo = hi = 0;
      else if (count >= 32) {
        if (kind === 2) {
          hi = lo << (count - 32);
          lo = 0;
        } else {
          lo = hi >>> (count - 32);
          hi = 0;
        }
      } else if (count > 0) {
        if (kind === 2) {
          hi = (hi << count) | (lo >>> (32 - count));
          lo = lo << count;
        } else {
          lo = (lo >>> count) | (hi << (32 - count));
          hi = hi >>> count;
        }
      }
      st.u32[base + 2 * i] = lo;
      st.u32[base + 2 * i + 1] = hi;
    }
  }
}

/** Executes an integer SIMD opcode with destination slot d and source slot s (n bytes). */
function intOp(st: SimdState, opcode: number, d: number, s: number, n: number): void {
  const b8 = d * 16;
  const s8 = s * 16;
  const b16 = d * 8;
  const s16 = s * 8;
  const b32 = d * 4;
  const s32 = s * 4;
  const t8 = SLOT_TMP * 16;
  const t16 = SLOT_TMP * 8;
  const t32 = SLOT_TMP * 4;
  const { u8, i8, u16, i16, u32, i32 } = st;
  switch (opcode) {
    case 0x60: // PUNPCKLBW
      for (let i = 0; i < n / 2; i++) {
        u8[t8 + 2 * i] = u8[b8 + i];
        u8[t8 + 2 * i + 1] = u8[s8 + i];
      }
      break;
    case 0x61: // PUNPCKLWD
      for (let i = 0; i < n / 4; i++) {
        u16[t16 + 2 * i] = u16[b16 + i];
        u16[t16 + 2 * i + 1] = u16[s16 + i];
      }
      break;
    case 0x62: // PUNPCKLDQ
      for (let i = 0; i < n / 8; i++) {
        u32[t32 + 2 * i] = u32[b32 + i];
        u32[t32 + 2 * i + 1] = u32[s32 + i];
      }
      break;
    case 0x68: // PUNPCKHBW
      for (let i = 0; i < n / 2; i++) {
        u8[t8 + 2 * i] = u8[b8 + n / 2 + i];
        u8[t8 + 2 * i + 1] = u8[s8 + n / 2 + i];
      }
      break;
    case 0x69: // PUNPCKHWD
      for (let i = 0; i < n / 4; i++) {
        u16[t16 + 2 * i] = u16[b16 + n / 4 + i];
        u16[t16 + 2 * i + 1] = u16[s16 + n / 4 + i];
      }
      break;
    case 0x6a: // PUNPCKHDQ
      for (let i = 0; i < n / 8; i++) {
        u32[t32 + 2 * i] = u32[b32 + n / 8 + i];
        u32[t32 + 2 * i + 1] = u32[s32 + n / 8 + i];
      }
      break;
    case 0x6c: // PUNPCKLQDQ
      u32[t32] = u32[b32];
      u32[t32 + 1] = u32[b32 + 1];
      u32[t32 + 2] = u32[s32];
      u32[t32 + 3] = u32[s32 + 1];
      break;
    case 0x6d: // PUNPCKHQDQ
      u32[t32] = u32[b32 + 2];
      u32[t32 + 1] = u32[b32 + 3];
      u32[t32 + 2] = u32[s32 + 2];
      u32[t32 + 3] = u32[s32 + 3];
      break;
    case 0x63: // PACKSSWB
    case 0x67: // PACKUSWB
      for (let i = 0; i < n; i++) {
        const v = i < n / 2 ? i16[b16 + i] : i16[s16 + i - n / 2];
        if (opcode === 0x63) i8[t8 + i] = satS8(v);
        else u8[t8 + i] = satU8(v);
      }
      break;
    case 0x6b: // PACKSSDW
      for (let i = 0; i < n / 2; i++) i16[t16 + i] = satS16(i < n / 4 ? i32[b32 + i] : i32[s32 + i - n / 4]);
      break;
    case 0x64: for (let i = 0; i < n; i++) u8[b8 + i] = i8[b8 + i] > i8[s8 + i] ? 0xff : 0; return;
    case 0x65: for (let i = 0; i < n / 2; i++) u16[b16 + i] = i16[b16 + i] > i16[s16 + i] ? 0xffff : 0; return;
    case 0x66: for (let i = 0; i < n / 4; i++) u32[b32 + i] = i32[b32 + i] > i32[s32 + i] ? 0xffffffff : 0; return;
    case 0x74: for (let i = 0; i < n; i++) u8[b8 + i] = u8[b8 + i] === u8[s8 + i] ? 0xff : 0; return;
    case 0x75: for (let i = 0; i < n / 2; i++) u16[b16 + i] = u16[b16 + i] === u16[s16 + i] ? 0xffff : 0; return;
    case 0x76: for (let i = 0; i < n / 4; i++) u32[b32 + i] = u32[b32 + i] === u32[s32 + i] ? 0xffffffff : 0; return;
    case 0xd1: shift(st, d, 0, 16, shiftCount(st, s), n); return;
    case 0xd2: shift(st, d, 0, 32, shiftCount(st, s), n); return;
    case 0xd3: shift(st, d, 0, 64, shiftCount(st, s), n); return;
    case 0xe1: shift(st, d, 1, 16, shiftCount(st, s), n); return;
    case 0xe2: shift(st, d, 1, 32, shiftCount(st, s), n); return;
    case 0xf1: shift(st, d, 2, 16, shiftCount(st, s), n); return;
    case 0xf2: shift(st, d, 2, 32, shiftCount(st, s), n); return;
    case 0xf3: shift(st, d, 2, 64, shiftCount(st, s), n); return;
    case 0xd4: // PADDQ
    case 0xfb: // PSUBQ
      for (let i = 0; i < n / 8; i++) {
        const alo = u32[b32 + 2 * i];
        const blo = u32[s32 + 2 * i];
        if (opcode === 0xd4) {
          const lo = alo + blo;
          u32[b32 + 2 * i] = lo;
          u32[b32 + 2 * i + 1] = u32[b32 + 2 * i + 1] + u32[s32 + 2 * i + 1] + (lo > 0xffffffff ? 1 : 0);
        } else {
          u32[b32 + 2 * i] = alo - blo;
          u32[b32 + 2 * i + 1] = u32[b32 + 2 * i + 1] - u32[s32 + 2 * i + 1] - (alo < blo ? 1 : 0);
        }
      }
      return;
    case 0xd5: for (let i = 0; i < n / 2; i++) u16[b16 + i] = Math.imul(i16[b16 + i], i16[s16 + i]); return; // PMULLW
    case 0xe5: for (let i = 0; i < n / 2; i++) u16[b16 + i] = (i16[b16 + i] * i16[s16 + i]) >> 16; return; // PMULHW
    case 0xe4: for (let i = 0; i < n / 2; i++) u16[b16 + i] = (u16[b16 + i] * u16[s16 + i]) >>> 16; return; // PMULHUW
    case 0xd8: for (let i = 0; i < n; i++) u8[b8 + i] = satU8(u8[b8 + i] - u8[s8 + i]); return;
    case 0xd9: for (let i = 0; i < n / 2; i++) u16[b16 + i] = satU16(u16[b16 + i] - u16[s16 + i]); return;
    case 0xdc: for (let i = 0; i < n; i++) u8[b8 + i] = satU8(u8[b8 + i] + u8[s8 + i]); return;
    case 0xdd: for (let i = 0; i < n / 2; i++) u16[b16 + i] = satU16(u16[b16 + i] + u16[s16 + i]); return;
    case 0xe8: for (let i = 0; i < n; i++) i8[b8 + i] = satS8(i8[b8 + i] - i8[s8 + i]); return;
    case 0xe9: for (let i = 0; i < n / 2; i++) i16[b16 + i] = satS16(i16[b16 + i] - i16[s16 + i]); return;
    case 0xec: for (let i = 0; i < n; i++) i8[b8 + i] = satS8(i8[b8 + i] + i8[s8 + i]); return;
    case 0xed: for (let i = 0; i < n / 2; i++) i16[b16 + i] = satS16(i16[b16 + i] + i16[s16 + i]); return;
    case 0xda: for (let i = 0; i < n; i++) u8[b8 + i] = Math.min(u8[b8 + i], u8[s8 + i]); return;
    case 0xde: for (let i = 0; i < n; i++) u8[b8 + i] = Math.max(u8[b8 + i], u8[s8 + i]); return;
    case 0xea: for (let i = 0; i < n / 2; i++) i16[b16 + i] = Math.min(i16[b16 + i], i16[s16 + i]); return;
    case 0xee: for (let i = 0; i < n / 2; i++) i16[b16 + i] = Math.max(i16[b16 + i], i16[s16 + i]); return;
    case 0xe0: for (let i = 0; i < n; i++) u8[b8 + i] = (u8[b8 + i] + u8[s8 + i] + 1) >>> 1; return;
    case 0xe3: for (let i = 0; i < n / 2; i++) u16[b16 + i] = (u16[b16 + i] + u16[s16 + i] + 1) >>> 1; return;
    case 0x54: case 0xdb: for (let i = 0; i < n / 4; i++) u32[b32 + i] &= u32[s32 + i]; return;
    case 0x55: case 0xdf: for (let i = 0; i < n / 4; i++) u32[b32 + i] = ~u32[b32 + i] & u32[s32 + i]; return;
    case 0x56: case 0xeb: for (let i = 0; i < n / 4; i++) u32[b32 + i] |= u32[s32 + i]; return;
    case 0x57: case 0xef: for (let i = 0; i < n / 4; i++) u32[b32 + i] ^= u32[s32 + i]; return;
    case 0xf4: // PMULUDQ
      for (let i = 0; i < n / 8; i++) {
        const a = u32[b32 + 2 * i];
        const c = u32[s32 + 2 * i];
        const lo = Math.imul(a, c) >>> 0;
        // high half: split to stay exact
        const p = (a & 0xffff) * (c & 0xffff);
        const m1 = (a >>> 16) * (c & 0xffff);
        const m2 = (a & 0xffff) * (c >>> 16);
        const h = (a >>> 16) * (c >>> 16);
        const mid = (p >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
        u32[b32 + 2 * i] = lo;
        u32[b32 + 2 * i + 1] = h + (m1 >>> 16) + (m2 >>> 16) + (mid >>> 16);
      }
      return;
    case 0xf5: // PMADDWD
      for (let i = 0; i < n / 4; i++) {
        const v = i16[b16 + 2 * i] * i16[s16 + 2 * i] + i16[b16 + 2 * i + 1] * i16[s16 + 2 * i + 1];
        u32[b32 + i] = v | 0;
      }
      return;
    case 0xf6: // PSADBW
      for (let q = 0; q < n / 8; q++) {
        let sum = 0;
        for (let i = 0; i < 8; i++) sum += Math.abs(u8[b8 + 8 * q + i] - u8[s8 + 8 * q + i]);
        u32[b32 + 2 * q] = sum;
        u32[b32 + 2 * q + 1] = 0;
      }
      return;
    case 0xf8: for (let i = 0; i < n; i++) u8[b8 + i] = u8[b8 + i] - u8[s8 + i]; return;
    case 0xf9: for (let i = 0; i < n / 2; i++) u16[b16 + i] = u16[b16 + i] - u16[s16 + i]; return;
    case 0xfa: for (let i = 0; i < n / 4; i++) u32[b32 + i] = u32[b32 + i] - u32[s32 + i]; return;
    case 0xfc: for (let i = 0; i < n; i++) u8[b8 + i] = u8[b8 + i] + u8[s8 + i]; return;
    case 0xfd: for (let i = 0; i < n / 2; i++) u16[b16 + i] = u16[b16 + i] + u16[s16 + i]; return;
    case 0xfe: for (let i = 0; i < n / 4; i++) u32[b32 + i] = u32[b32 + i] + u32[s32 + i]; return;
    default:
      return;
  }
  // results built in SLOT_TMP
  for (let i = 0; i < n / 4; i++) u32[b32 + i] = u32[t32 + i];
}

/** Integer opcodes handled by `intOp` (MMX with no prefix, XMM with 66h). */
function isIntOp(opcode: number): boolean {
  return (opcode >= 0x60 && opcode <= 0x6d) || (opcode >= 0x74 && opcode <= 0x76)
    || (opcode >= 0xd1 && opcode <= 0xfe && opcode !== 0xd6 && opcode !== 0xd7 && opcode !== 0xe6 && opcode !== 0xe7
      && opcode !== 0xf0 && opcode !== 0xf7);
}


// ---------------------------------------------------------------------------------------
// Floating point

const ARITH_OP: Record<number, number> = { 0x51: OP_SQRT, 0x58: OP_ADD, 0x59: OP_MUL, 0x5c: OP_SUB, 0x5d: OP_MIN, 0x5e: OP_DIV, 0x5f: OP_MAX };

function fpArith(st: SimdState, host: CoprocessorHostExt, opcode: number, op: ModRmOperand, pfx: number): void {
  const fop = ARITH_OP[opcode] as number;
  const d = (op.modrm >>> 3) & 7;
  const dbl = pfx === 0x66 || pfx === 0xf2;
  const packed = pfx === 0 || pfx === 0x66;
  const src = xsrc(st, host, op, packed ? 16 : dbl ? 8 : 4, true);
  copySlot(st, d, SLOT_TMP);
  st.pending = 0;
  const lanes = packed ? (dbl ? 2 : 4) : 1;
  for (let i = 0; i < lanes; i++) {
    if (dbl) arith64(st, fop, d * 2 + i, src * 2 + i, SLOT_TMP * 2 + i);
    else arith32(st, fop, d * 4 + i, src * 4 + i, SLOT_TMP * 4 + i);
  }
  finishFp(st, host);
  copySlot(st, SLOT_TMP, d);
}

function fpCompare(st: SimdState, host: CoprocessorHostExt, op: ModRmOperand, pfx: number): void {
  const d = (op.modrm >>> 3) & 7;
  const dbl = pfx === 0x66 || pfx === 0xf2;
  const packed = pfx === 0 || pfx === 0x66;
  const imm = host.fetchU8();
  const src = xsrc(st, host, op, packed ? 16 : dbl ? 8 : 4, true);
  if (imm > 7) host.fault(VEC_UD); // predicates 8-31 are AVX
  copySlot(st, d, SLOT_TMP);
  st.pending = 0;
  const lanes = packed ? (dbl ? 2 : 4) : 1;
  for (let i = 0; i < lanes; i++) {
    if (dbl) cmp64(st, imm, d * 2 + i, src * 2 + i, SLOT_TMP * 2 + i);
    else cmp32(st, imm, d * 4 + i, src * 4 + i, SLOT_TMP * 4 + i);
  }
  finishFp(st, host);
  copySlot(st, SLOT_TMP, d);
}

const COMI_FLAGS = [0, EFLAGS_CF, EFLAGS_ZF, EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF];

function fpComi(st: SimdState, host: CoprocessorHostExt, opcode: number, op: ModRmOperand, dbl: boolean): void {
  const d = (op.modrm >>> 3) & 7;
  const src = xsrc(st, host, op, dbl ? 8 : 4, false);
  st.pending = 0;
  const r = comi(st, dbl, dbl ? d * 2 : d * 4, dbl ? src * 2 : src * 4, opcode === 0x2f);
  finishFp(st, host);
  const f = host.getEflags() & ~(EFLAGS_CF | EFLAGS_PF | EFLAGS_ZF | EFLAGS_OF | EFLAGS_SF | EFLAGS_AF);
  host.setEflags(f | COMI_FLAGS[r]);
}

function rc(st: SimdState): number {
  return (st.mxcsr >>> 13) & 3;
}

/** CVT* between integers and floats (opcodes 2A, 2C, 2D, 5A, 5B, E6). */
function convert(st: SimdState, host: CoprocessorHostExt, opcode: number, op: ModRmOperand, pfx: number): void {
  const reg = (op.modrm >>> 3) & 7;
  const T = SLOT_TMP;
  st.pending = 0;
  switch (opcode) {
    case 0x2a: {
      if (pfx === 0xf3 || pfx === 0xf2) {
        // CVTSI2SS / CVTSI2SD xmm, r/m32
        const v = op.modrm >= 0xc0 ? host.getReg32(op.modrm & 7) | 0 : host.readU32(op.linear) | 0;
        copySlot(st, reg, T);
        if (pfx === 0xf2) st.f64[T * 2] = v;
        else out32(st, v, 0, T * 4, true);
        finishFp(st, host);
        copySlot(st, T, reg);
        return;
      }
      // CVTPI2PS / CVTPI2PD xmm, mm/m64
      if (op.modrm >= 0xc0) {
        mmxCheck(st, host);
        readMm(st, op.modrm & 7, SLOT_SRC);
        mmxEnter(st);
      } else load(st, host, op.linear, SLOT_SRC, 8);
      const a = st.i32[SLOT_SRC * 4];
      const b = st.i32[SLOT_SRC * 4 + 1];
      copySlot(st, reg, T);
      if (pfx === 0x66) {
        st.f64[T * 2] = a;
        st.f64[T * 2 + 1] = b;
      } else {
        out32(st, a, 0, T * 4, true);
        out32(st, b, 0, T * 4 + 1, true);
      }
      finishFp(st, host);
      copySlot(st, T, reg);
      return;
    }
    case 0x2c:
    case 0x2d: {
      const mode = opcode === 0x2c ? RC_CHOP : rc(st);
      if (pfx === 0xf3 || pfx === 0xf2) {
        // CVT(T)SS2SI / CVT(T)SD2SI r32, xmm/m
        const src = xsrc(st, host, op, pfx === 0xf2 ? 8 : 4, false);
        const x = pfx === 0xf2 ? cvtIn64(st, src * 2) : cvtIn32(st, src * 4);
        const v = toInt32(st, x, mode);
        finishFp(st, host);
        host.setReg32(reg, v >>> 0);
        return;
      }
      // CVT(T)PS2PI / CVT(T)PD2PI mm, xmm/m
      const src = xsrc(st, host, op, pfx === 0x66 ? 16 : 8, pfx === 0x66);
      mmxCheck(st, host);
      const a = pfx === 0x66 ? cvtIn64(st, src * 2) : cvtIn32(st, src * 4);
      const b = pfx === 0x66 ? cvtIn64(st, src * 2 + 1) : cvtIn32(st, src * 4 + 1);
      const lo = toInt32(st, a, mode);
      const hi = toInt32(st, b, mode);
      finishFp(st, host);
      mmxEnter(st);
      writeMmPair(st, reg, lo, hi);
      return;
    }
    case 0x5a: {
      copySlot(st, reg, T);
      if (pfx === 0) {
        const src = xsrc(st, host, op, 8, false); // CVTPS2PD
        f32ToF64Lane(st, src * 4, T * 2);
        f32ToF64Lane(st, src * 4 + 1, T * 2 + 1);
      } else if (pfx === 0x66) {
        const src = xsrc(st, host, op, 16, true); // CVTPD2PS
        f64ToF32Lane(st, src * 2, T * 4);
        f64ToF32Lane(st, src * 2 + 1, T * 4 + 1);
        st.u32[T * 4 + 2] = 0;
        st.u32[T * 4 + 3] = 0;
      } else if (pfx === 0xf3) {
        const src = xsrc(st, host, op, 4, false); // CVTSS2SD
        f32ToF64Lane(st, src * 4, T * 2);
      } else {
        const src = xsrc(st, host, op, 8, false); // CVTSD2SS
        f64ToF32Lane(st, src * 2, T * 4);
      }
      finishFp(st, host);
      copySlot(st, T, reg);
      return;
    }
    case 0x5b: {
      const src = xsrc(st, host, op, 16, true);
      if (pfx === 0) {
        for (let i = 0; i < 4; i++) out32(st, st.i32[src * 4 + i], 0, T * 4 + i, true); // CVTDQ2PS
      } else {
        const mode = pfx === 0xf3 ? RC_CHOP : rc(st); // CVTTPS2DQ / CVTPS2DQ
        for (let i = 0; i < 4; i++) st.i32[T * 4 + i] = toInt32(st, cvtIn32(st, src * 4 + i), mode);
      }
      finishFp(st, host);
      copySlot(st, T, reg);
      return;
    }
    default: { // 0xe6
      if (pfx === 0xf3) {
        const src = xsrc(st, host, op, 8, false); // CVTDQ2PD
        const a = st.i32[src * 4];
        const b = st.i32[src * 4 + 1];
        st.f64[T * 2] = a;
        st.f64[T * 2 + 1] = b;
      } else {
        const src = xsrc(st, host, op, 16, true); // CVTTPD2DQ (66) / CVTPD2DQ (F2)
        const mode = pfx === 0x66 ? RC_CHOP : rc(st);
        st.i32[T * 4] = toInt32(st, cvtIn64(st, src * 2), mode);
        st.i32[T * 4 + 1] = toInt32(st, cvtIn64(st, src * 2 + 1), mode);
        st.u32[T * 4 + 2] = 0;
        st.u32[T * 4 + 3] = 0;
      }
      finishFp(st, host);
      copySlot(st, T, reg);
    }
  }
}

// ---------------------------------------------------------------------------------------
// FXSAVE / FXRSTOR / LDMXCSR / STMXCSR (SDM Vol. 2 FXSAVE Table 3-53, 32-bit form)

function fxsave(st: SimdState, host: CoprocessorHostExt, addr: number): void {
  alignCheck(host, addr);
  const x = st.x87;
  host.writeU16(addr, x.cw);
  host.writeU16(addr + 2, x87StatusWord(x));
  host.writeU8(addr + 4, x87AbridgedTag(x));
  host.writeU8(addr + 5, 0);
  host.writeU16(addr + 6, x.fop);
  host.writeU32(addr + 8, x.fip);
  host.writeU16(addr + 12, x.fcs);
  host.writeU16(addr + 14, 0);
  host.writeU32(addr + 16, x.fdp);
  host.writeU16(addr + 20, x.fds);
  host.writeU16(addr + 22, 0);
  host.writeU32(addr + 24, st.mxcsr);
  host.writeU32(addr + 28, MXCSR_MASK);
  for (let i = 0; i < 8; i++) {
    const p = (x.top + i) & 7;
    ensureRaw(x, p);
    const a = addr + 32 + i * 16;
    host.writeU32(a, x.rawLo[p]);
    host.writeU32(a + 4, x.rawHi[p]);
    host.writeU16(a + 8, x.rawSe[p]);
    host.writeU16(a + 10, 0);
    host.writeU32(a + 12, 0);
  }
  for (let r = 0; r < 8; r++) store(st, host, addr + 160 + r * 16, r, 16);
}

function fxrstor(st: SimdState, host: CoprocessorHostExt, addr: number): void {
  alignCheck(host, addr);
  const mx = host.readU32(addr + 24);
  if (mx & ~MXCSR_MASK) host.fault(VEC_GP, 0);
  // probe the whole image before changing anything
  host.readU32(addr + 284);
  const x = st.x87;
  x.cw = host.readU16(addr) | 0x40;
  x87SetStatusWord(x, host.readU16(addr + 2));
  const tag = host.readU8(addr + 4);
  x.fop = host.readU16(addr + 6) & 0x7ff;
  x.fip = host.readU32(addr + 8);
  x.fcs = host.readU16(addr + 12);
  x.fdp = host.readU32(addr + 16);
  x.fds = host.readU16(addr + 20);
  for (let i = 0; i < 8; i++) {
    const p = (x.top + i) & 7;
    const a = addr + 32 + i * 16;
    setSlotRaw(x, p, host.readU16(a + 8), host.readU32(a + 4), host.readU32(a));
  }
  for (let i = 0; i < 8; i++) x.empty[i] = tag & (1 << i) ? 0 : 1;
  if (x.sw & ~x.cw & 0x3f) x.sw |= 0x8080;
  else x.sw &= ~0x8080;
  st.mxcsr = mx;
  for (let r = 0; r < 8; r++) load(st, host, addr + 160 + r * 16, r, 16);
}

function group15(st: SimdState, host: CoprocessorHostExt, op: ModRmOperand): void {
  const reg = (op.modrm >>> 3) & 7;
  if (op.modrm >= 0xc0) {
    if (reg >= 5) return; // LFENCE / MFENCE / SFENCE: ordering is already total here
    host.fault(VEC_UD);
  }
  switch (reg) {
    case 0:
    case 1: {
      const cr0 = host.cr0;
      if (cr0 & (CR0_EM | CR0_TS)) host.fault(VEC_NM);
      if (reg === 0) fxsave(st, host, op.linear);
      else fxrstor(st, host, op.linear);
      return;
    }
    case 2: { // LDMXCSR
      sseCheck(host);
      const v = host.readU32(op.linear);
      if (v & ~MXCSR_MASK) host.fault(VEC_GP, 0);
      st.mxcsr = v;
      return;
    }
    case 3: // STMXCSR
      sseCheck(host);
      host.writeU32(op.linear, st.mxcsr);
      return;
    case 7: // CLFLUSH: check the address is accessible, nothing to flush
      host.readU8(op.linear);
      return;
    default:
      host.fault(VEC_UD);
  }
}

// ---------------------------------------------------------------------------------------
// Entry point

/**
 * Executes one instruction of the 0F map owned by this unit (see `SIMD_OPCODES`). `opcode`
 * is the byte after 0F; `op` carries ModRM, the linear address of a memory operand and the
 * mandatory prefix. An imm8 (CMPPS, SHUFPS, PSHUF*, PINSRW, PEXTRW, shift groups) is read
 * with `host.fetchU8()`. Faults: #UD (CR0.EM, CR4.OSFXSR=0, bad encodings), #NM (CR0.TS),
 * #MF (pending x87 error before an MMX instruction), #GP(0) (misaligned 16-byte operand of
 * an aligned form, reserved MXCSR bits), #XM or #UD (unmasked SIMD FP exception).
 */
export function simdExecute(st: SimdState, host: CoprocessorHostExt, opcode: number, op: ModRmOperand): void {
  const ep = effectivePrefix(opcode, op.mandatoryPrefix, op.opsize);
  if (ep < 0) host.fault(VEC_UD);
  const pfx = ep as 0 | 0x66 | 0xf2 | 0xf3;
  const reg = (op.modrm >>> 3) & 7;
  const rm = op.modrm & 7;
  const isReg = op.modrm >= 0xc0;

  if (opcode === 0x18) return; // PREFETCHh and hint NOPs (address is not checked)
  if (opcode === 0xae) return group15(st, host, op);
  if (opcode === 0xc3) {
    // MOVNTI m32, r32 (no SSE state involved)
    if (isReg) host.fault(VEC_UD);
    host.writeU32(op.linear, host.getReg32(reg));
    return;
  }

  // MMX forms: no mandatory prefix and MMX operands
  if (pfx === 0 && (isIntOp(opcode) || opcode === 0x6e || opcode === 0x6f || opcode === 0x7e || opcode === 0x7f
    || opcode === 0x70 || (opcode >= 0x71 && opcode <= 0x73) || opcode === 0x77 || opcode === 0xc4 || opcode === 0xc5
    || opcode === 0xd7 || opcode === 0xe7 || opcode === 0xf7)
    && !(opcode >= 0x54 && opcode <= 0x57)) {
    return mmxOp(st, host, opcode, op);
  }

  sseCheck(host);
  if (pfx === 0x66 && isIntOp(opcode)) {
    const src = xsrc(st, host, op, 16, true);
    intOp(st, opcode, reg, src, 16);
    return;
  }
  switch (opcode) {
    case 0x10: // MOVUPS/MOVUPD/MOVSS/MOVSD load
      if (pfx === 0 || pfx === 0x66) {
        const src = xsrc(st, host, op, 16, false);
        copySlot(st, src, reg);
      } else if (isReg) {
        st.u32[reg * 4] = st.u32[rm * 4];
        if (pfx === 0xf2) st.u32[reg * 4 + 1] = st.u32[rm * 4 + 1];
      } else load(st, host, op.linear, reg, pfx === 0xf2 ? 8 : 4);
      return;
    case 0x11: // store forms
      if (pfx === 0 || pfx === 0x66) {
        if (isReg) copySlot(st, reg, rm);
        else store(st, host, op.linear, reg, 16);
      } else if (isReg) {
        st.u32[rm * 4] = st.u32[reg * 4];
        if (pfx === 0xf2) st.u32[rm * 4 + 1] = st.u32[reg * 4 + 1];
      } else if (pfx === 0xf2) store(st, host, op.linear, reg, 8);
      else host.writeU32(op.linear, st.u32[reg * 4]);
      return;
    case 0x12: // MOVLPS/MOVLPD xmm, m64; MOVHLPS xmm, xmm
    case 0x16: { // MOVHPS/MOVHPD xmm, m64; MOVLHPS xmm, xmm
      const hi = opcode === 0x16;
      if (isReg) {
        if (pfx === 0x66) host.fault(VEC_UD);
        const from = rm * 4 + (hi ? 0 : 2);
        const to = reg * 4 + (hi ? 2 : 0);
        const a = st.u32[from];
        const b = st.u32[from + 1];
        st.u32[to] = a;
        st.u32[to + 1] = b;
      } else {
        const a = host.readU32(op.linear);
        const b = host.readU32(op.linear + 4);
        st.u32[reg * 4 + (hi ? 2 : 0)] = a;
        st.u32[reg * 4 + (hi ? 3 : 1)] = b;
      }
      return;
    }
    case 0x13: // MOVLPS/MOVLPD m64, xmm
    case 0x17: // MOVHPS/MOVHPD m64, xmm
      if (isReg) host.fault(VEC_UD);
      store(st, host, op.linear, reg, 8, opcode === 0x17 ? 2 : 0);
      return;
    case 0x14: // UNPCKLPS / UNPCKLPD
    case 0x15: { // UNPCKHPS / UNPCKHPD
      const src = xsrc(st, host, op, 16, true);
      const T = SLOT_TMP * 4;
      const d = reg * 4;
      const s = src * 4;
      const h = opcode === 0x15 ? 2 : 0;
      if (pfx === 0x66) {
        st.u32[T] = st.u32[d + h];
        st.u32[T + 1] = st.u32[d + h + 1];
        st.u32[T + 2] = st.u32[s + h];
        st.u32[T + 3] = st.u32[s + h + 1];
      } else {
        st.u32[T] = st.u32[d + h];
        st.u32[T + 1] = st.u32[s + h];
        st.u32[T + 2] = st.u32[d + h + 1];
        st.u32[T + 3] = st.u32[s + h + 1];
      }
      copySlot(st, SLOT_TMP, reg);
      return;
    }
    case 0x28: { // MOVAPS / MOVAPD load
      const src = xsrc(st, host, op, 16, true);
      copySlot(st, src, reg);
      return;
    }
    case 0x29: // MOVAPS / MOVAPD store
    case 0x2b: // MOVNTPS / MOVNTPD
      if (isReg) {
        if (opcode === 0x2b) host.fault(VEC_UD);
        copySlot(st, reg, rm);
      } else {
        alignCheck(host, op.linear);
        store(st, host, op.linear, reg, 16);
      }
      return;
    case 0x2a:
    case 0x2c:
    case 0x2d:
    case 0x5a:
    case 0x5b:
    case 0xe6:
      return convert(st, host, opcode, op, pfx);
    case 0x2e:
    case 0x2f:
      return fpComi(st, host, opcode, op, pfx === 0x66);
    case 0x50: { // MOVMSKPS / MOVMSKPD r32, xmm
      if (!isReg) host.fault(VEC_UD);
      let m = 0;
      if (pfx === 0x66) m = (st.u32[rm * 4 + 1] >>> 31) | ((st.u32[rm * 4 + 3] >>> 31) << 1);
      else for (let i = 0; i < 4; i++) m |= (st.u32[rm * 4 + i] >>> 31) << i;
      host.setReg32(reg, m);
      return;
    }
    case 0x51:
    case 0x58:
    case 0x59:
    case 0x5c:
    case 0x5d:
    case 0x5e:
    case 0x5f:
      return fpArith(st, host, opcode, op, pfx);
    case 0x52: // RSQRTPS / RSQRTSS
    case 0x53: { // RCPPS / RCPSS
      const packed = pfx === 0;
      const src = xsrc(st, host, op, packed ? 16 : 4, true);
      copySlot(st, reg, SLOT_TMP);
      for (let i = 0; i < (packed ? 4 : 1); i++) approx32(st, opcode === 0x52, src * 4 + i, SLOT_TMP * 4 + i);
      copySlot(st, SLOT_TMP, reg);
      return;
    }
    case 0x54:
    case 0x55:
    case 0x56:
    case 0x57: {
      const src = xsrc(st, host, op, 16, true);
      intOp(st, opcode, reg, src, 16);
      return;
    }
    case 0x6e: // MOVD xmm, r/m32
      st.u32[reg * 4] = isReg ? host.getReg32(rm) : host.readU32(op.linear);
      st.u32[reg * 4 + 1] = 0;
      st.u32[reg * 4 + 2] = 0;
      st.u32[reg * 4 + 3] = 0;
      return;
    case 0x6f: { // MOVDQA (66) / MOVDQU (F3)
      const src = xsrc(st, host, op, 16, pfx === 0x66);
      copySlot(st, src, reg);
      return;
    }
    case 0x7e:
      if (pfx === 0xf3) {
        // MOVQ xmm, xmm/m64
        const src = xsrc(st, host, op, 8, false);
        const a = st.u32[src * 4];
        const b = st.u32[src * 4 + 1];
        st.u32[reg * 4] = a;
        st.u32[reg * 4 + 1] = b;
        st.u32[reg * 4 + 2] = 0;
        st.u32[reg * 4 + 3] = 0;
      } else if (isReg) host.setReg32(rm, st.u32[reg * 4]); // MOVD r/m32, xmm
      else host.writeU32(op.linear, st.u32[reg * 4]);
      return;
    case 0x7f: // MOVDQA / MOVDQU store
      if (isReg) copySlot(st, reg, rm);
      else {
        if (pfx === 0x66) alignCheck(host, op.linear);
        store(st, host, op.linear, reg, 16);
      }
      return;
    case 0xe7: // MOVNTDQ m128, xmm
      if (isReg) host.fault(VEC_UD);
      alignCheck(host, op.linear);
      store(st, host, op.linear, reg, 16);
      return;
    case 0x70: { // PSHUFD (66) / PSHUFHW (F3) / PSHUFLW (F2)
      const imm = host.fetchU8();
      const src = xsrc(st, host, op, 16, true);
      const T = SLOT_TMP;
      if (pfx === 0x66) {
        for (let i = 0; i < 4; i++) st.u32[T * 4 + i] = st.u32[src * 4 + ((imm >>> (2 * i)) & 3)];
      } else {
        copySlot(st, src, T);
        const base = pfx === 0xf3 ? 4 : 0;
        for (let i = 0; i < 4; i++) st.u16[T * 8 + base + i] = st.u16[src * 8 + base + ((imm >>> (2 * i)) & 3)];
      }
      copySlot(st, T, reg);
      return;
    }
    case 0x71:
    case 0x72:
    case 0x73: {
      if (!isReg) host.fault(VEC_UD);
      const imm = host.fetchU8();
      if (opcode === 0x73 && (reg === 3 || reg === 7)) {
        // PSRLDQ / PSLLDQ
        const n = imm > 16 ? 16 : imm;
        const T = SLOT_TMP * 16;
        for (let i = 0; i < 16; i++) {
          const j = reg === 3 ? i + n : i - n;
          st.u8[T + i] = j >= 0 && j < 16 ? st.u8[rm * 16 + j] : 0;
        }
        copySlot(st, SLOT_TMP, rm);
        return;
      }
      immShift(st, host, opcode, reg, rm, imm, 16);
      return;
    }
    case 0xc2:
      return fpCompare(st, host, op, pfx);
    case 0xc4: { // PINSRW xmm, r32/m16, imm8
      const imm = host.fetchU8();
      const v = isReg ? host.getReg32(rm) & 0xffff : host.readU16(op.linear);
      st.u16[reg * 8 + (imm & 7)] = v;
      return;
    }
    case 0xc5: { // PEXTRW r32, xmm, imm8
      if (!isReg) host.fault(VEC_UD);
      const imm = host.fetchU8();
      host.setReg32(reg, st.u16[rm * 8 + (imm & 7)]);
      return;
    }
    case 0xc6: { // SHUFPS / SHUFPD
      const imm = host.fetchU8();
      const src = xsrc(st, host, op, 16, true);
      const T = SLOT_TMP * 4;
      if (pfx === 0x66) {
        const a = reg * 4 + (imm & 1 ? 2 : 0);
        const b = src * 4 + (imm & 2 ? 2 : 0);
        st.u32[T] = st.u32[a];
        st.u32[T + 1] = st.u32[a + 1];
        st.u32[T + 2] = st.u32[b];
        st.u32[T + 3] = st.u32[b + 1];
      } else {
        st.u32[T] = st.u32[reg * 4 + (imm & 3)];
        st.u32[T + 1] = st.u32[reg * 4 + ((imm >>> 2) & 3)];
        st.u32[T + 2] = st.u32[src * 4 + ((imm >>> 4) & 3)];
        st.u32[T + 3] = st.u32[src * 4 + ((imm >>> 6) & 3)];
      }
      copySlot(st, SLOT_TMP, reg);
      return;
    }
    case 0xd6:
      if (pfx === 0x66) {
        // MOVQ xmm/m64, xmm
        if (isReg) {
          st.u32[rm * 4] = st.u32[reg * 4];
          st.u32[rm * 4 + 1] = st.u32[reg * 4 + 1];
          st.u32[rm * 4 + 2] = 0;
          st.u32[rm * 4 + 3] = 0;
        } else store(st, host, op.linear, reg, 8);
        return;
      }
      if (!isReg) host.fault(VEC_UD);
      mmxCheck(st, host);
      if (pfx === 0xf3) {
        // MOVQ2DQ xmm, mm
        readMm(st, rm, SLOT_SRC);
        copySlot(st, SLOT_SRC, reg);
      } else writeMmPair(st, reg, st.u32[rm * 4], st.u32[rm * 4 + 1]); // MOVDQ2Q mm, xmm
      mmxEnter(st);
      return;
    case 0xd7: { // PMOVMSKB r32, xmm
      if (!isReg) host.fault(VEC_UD);
      let m = 0;
      for (let i = 0; i < 16; i++) m |= (st.u8[rm * 16 + i] >>> 7) << i;
      host.setReg32(reg, m);
      return;
    }
    case 0xf7: { // MASKMOVDQU xmm, xmm
      if (!isReg) host.fault(VEC_UD);
      const addr = host.maskMoveAddress();
      for (let i = 0; i < 16; i++) if (st.u8[rm * 16 + i] & 0x80) host.writeU8(addr + i, st.u8[reg * 16 + i]);
      return;
    }
    case 0x6c:
    case 0x6d:
      // only reachable with 66 (handled above) — other prefixes are not ours
      host.fault(VEC_UD);
      return;
    default:
      host.fault(VEC_UD);
  }
}

function immShift(st: SimdState, host: CoprocessorHostExt, opcode: number, reg: number, slot: number, imm: number, n: number): void {
  const width = opcode === 0x71 ? 16 : opcode === 0x72 ? 32 : 64;
  const kind = reg === 2 ? 0 : reg === 4 ? 1 : reg === 6 ? 2 : -1;
  if (kind < 0 || (kind === 1 && width === 64)) host.fault(VEC_UD);
  shift(st, slot, kind, width, imm, n);
}

/** MMX-register forms (no mandatory prefix). */
function mmxOp(st: SimdState, host: CoprocessorHostExt, opcode: number, op: ModRmOperand): void {
  const reg = (op.modrm >>> 3) & 7;
  const rm = op.modrm & 7;
  const isReg = op.modrm >= 0xc0;
  if (opcode === 0x77) {
    // EMMS
    mmxCheck(st, host);
    st.x87.empty.fill(1);
    return;
  }
  switch (opcode) {
    case 0x6e: { // MOVD mm, r/m32
      mmxCheck(st, host);
      const v = isReg ? host.getReg32(rm) : host.readU32(op.linear);
      mmxEnter(st);
      writeMmPair(st, reg, v, 0);
      return;
    }
    case 0x6f: { // MOVQ mm, mm/m64
      mmxCheck(st, host);
      msrc(st, host, op);
      mmxEnter(st);
      writeMm(st, reg, SLOT_SRC);
      return;
    }
    case 0x7e: // MOVD r/m32, mm
      mmxCheck(st, host);
      readMm(st, reg, SLOT_SRC);
      if (isReg) host.setReg32(rm, st.u32[SLOT_SRC * 4]);
      else host.writeU32(op.linear, st.u32[SLOT_SRC * 4]);
      mmxEnter(st);
      return;
    case 0x7f: // MOVQ mm/m64, mm
    case 0xe7: // MOVNTQ m64, mm
      if (opcode === 0xe7 && isReg) host.fault(VEC_UD);
      mmxCheck(st, host);
      readMm(st, reg, SLOT_SRC);
      if (isReg) writeMm(st, rm, SLOT_SRC);
      else store(st, host, op.linear, SLOT_SRC, 8);
      mmxEnter(st);
      return;
    case 0x70: { // PSHUFW mm, mm/m64, imm8
      const imm = host.fetchU8();
      mmxCheck(st, host);
      msrc(st, host, op);
      for (let i = 0; i < 4; i++) st.u16[SLOT_DST * 8 + i] = st.u16[SLOT_SRC * 8 + ((imm >>> (2 * i)) & 3)];
      mmxEnter(st);
      writeMm(st, reg, SLOT_DST);
      return;
    }
    case 0x71:
    case 0x72:
    case 0x73: {
      if (!isReg) host.fault(VEC_UD);
      const imm = host.fetchU8();
      if (opcode === 0x73 && (reg === 3 || reg === 7)) host.fault(VEC_UD);
      mmxCheck(st, host);
      readMm(st, rm, SLOT_DST);
      immShift(st, host, opcode, reg, SLOT_DST, imm, 8);
      mmxEnter(st);
      writeMm(st, rm, SLOT_DST);
      return;
    }
    case 0xc4: { // PINSRW mm, r32/m16, imm8
      const imm = host.fetchU8();
      mmxCheck(st, host);
      const v = isReg ? host.getReg32(rm) & 0xffff : host.readU16(op.linear);
      readMm(st, reg, SLOT_DST);
      st.u16[SLOT_DST * 8 + (imm & 3)] = v;
      mmxEnter(st);
      writeMm(st, reg, SLOT_DST);
      return;
    }
    case 0xc5: { // PEXTRW r32, mm, imm8
      if (!isReg) host.fault(VEC_UD);
      const imm = host.fetchU8();
      mmxCheck(st, host);
      readMm(st, rm, SLOT_SRC);
      mmxEnter(st);
      host.setReg32(reg, st.u16[SLOT_SRC * 8 + (imm & 3)]);
      return;
    }
    case 0xd7: { // PMOVMSKB r32, mm
      if (!isReg) host.fault(VEC_UD);
      mmxCheck(st, host);
      readMm(st, rm, SLOT_SRC);
      let m = 0;
      for (let i = 0; i < 8; i++) m |= (st.u8[SLOT_SRC * 16 + i] >>> 7) << i;
      mmxEnter(st);
      host.setReg32(reg, m);
      return;
    }
    case 0xf7: { // MASKMOVQ mm, mm
      if (!isReg) host.fault(VEC_UD);
      mmxCheck(st, host);
      readMm(st, reg, SLOT_DST);
      readMm(st, rm, SLOT_SRC);
      const addr = host.maskMoveAddress();
      for (let i = 0; i < 8; i++) if (st.u8[SLOT_SRC * 16 + i] & 0x80) host.writeU8(addr + i, st.u8[SLOT_DST * 16 + i]);
      mmxEnter(st);
      return;
    }
    default: {
      if (opcode === 0x6c || opcode === 0x6d) host.fault(VEC_UD);
      mmxCheck(st, host);
      msrc(st, host, op);
      readMm(st, reg, SLOT_DST);
      intOp(st, opcode, SLOT_DST, SLOT_SRC, 8);
      mmxEnter(st);
      writeMm(st, reg, SLOT_DST);
    }
  }
}
