/**
 * The x87 FPU instruction set (escape opcodes D8-DF) for the interpreter, plus FWAIT.
 *
 * Follows Intel SDM Vol. 1 ch. 8 (x87 FPU: stack, status/control/tag words, exceptions
 * §8.5-8.7, environment/state layouts Figures 8-9 to 8-12) and Vol. 2 instruction pages;
 * opcode map Vol. 2 Appendix A.5 (Tables ).
 *
 * Internal precision (a deliberate simplification, see also x87-state.ts): arithmetic runs in
 * IEEE binary64. Registers keep their exact 80-bit image while a value is only moved (FLD/FST
 * m80, FILD/FISTP m64, FBLD, FXCH, FLD ST(i), FCHS/FABS, FSAVE/FRSTOR, MMX), and compares and
 * conversions to m32/m64/integers round from that exact image. Precision control 24 bits rounds
 * results with Math.fround; 53 and 64 bits both give binary64. Rounding control is honoured for
 * arithmetic (exact residuals from TwoSum / Dekker products), FSQRT, FRNDINT, FIST*, FST and the
 * constants; PE and C1 (round-up) are reported.
 *
 * Leaves out / approximates:
 * - extended exponent range in arithmetic (a result beyond binary64 overflows to infinity or
 *   underflows); UE is reported only on stores to m32/m64, DE only on FLD m32/m64;
 * - unmasked OE/UE store the unscaled result (no 2^±24576 bias);
 * - transcendental functions use the JS Math library (binary64 accuracy, no 66-bit pi
 *   reduction), so they can differ from hardware in the last bits;
 * - FIP/FDP hold linear addresses (equal to the offsets in flat segments);
 * - FBLD/FBSTP and FPREM quotients beyond 2^53 use BigInt (rare instructions, allocate).
 */
import type { ModRmOperand } from '../coprocessor.js';
import {
  CR0_EM, CR0_MP, CR0_NE, CR0_PE, CR0_TS, EFLAGS_AF, EFLAGS_CF, EFLAGS_OF, EFLAGS_PF, EFLAGS_SF, EFLAGS_VM,
  EFLAGS_ZF, VEC_MF, VEC_NM, type CoprocessorHostExt,
} from './host-ext.js';
import {
  directedRound, divResidual, f32FromBits, f64FromBits, MIN_NORMAL_F32, nextDown32, nextUp32, overflowResult, productError,
  RC_CHOP, RC_DOWN, RC_NEAREST, RC_UP, roundToInt, sqrtResidual, sumError, f64ToF80,
} from './fp-math.js';
import {
  copySlot, ensureRaw, setSlot, setSlotRaw, SLOT_MEM, SW_B, SW_C0, SW_C1, SW_C2, SW_C3, SW_CC, SW_DE, SW_ES, SW_IE,
  SW_OE, SW_PE, SW_SF, SW_UE, SW_ZE, x87Init, x87SetStatusWord, x87SetTagWord, x87StatusWord, x87TagWord,
  type X87State,
} from './x87-state.js';

const SLOT_TMP = 9;
const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;

// ---------------------------------------------------------------------------------------
// Exceptions

/** Raises #MF (CR0.NE=1) or asserts FERR# when an unmasked exception is pending (SDM §8.7). */
function checkPending(s: X87State, host: CoprocessorHostExt): void {
  if (s.sw & SW_ES) {
    if (host.cr0 & CR0_NE) host.fault(VEC_MF);
    host.signalFerr();
  }
}

/** Records exception flags; returns true when one of them is unmasked. */
function raise(s: X87State, host: CoprocessorHostExt, exc: number): boolean {
  s.sw |= exc;
  if ((exc & ~s.cw & 0x3f) === 0) return false;
  s.sw |= SW_ES | SW_B;
  if (!(host.cr0 & CR0_NE)) host.signalFerr();
  return true;
}

/** Recomputes ES/B from the flags and masks (after FLDCW / FLDENV / FRSTOR). */
function refreshSummary(s: X87State): void {
  if (s.sw & ~s.cw & 0x3f) s.sw |= SW_ES | SW_B;
  else s.sw &= ~(SW_ES | SW_B);
}

/** Stack underflow: IE+SF, C1=0. Returns true when masked (the caller writes the indefinite). */
function stackUnderflow(s: X87State, host: CoprocessorHostExt): boolean {
  s.sw &= ~SW_C1;
  return !raise(s, host, SW_IE | SW_SF);
}

/** Stack overflow: IE+SF, C1=1. Returns true when masked. */
function stackOverflow(s: X87State, host: CoprocessorHostExt): boolean {
  s.sw |= SW_C1;
  return !raise(s, host, SW_IE | SW_SF);
}

function setIndefinite(s: X87State, slot: number): void {
  setSlotRaw(s, slot, 0xffff, 0xc0000000, 0);
}

// ---------------------------------------------------------------------------------------
// Stack helpers

function phys(s: X87State, i: number): number {
  return (s.top + i) & 7;
}

/** Pushes slot `from` (a temporary) onto the stack, handling overflow. */
function pushSlot(s: X87State, host: CoprocessorHostExt, from: number): void {
  const t = (s.top - 1) & 7;
  if (!s.empty[t]) {
    if (!stackOverflow(s, host)) return;
    s.top = t;
    setIndefinite(s, t);
    return;
  }
  s.top = t;
  s.empty[t] = 0;
  copySlot(s, from, t);
}

function pop(s: X87State): void {
  s.empty[s.top] = 1;
  s.top = (s.top + 1) & 7;
}

function writeReg(s: X87State, p: number, v: number): void {
  setSlot(s, p, v);
  s.empty[p] = 0;
}

// ---------------------------------------------------------------------------------------
// NaN handling (SDM Vol. 1 Table 4-7)

function isNaNSlot(s: X87State, i: number): boolean {
  const v = s.st[i]!;
  return v !== v;
}

function isSNaNSlot(s: X87State, i: number): boolean {
  return isNaNSlot(s, i) && (s.rawHi[i]! & 0x40000000) === 0 && (s.rawSe[i]! & 0x7fff) === 0x7fff;
}

/**
 * If slot a or b holds a NaN, writes the propagated QNaN to `dst` (unless IE is unmasked and
 * an SNaN was seen) and returns true.
 */
function propagateNaN(s: X87State, host: CoprocessorHostExt, a: number, b: number, dst: number): boolean {
  const an = isNaNSlot(s, a);
  const bn = b >= 0 && isNaNSlot(s, b);
  if (!an && !bn) return false;
  const aS = an && isSNaNSlot(s, a);
  const bS = bn && isSNaNSlot(s, b);
  let pick = a;
  if (an && bn) {
    if (aS !== bS) pick = aS ? b : a;
    else {
      const ah = s.rawHi[a]! & 0x3fffffff;
      const bh = s.rawHi[b]! & 0x3fffffff;
      pick = ah > bh || (ah === bh && s.rawLo[a]! >= s.rawLo[b]!) ? a : b;
    }
  } else if (bn) pick = b;
  if (aS || bS) {
    if (raise(s, host, SW_IE)) return true;
  }
  setSlotRaw(s, dst, s.rawSe[pick]!, (s.rawHi[pick]! | 0xc0000000) >>> 0, s.rawLo[pick]!);
  if (dst < 8) s.empty[dst] = 0;
  return true;
}

// ---------------------------------------------------------------------------------------
// Rounding of results

function needResidual(s: X87State): boolean {
  return ((s.cw >>> 10) & 3) !== RC_NEAREST || (s.sw & SW_PE) === 0 || (s.cw & SW_PE) === 0;
}

/**
 * Final rounding of a binary64 result r (nearest) whose residual sign is `res`, under the
 * precision and rounding controls; signals PE/OE. `negHint` gives the sign on overflow.
 */
function roundResult(s: X87State, host: CoprocessorHostExt, r: number, res: number): number {
  const rc = (s.cw >>> 10) & 3;
  const pc = (s.cw >>> 8) & 3;
  if (pc === 0) {
    const f = Math.fround(r);
    if (!Number.isFinite(f) && Number.isFinite(r)) {
      raise(s, host, SW_OE | SW_PE);
      s.sw |= SW_C1;
      return overflowResult(r < 0, rc, true);
    }
    const d = r - f;
    const rr = d !== 0 ? d : res;
    if (rr !== 0) {
      const out = directedRound(s.scratch, f, rr, rc, true);
      if (!Number.isFinite(out)) raise(s, host, SW_OE); // rounded up past the largest finite value
      // C1 = 1 when the result was rounded away from zero (SDM Vol. 1 §8.1.3.3)
      s.sw = (out !== f ? Math.abs(out) > Math.abs(f) : rr * f < 0) ? s.sw | SW_C1 : s.sw & ~SW_C1;
      raise(s, host, SW_PE);
      return out;
    }
    s.sw &= ~SW_C1;
    return f;
  }
  if (res !== 0) {
    const out = directedRound(s.scratch, r, res, rc, false);
    if (!Number.isFinite(out)) raise(s, host, SW_OE);
    s.sw = (out !== r ? Math.abs(out) > Math.abs(r) : res * r < 0) ? s.sw | SW_C1 : s.sw & ~SW_C1;
    raise(s, host, SW_PE);
    return out;
  }
  s.sw &= ~SW_C1;
  return r;
}

/** Handles an infinite result from finite operands: overflow. */
function overflowed(s: X87State, host: CoprocessorHostExt, negative: boolean): number {
  raise(s, host, SW_OE | SW_PE);
  s.sw |= SW_C1;
  return overflowResult(negative, (s.cw >>> 10) & 3, ((s.cw >>> 8) & 3) === 0);
}

/**
 * Basic arithmetic with x = ST(0)-side operand, y = other operand (slots xs, ys), result to
 * physical register dst. kind: 0 add, 1 mul, 4 x-y, 5 y-x, 6 x/y, 7 y/x.
 */
function arith(s: X87State, host: CoprocessorHostExt, kind: number, xs: number, ys: number, dst: number): void {
  if (propagateNaN(s, host, xs, ys, dst)) return;
  let a = s.st[xs]!;
  let b = s.st[ys]!;
  if (kind === 5 || kind === 7) {
    const t = a;
    a = b;
    b = t;
  }
  const want = needResidual(s);
  let r: number;
  let res = 0;
  switch (kind) {
    case 0:
    case 4:
    case 5: {
      if (kind !== 0) b = -b;
      r = a + b;
      if (r === 0) {
        // exact zero sums are +0 except under round-down (IEEE 754 §6.3)
        if (((s.cw >>> 10) & 3) === RC_DOWN && !(a === 0 && Object.is(a, b))) r = -0;
      } else if (want && Number.isFinite(r)) res = sumError(a, b, r);
      break;
    }
    case 1:
      r = a * b;
      if (want && Number.isFinite(r)) res = productError(a, b, r);
      break;
    default:
      if (b === 0 && a === a && a !== 0 && Number.isFinite(a)) {
        if (raise(s, host, SW_ZE)) return;
        writeReg(s, dst, (a < 0) !== Object.is(b, -0) ? -Infinity : Infinity);
        return;
      }
      r = a / b;
      if (want && Number.isFinite(r) && r !== 0) res = divResidual(a, b, r);
      else if (want && r === 0 && a !== 0 && Number.isFinite(b)) res = r === 0 ? (a < 0 !== b < 0 ? -1 : 1) : 0;
      break;
  }
  if (r !== r) {
    if (raise(s, host, SW_IE)) return;
    setIndefinite(s, dst);
    s.empty[dst] = 0;
    return;
  }
  if (!Number.isFinite(r) && Number.isFinite(a) && Number.isFinite(b)) {
    writeReg(s, dst, overflowed(s, host, r < 0));
    return;
  }
  writeReg(s, dst, roundResult(s, host, r, res));
}

// ---------------------------------------------------------------------------------------
// Comparisons

/** Compares slots a and b: 0 a>b, 1 a<b, 2 equal, 3 unordered; -1 when an unmasked IE stopped it. */
function compare(s: X87State, host: CoprocessorHostExt, a: number, b: number, quiet: boolean): number {
  const x = s.st[a]!;
  const y = b < 0 ? 0 : s.st[b]!;
  if (x !== x || y !== y) {
    const snan = isSNaNSlot(s, a) || (b >= 0 && isSNaNSlot(s, b));
    if ((!quiet || snan) && raise(s, host, SW_IE)) return -1;
    return 3;
  }
  if (s.raw[a] || (b >= 0 && s.raw[b])) return compareExact(s, a, b);
  return x > y ? 0 : x < y ? 1 : 2;
}

/** Magnitude order of two 80-bit images: -1, 0, 1. */
function cmpMag(e1: number, h1: number, l1: number, e2: number, h2: number, l2: number): number {
  if (e1 !== e2) return e1 < e2 ? -1 : 1;
  if (h1 !== h2) return h1 < h2 ? -1 : 1;
  if (l1 !== l2) return l1 < l2 ? -1 : 1;
  return 0;
}

/** Compares non-NaN slots a and b (b < 0: +0) on their exact 80-bit images. */
function compareExact(s: X87State, a: number, b: number): number {
  ensureRaw(s, a);
  const sa = s.rawSe[a]!;
  let sb = 0;
  let hb = 0;
  let lb = 0;
  if (b >= 0) {
    ensureRaw(s, b);
    sb = s.rawSe[b]!;
    hb = s.rawHi[b]!;
    lb = s.rawLo[b]!;
  }
  const za = (sa & 0x7fff) === 0 && s.rawHi[a] === 0 && s.rawLo[a] === 0;
  const zb = (sb & 0x7fff) === 0 && hb === 0 && lb === 0;
  if (za && zb) return 2;
  const na = (sa & 0x8000) !== 0 && !za;
  const nb = (sb & 0x8000) !== 0 && !zb;
  if (na !== nb) return na ? 1 : 0;
  const m = cmpMag(sa & 0x7fff, s.rawHi[a]!, s.rawLo[a]!, sb & 0x7fff, hb, lb);
  if (m === 0) return 2;
  return (m > 0) !== na ? 0 : 1;
}

/**
 * Sign of (exact value of slot p) - st[p] for a slot with a raw image that binary64 cannot
 * hold exactly (0 when exact or not raw).
 */
function rawResidual(s: X87State, p: number): number {
  if (!s.raw[p]) return 0;
  const se = s.rawSe[p]!;
  const hi = s.rawHi[p]!;
  const lo = s.rawLo[p]!;
  f64ToF80(s.scratch, s.st[p]!, s.f80);
  const m = cmpMag(se & 0x7fff, hi, lo, s.f80.se & 0x7fff, s.f80.hi, s.f80.lo);
  return se & 0x8000 ? -m : m;
}

const CC_BY_RESULT = [0, SW_C0, SW_C3, SW_C3 | SW_C2 | SW_C0];
const EFL_BY_RESULT = [0, EFLAGS_CF, EFLAGS_ZF, EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF];

function setCC(s: X87State, cc: number): void {
  s.sw = (s.sw & ~SW_CC) | cc;
}

/** FCOMI & co. set ZF, PF, CF and clear OF, SF, AF (SDM Vol. 2 FCOMI). */
function setEflagsFromCompare(host: CoprocessorHostExt, r: number): void {
  const f = host.getEflags() & ~(EFLAGS_CF | EFLAGS_PF | EFLAGS_ZF | EFLAGS_OF | EFLAGS_SF | EFLAGS_AF);
  host.setEflags(f | EFL_BY_RESULT[r]!);
}

// ---------------------------------------------------------------------------------------
// Memory operand decoding into slot SLOT_MEM

/** Loads an m32 real into slot `slot`; returns false when an unmasked exception stops the instruction. */
function loadF32(s: X87State, host: CoprocessorHostExt, bits: number, slot: number): boolean {
  const e = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  if (e === 0xff && frac !== 0) {
    const snan = (frac & 0x400000) === 0;
    if (snan && raise(s, host, SW_IE)) return false;
    setSlotRaw(s, slot, ((bits >>> 16) & 0x8000) | 0x7fff, (0xc0000000 | (frac << 8)) >>> 0, 0);
    return true;
  }
  if (e === 0 && frac !== 0 && raise(s, host, SW_DE)) return false;
  setSlot(s, slot, f32FromBits(s.scratch, bits));
  return true;
}

/** Loads an m64 real. */
function loadF64(s: X87State, host: CoprocessorHostExt, lo: number, hi: number, slot: number): boolean {
  const e = (hi >>> 20) & 0x7ff;
  if (e === 0x7ff && ((hi & 0xfffff) !== 0 || lo !== 0)) {
    const snan = (hi & 0x80000) === 0;
    if (snan && raise(s, host, SW_IE)) return false;
    setSlotRaw(s, slot, ((hi >>> 16) & 0x8000) | 0x7fff, (0xc0000000 | ((hi & 0xfffff) << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
    return true;
  }
  if (e === 0 && ((hi & 0xfffff) !== 0 || lo !== 0) && raise(s, host, SW_DE)) return false;
  setSlot(s, slot, f64FromBits(s.scratch, hi, lo));
  return true;
}

/** Loads a signed 64-bit integer (hi:lo) exactly into a slot. */
function loadI64(s: X87State, hi: number, lo: number, slot: number): void {
  if (hi === 0 && lo === 0) {
    setSlot(s, slot, 0);
    return;
  }
  let sign = 0;
  if (hi & 0x80000000) {
    sign = 0x8000;
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  let e = 16383 + 63;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    e -= 32;
  }
  const z = Math.clz32(hi);
  if (z > 0) {
    hi = ((hi << z) | (lo >>> (32 - z))) >>> 0;
    lo = (lo << z) >>> 0;
    e -= z;
  }
  setSlotRaw(s, slot, sign | e, hi, lo);
}

/** Loads an m80 packed BCD (FBLD) into a slot. */
function loadBcd(s: X87State, host: CoprocessorHostExt, addr: number, slot: number): void {
  let v = 0n;
  for (let i = 8; i >= 0; i--) {
    const b = host.readU8(addr + i);
    v = v * 100n + BigInt((b >>> 4) * 10 + (b & 15));
  }
  const neg = (host.readU8(addr + 9) & 0x80) !== 0;
  if (v === 0n) {
    setSlot(s, slot, neg ? -0 : 0);
    return;
  }
  if (neg) v = -v;
  const u = BigInt.asUintN(64, v);
  loadI64(s, Number(u >> 32n), Number(u & 0xffffffffn), slot);
}

function readMem(s: X87State, host: CoprocessorHostExt, fmt: number, addr: number, slot: number): boolean {
  // fmt: 0 m32 real, 1 m32 int, 2 m64 real, 3 m16 int
  switch (fmt) {
    case 0:
      return loadF32(s, host, host.readU32(addr), slot);
    case 1:
      setSlot(s, slot, host.readU32(addr) | 0);
      return true;
    case 2: {
      const lo = host.readU32(addr);
      const hi = host.readU32(addr + 4);
      return loadF64(s, host, lo, hi, slot);
    }
    default:
      setSlot(s, slot, (host.readU16(addr) << 16) >> 16);
      return true;
  }
}

// ---------------------------------------------------------------------------------------
// Stores

function storeF32(s: X87State, host: CoprocessorHostExt, p: number, addr: number): boolean {
  let bits: number;
  const x = s.st[p]!;
  if (x !== x) {
    if (isSNaNSlot(s, p) && raise(s, host, SW_IE)) return false;
    bits = ((s.rawSe[p]! & 0x8000) << 16) | 0x7fc00000 | ((s.rawHi[p]! >>> 8) & 0x3fffff);
  } else {
    const rc = (s.cw >>> 10) & 3;
    let f = Math.fround(x);
    // residual of f against the exact register value (binary64 x, or the 80-bit image)
    const hidden = rawResidual(s, p);
    if (hidden !== 0 && f !== x && Number.isFinite(f)) {
      // x may sit exactly on a binary32 tie that the hidden bits resolve (double rounding)
      const other = x > f ? nextUp32(s.scratch, f) : nextDown32(s.scratch, f);
      if (other - x === x - f && hidden > 0 === x > f) f = other;
    }
    const rr = f !== x ? x - f : hidden;
    const finiteSrc = Number.isFinite(x) || (s.raw[p] === 1 && (s.rawSe[p]! & 0x7fff) !== 0x7fff);
    if (!Number.isFinite(f) && finiteSrc) {
      if (raise(s, host, SW_OE | SW_PE)) return false;
      f = overflowResult(x < 0, rc, true);
      s.sw |= SW_C1;
    } else if (rr !== 0) {
      const tiny = Math.abs(x) < MIN_NORMAL_F32;
      if (tiny && raise(s, host, SW_UE | SW_PE)) return false;
      const base = f;
      f = directedRound(s.scratch, f, rr, rc, true);
      if (!Number.isFinite(f) && raise(s, host, SW_OE | SW_PE)) return false;
      raise(s, host, SW_PE);
      s.sw = (f !== base ? Math.abs(f) > Math.abs(base) : rr * base < 0) ? s.sw | SW_C1 : s.sw & ~SW_C1;
    }
    s.scratch.f32[0] = f;
    bits = s.scratch.u32[0]!;
  }
  host.writeU32(addr, bits >>> 0);
  return true;
}

function storeF64(s: X87State, host: CoprocessorHostExt, p: number, addr: number): boolean {
  const x = s.st[p]!;
  let hi: number;
  let lo: number;
  if (x !== x) {
    if (isSNaNSlot(s, p) && raise(s, host, SW_IE)) return false;
    hi = ((s.rawSe[p]! & 0x8000) << 16) | 0x7ff80000 | ((s.rawHi[p]! >>> 11) & 0x7ffff);
    lo = ((s.rawHi[p]! << 21) | (s.rawLo[p]! >>> 11)) >>> 0;
  } else {
    let v = x;
    if (s.raw[p] && !Number.isFinite(x) && (s.rawSe[p]! & 0x7fff) !== 0x7fff) {
      if (raise(s, host, SW_OE | SW_PE)) return false;
      v = overflowResult(x < 0, (s.cw >>> 10) & 3, false);
    } else if (s.raw[p]) {
      // an exact 80-bit value: round it to binary64 under RC (x is its nearest rounding)
      const res = rawResidual(s, p);
      if (res !== 0) {
        const tiny = Math.abs(x) < 2.2250738585072014e-308;
        if (tiny && raise(s, host, SW_UE | SW_PE)) return false;
        v = directedRound(s.scratch, x, res, (s.cw >>> 10) & 3, false);
        if (!Number.isFinite(v) && raise(s, host, SW_OE | SW_PE)) return false;
        raise(s, host, SW_PE);
        s.sw = (v !== x ? Math.abs(v) > Math.abs(x) : res * x < 0) ? s.sw | SW_C1 : s.sw & ~SW_C1;
      }
    }
    s.scratch.f64[0] = v;
    lo = s.scratch.u32[0]!;
    hi = s.scratch.u32[1]!;
  }
  host.writeU32(addr, lo);
  host.writeU32(addr + 4, hi >>> 0);
  return true;
}

function storeF80(s: X87State, host: CoprocessorHostExt, p: number, addr: number): void {
  ensureRaw(s, p);
  host.writeU32(addr, s.rawLo[p]!);
  host.writeU32(addr + 4, s.rawHi[p]!);
  host.writeU16(addr + 8, s.rawSe[p]!);
}

/**
 * Converts slot p to a signed integer of `bits` (16, 32, 64) under rounding control `rc`;
 * the result goes to `out` as [lo, hi]. Returns false on invalid (NaN / out of range).
 */
function toInt(s: X87State, host: CoprocessorHostExt, p: number, bits: number, rc: number, out: Uint32Array): boolean {
  const x = s.st[p]!;
  if (x !== x || !Number.isFinite(x)) return false;
  if (bits === 64 && s.raw[p] && Math.abs(x) >= 4503599627370496) {
    // exact path from the 80-bit image (FILD m64 / FISTP m64 round trips)
    const e = (s.rawSe[p]! & 0x7fff) - 16383;
    if (e > 63) return false;
    const shift = 63 - e; // 0..11
    let hi = s.rawHi[p]!;
    let lo = s.rawLo[p]!;
    let inexact = false;
    if (shift > 0) {
      const fracBits = lo & ((1 << shift) - 1);
      lo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
      hi = hi >>> shift;
      if (fracBits !== 0) {
        inexact = true;
        const half = 1 << (shift - 1);
        const neg = x < 0;
        let up = false;
        if (rc === RC_NEAREST) up = fracBits > half || (fracBits === half && (lo & 1) === 1);
        else if (rc === RC_UP) up = !neg;
        else if (rc === RC_DOWN) up = neg;
        if (up) {
          lo = (lo + 1) >>> 0;
          if (lo === 0) hi = (hi + 1) >>> 0;
        }
      }
    }
    const neg = (s.rawSe[p]! & 0x8000) !== 0;
    if (hi >= 0x80000000 && !(neg && hi === 0x80000000 && lo === 0)) return false;
    if (neg) {
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
    }
    out[0] = lo;
    out[1] = hi;
    if (inexact) raise(s, host, SW_PE);
    return true;
  }
  let r = roundToInt(x, rc);
  // an 80-bit image finer than binary64 can move the result across an integer or a tie
  const rr = rawResidual(s, p);
  if (rr !== 0) {
    if (r === x) {
      if (rc === RC_UP && rr > 0) r += 1;
      else if (rc === RC_DOWN && rr < 0) r -= 1;
      else if (rc === RC_CHOP && (x > 0 ? rr < 0 : rr > 0)) r += x > 0 ? -1 : 1;
    } else if (rc === RC_NEAREST && Math.abs(x - Math.trunc(x)) === 0.5) {
      r = rr > 0 ? Math.ceil(x) : Math.floor(x);
    }
  }
  const lim = bits === 16 ? 32768 : bits === 32 ? 2147483648 : TWO63;
  if (!(r >= -lim && r < lim)) return false;
  if (r !== x || rr !== 0) raise(s, host, SW_PE);
  if (bits === 64) {
    const h = Math.floor(r / TWO32);
    out[0] = (r - h * TWO32) >>> 0;
    out[1] = h >>> 0;
  } else {
    out[0] = r >>> 0;
    out[1] = r < 0 ? 0xffffffff : 0;
  }
  return true;
}

function storeInt(s: X87State, host: CoprocessorHostExt, p: number, bits: number, rc: number, addr: number): boolean {
  const out = s.scratch.u32;
  if (s.empty[p]) {
    if (!stackUnderflow(s, host)) return false;
    out[0] = bits === 16 ? 0x8000 : bits === 32 ? 0x80000000 : 0;
    out[1] = 0x80000000;
  } else if (!toInt(s, host, p, bits, rc, out)) {
    if (raise(s, host, SW_IE)) return false;
    out[0] = bits === 16 ? 0x8000 : bits === 32 ? 0x80000000 : 0;
    out[1] = 0x80000000;
  }
  if (bits === 16) host.writeU16(addr, out[0]! & 0xffff);
  else {
    host.writeU32(addr, out[0]!);
    if (bits === 64) host.writeU32(addr + 4, out[1]!);
  }
  return true;
}

function storeBcd(s: X87State, host: CoprocessorHostExt, p: number, addr: number): boolean {
  let ok = !s.empty[p];
  let v = 0n;
  let neg = false;
  if (!ok) {
    if (!stackUnderflow(s, host)) return false;
  } else {
    const x = s.st[p]!;
    const out = s.scratch.u32;
    const rc = (s.cw >>> 10) & 3;
    if (toInt(s, host, p, 64, rc, out)) {
      v = BigInt.asIntN(64, (BigInt(out[1]!) << 32n) | BigInt(out[0]!));
      neg = x < 0 || Object.is(x, -0); // the sign of the source, even when it rounds to zero
      if (v < 0n) v = -v;
      if (v > 999999999999999999n) ok = false;
    } else ok = false;
    if (!ok && raise(s, host, SW_IE)) return false;
  }
  if (!ok) {
    // packed BCD indefinite: FFFF C000 0000 0000 0000
    for (let i = 0; i < 7; i++) host.writeU8(addr + i, 0);
    host.writeU8(addr + 7, 0xc0);
    host.writeU8(addr + 8, 0xff);
    host.writeU8(addr + 9, 0xff);
    return true;
  }
  for (let i = 0; i < 9; i++) {
    const d = Number(v % 100n);
    v /= 100n;
    host.writeU8(addr + i, ((Math.floor(d / 10) << 4) | d % 10) & 0xff);
  }
  host.writeU8(addr + 9, neg ? 0x80 : 0);
  return true;
}

// ---------------------------------------------------------------------------------------
// Environment (FLDENV / FSTENV / FSAVE / FRSTOR), SDM Vol. 1 Figures 8-9 to 8-12

function realFormat(host: CoprocessorHostExt): boolean {
  return (host.cr0 & CR0_PE) === 0 || (host.getEflags() & EFLAGS_VM) !== 0;
}

/** Writes the environment at addr; returns its size (14 or 28). */
function storeEnv(s: X87State, host: CoprocessorHostExt, addr: number): number {
  const real = realFormat(host);
  const sw = x87StatusWord(s);
  const tw = x87TagWord(s);
  if (host.operandSize32) {
    host.writeU32(addr, 0xffff0000 | s.cw);
    host.writeU32(addr + 4, 0xffff0000 | sw);
    host.writeU32(addr + 8, 0xffff0000 | tw);
    if (real) {
      host.writeU32(addr + 12, 0xffff0000 | (s.fip & 0xffff));
      host.writeU32(addr + 16, (((s.fip >>> 16) & 0xffff) << 12) | s.fop);
      host.writeU32(addr + 20, 0xffff0000 | (s.fdp & 0xffff));
      host.writeU32(addr + 24, ((s.fdp >>> 16) & 0xffff) << 12);
    } else {
      host.writeU32(addr + 12, s.fip >>> 0);
      host.writeU32(addr + 16, ((s.fop << 16) | s.fcs) >>> 0);
      host.writeU32(addr + 20, s.fdp >>> 0);
      host.writeU32(addr + 24, 0xffff0000 | s.fds);
    }
    return 28;
  }
  host.writeU16(addr, s.cw);
  host.writeU16(addr + 2, sw);
  host.writeU16(addr + 4, tw);
  if (real) {
    host.writeU16(addr + 6, s.fip & 0xffff);
    host.writeU16(addr + 8, (((s.fip >>> 16) & 0xf) << 12) | s.fop);
    host.writeU16(addr + 10, s.fdp & 0xffff);
    host.writeU16(addr + 12, ((s.fdp >>> 16) & 0xf) << 12);
  } else {
    host.writeU16(addr + 6, s.fip & 0xffff);
    host.writeU16(addr + 8, s.fcs);
    host.writeU16(addr + 10, s.fdp & 0xffff);
    host.writeU16(addr + 12, s.fds);
  }
  return 14;
}

/** Reads the environment at addr (all reads happen before any state changes); returns its size. */
function loadEnv(s: X87State, host: CoprocessorHostExt, addr: number, regsAfter: boolean): number {
  const real = realFormat(host);
  let cw: number, sw: number, tw: number, fip: number, fop: number, fcs: number, fdp: number, fds: number;
  let size: number;
  if (host.operandSize32) {
    cw = host.readU16(addr);
    sw = host.readU16(addr + 4);
    tw = host.readU16(addr + 8);
    const w3 = host.readU32(addr + 12);
    const w4 = host.readU32(addr + 16);
    const w5 = host.readU32(addr + 20);
    const w6 = host.readU32(addr + 24);
    if (real) {
      fip = ((w3 & 0xffff) | (((w4 >>> 12) & 0xffff) << 16)) >>> 0;
      fop = w4 & 0x7ff;
      fdp = ((w5 & 0xffff) | (((w6 >>> 12) & 0xffff) << 16)) >>> 0;
      fcs = 0;
      fds = 0;
    } else {
      fip = w3;
      fcs = w4 & 0xffff;
      fop = (w4 >>> 16) & 0x7ff;
      fdp = w5;
      fds = w6 & 0xffff;
    }
    size = 28;
  } else {
    cw = host.readU16(addr);
    sw = host.readU16(addr + 2);
    tw = host.readU16(addr + 4);
    const w3 = host.readU16(addr + 6);
    const w4 = host.readU16(addr + 8);
    const w5 = host.readU16(addr + 10);
    const w6 = host.readU16(addr + 12);
    if (real) {
      fip = w3 | ((w4 >>> 12) << 16);
      fop = w4 & 0x7ff;
      fdp = w5 | ((w6 >>> 12) << 16);
      fcs = 0;
      fds = 0;
    } else {
      fip = w3;
      fcs = w4;
      fop = s.fop;
      fdp = w5;
      fds = w6;
    }
    size = 14;
  }
  if (regsAfter) {
    // FRSTOR: read all registers into the raw arrays only after the whole image was readable.
    const top = (sw >>> 11) & 7;
    const base = addr + size;
    // read first (faults leave the state unchanged), then commit
    const img = s.scratch.u32;
    for (let i = 0; i < 8; i++) host.readU16(base + i * 10 + 8);
    for (let i = 0; i < 8; i++) {
      const a = base + i * 10;
      img[0] = host.readU32(a);
      img[1] = host.readU32(a + 4);
      const se = host.readU16(a + 8);
      setSlotRaw(s, (top + i) & 7, se, img[1]!, img[0]!);
    }
  }
  s.cw = cw & 0x1f7f | 0x40;
  x87SetStatusWord(s, sw);
  x87SetTagWord(s, tw);
  s.fip = fip;
  s.fcs = fcs;
  s.fop = fop;
  s.fdp = fdp;
  s.fds = fds;
  refreshSummary(s);
  return size;
}

// ---------------------------------------------------------------------------------------
// Constants (SDM Vol. 1 §8.3.4; rounded per RC as in Vol. 1 §8.3.8)

function loadConst(s: X87State, host: CoprocessorHostExt, which: number): void {
  const rc = (s.cw >>> 10) & 3;
  const down = rc === RC_DOWN || rc === RC_CHOP;
  switch (which) {
    case 0: setSlot(s, SLOT_TMP, 1); break; // FLD1
    case 1: setSlotRaw(s, SLOT_TMP, 0x4000, 0xd49a784b, rc === RC_UP ? 0xcd1b8aff : 0xcd1b8afe); break; // L2T
    case 2: setSlotRaw(s, SLOT_TMP, 0x3fff, 0xb8aa3b29, down ? 0x5c17f0bb : 0x5c17f0bc); break; // L2E
    case 3: setSlotRaw(s, SLOT_TMP, 0x4000, 0xc90fdaa2, down ? 0x2168c234 : 0x2168c235); break; // PI
    case 4: setSlotRaw(s, SLOT_TMP, 0x3ffd, 0x9a209a84, down ? 0xfbcff798 : 0xfbcff799); break; // LG2
    case 5: setSlotRaw(s, SLOT_TMP, 0x3ffe, 0xb17217f7, down ? 0xd1cf79ab : 0xd1cf79ac); break; // LN2
    default: setSlot(s, SLOT_TMP, 0); break; // FLDZ
  }
  pushSlot(s, host, SLOT_TMP);
}

// ---------------------------------------------------------------------------------------
// D9 register forms E0-FF: unary, transcendental and miscellaneous

function scale2(x: number, n: number): number {
  if (n > 2200) n = 2200;
  else if (n < -2200) n = -2200;
  while (n > 1000) {
    x *= 2 ** 1000;
    n -= 1000;
  }
  while (n < -1000) {
    x *= 2 ** -1000;
    n += 1000;
  }
  return x * 2 ** n;
}

/**
 * The low three bits of trunc(|x / y|) (x, y finite, y != 0, exponent difference < 64),
 * given r = x % y. Exact: goes through BigInt only when the quotient exceeds 2^53.
 */
function quotientLow3(s: X87State, x: number, y: number, r: number): number {
  const q = Math.abs((x - r) / y);
  if (q < 4503599627370496) return Math.round(q) % 8;
  // x = mx * 2^ex, y = my * 2^ey with 53-bit integer significands
  const ex = exponentOf(s, x) - 52;
  const ey = exponentOf(s, y) - 52;
  const mx = BigInt(Math.abs(x) * 2 ** -ex);
  const my = BigInt(Math.abs(y) * 2 ** -ey);
  const qi = ex >= ey ? (mx << BigInt(ex - ey)) / my : mx / (my << BigInt(ey - ex));
  return Number(qi & 7n);
}

/** Unbiased exponent of a finite non-zero binary64. */
function exponentOf(s: X87State, x: number): number {
  s.scratch.f64[0] = x;
  const e = (s.scratch.u32[1]! >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  s.scratch.f64[0] = x * 2 ** 64;
  return ((s.scratch.u32[1]! >>> 20) & 0x7ff) - 1023 - 64;
}

function d9Misc(s: X87State, host: CoprocessorHostExt, modrm: number): void {
  const p0 = s.top;
  const p1 = (s.top + 1) & 7;
  switch (modrm) {
    case 0xd0: // FNOP
      return;
    case 0xe0: // FCHS
    case 0xe1: // FABS
      if (s.empty[p0]) {
        if (stackUnderflow(s, host)) {
          setIndefinite(s, p0);
          s.empty[p0] = 0;
        }
        return;
      }
      s.sw &= ~SW_C1;
      if (s.raw[p0]) {
        const se = modrm === 0xe0 ? s.rawSe[p0]! ^ 0x8000 : s.rawSe[p0]! & 0x7fff;
        setSlotRaw(s, p0, se, s.rawHi[p0]!, s.rawLo[p0]!);
      } else s.st[p0] = modrm === 0xe0 ? -s.st[p0]! : Math.abs(s.st[p0]!);
      return;
    case 0xe4: // FTST
    case 0xe5: { // FXAM
      if (modrm === 0xe5) {
        let cc: number;
        const sign = s.raw[p0] ? (s.rawSe[p0]! & 0x8000) !== 0 : s.st[p0]! < 0 || Object.is(s.st[p0], -0);
        if (s.empty[p0]) cc = SW_C3 | SW_C0;
        else if (s.raw[p0]) {
          const e = s.rawSe[p0]! & 0x7fff;
          const hi = s.rawHi[p0]!;
          const lo = s.rawLo[p0]!;
          if (e === 0x7fff) cc = (hi & 0x80000000) === 0 ? 0 : (hi & 0x7fffffff) === 0 && lo === 0 ? SW_C2 | SW_C0 : SW_C0;
          else if (e === 0) cc = hi === 0 && lo === 0 ? SW_C3 : SW_C3 | SW_C2;
          else cc = hi & 0x80000000 ? SW_C2 : 0;
        } else {
          const v = s.st[p0]!;
          cc = v === 0 ? SW_C3 : Number.isFinite(v) ? SW_C2 : SW_C2 | SW_C0;
        }
        setCC(s, cc | (sign ? SW_C1 : 0));
        return;
      }
      if (s.empty[p0]) {
        if (stackUnderflow(s, host)) setCC(s, CC_BY_RESULT[3]!);
        return;
      }
      const r = compare(s, host, p0, -1, false);
      if (r >= 0) setCC(s, CC_BY_RESULT[r]!);
      return;
    }
    case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
      loadConst(s, host, modrm - 0xe8);
      return;
    case 0xf6: // FDECSTP
      s.top = (s.top - 1) & 7;
      s.sw &= ~SW_C1;
      return;
    case 0xf7: // FINCSTP
      s.top = (s.top + 1) & 7;
      s.sw &= ~SW_C1;
      return;
    default:
      break;
  }
  // Everything else reads ST(0) (and ST(1) for the binary ones).
  const binary = modrm === 0xf1 || modrm === 0xf3 || modrm === 0xf5 || modrm === 0xf8 || modrm === 0xf9 || modrm === 0xfd;
  if (s.empty[p0] || (binary && s.empty[p1])) {
    if (!stackUnderflow(s, host)) return;
    if (binary && (modrm === 0xf1 || modrm === 0xf3 || modrm === 0xf9)) {
      setIndefinite(s, p1);
      s.empty[p1] = 0;
      pop(s);
    } else if (modrm === 0xf2 || modrm === 0xf4 || modrm === 0xfb) {
      // FPTAN / FXTRACT / FSINCOS: ST(0) and the pushed value become indefinite
      setIndefinite(s, p0);
      s.empty[p0] = 0;
      setIndefinite(s, SLOT_TMP);
      pushSlot(s, host, SLOT_TMP);
    } else {
      setIndefinite(s, p0);
      s.empty[p0] = 0;
    }
    return;
  }
  const x = s.st[p0]!;
  s.sw &= ~SW_C1;
  switch (modrm) {
    case 0xfa: { // FSQRT
      if (propagateNaN(s, host, p0, -1, p0)) return;
      if (x < 0) {
        if (!raise(s, host, SW_IE)) setIndefinite(s, p0);
        return;
      }
      const q = Math.sqrt(x);
      writeReg(s, p0, roundResult(s, host, q, needResidual(s) && Number.isFinite(q) ? sqrtResidual(x, q) : 0));
      return;
    }
    case 0xfc: { // FRNDINT
      if (propagateNaN(s, host, p0, -1, p0)) return;
      const r = roundToInt(x, (s.cw >>> 10) & 3);
      if (r !== x) {
        raise(s, host, SW_PE);
        if (Math.abs(r) > Math.abs(x)) s.sw |= SW_C1;
      }
      writeReg(s, p0, r);
      return;
    }
    case 0xfd: { // FSCALE
      if (propagateNaN(s, host, p0, p1, p0)) return;
      const y = s.st[p1]!;
      if ((x === 0 && y === Infinity) || (!Number.isFinite(x) && y === -Infinity)) {
        if (!raise(s, host, SW_IE)) setIndefinite(s, p0);
        return;
      }
      const n = Math.trunc(y);
      let r = Number.isFinite(n) ? scale2(x, n) : n > 0 ? x * Infinity : x * 0;
      if (!Number.isFinite(r) && Number.isFinite(x)) r = overflowed(s, host, x < 0);
      writeReg(s, p0, r);
      return;
    }
    case 0xf4: { // FXTRACT
      if (propagateNaN(s, host, p0, -1, p0)) {
        copySlot(s, p0, SLOT_TMP);
        pushSlot(s, host, SLOT_TMP);
        return;
      }
      if (x === 0) {
        if (raise(s, host, SW_ZE)) return;
        writeReg(s, p0, -Infinity);
        setSlot(s, SLOT_TMP, x);
      } else if (!Number.isFinite(x)) {
        writeReg(s, p0, Infinity);
        setSlot(s, SLOT_TMP, x);
      } else {
        const e = exponentOf(s, x);
        writeReg(s, p0, e);
        setSlot(s, SLOT_TMP, scale2(x, -e));
      }
      pushSlot(s, host, SLOT_TMP);
      return;
    }
    case 0xf8: // FPREM
    case 0xf5: { // FPREM1
      if (propagateNaN(s, host, p0, p1, p0)) return;
      const y = s.st[p1]!;
      if (!Number.isFinite(x) || y === 0) {
        if (!raise(s, host, SW_IE)) setIndefinite(s, p0);
        return;
      }
      if (!Number.isFinite(y) || x === 0) {
        setCC(s, 0);
        return;
      }
      const d = exponentOf(s, x) - exponentOf(s, y);
      if (d >= 64) {
        const n = 32 + (d % 32);
        const div = scale2(Math.abs(y), d - n);
        writeReg(s, p0, x % div);
        setCC(s, SW_C2);
        return;
      }
      let r = x % y; // exact
      let q = quotientLow3(s, x, y, r);
      if (modrm === 0xf5) {
        const ay = Math.abs(y);
        const ar = Math.abs(r);
        if (ar > ay / 2 || (ar === ay / 2 && q % 2 === 1)) {
          r = r > 0 || Object.is(r, 0) ? r - ay : r + ay;
          q += 1;
        }
      }
      if (r === 0) r = x < 0 ? -0 : 0;
      const qb = q % 8;
      setCC(s, (qb & 4 ? SW_C0 : 0) | (qb & 2 ? SW_C3 : 0) | (qb & 1 ? SW_C1 : 0));
      writeReg(s, p0, r);
      return;
    }
    case 0xf0: { // F2XM1
      if (propagateNaN(s, host, p0, -1, p0)) return;
      const r = x === -Infinity ? -1 : x === Infinity ? Infinity : Math.expm1(x * Math.LN2);
      if (r !== x) raise(s, host, SW_PE);
      writeReg(s, p0, r);
      return;
    }
    case 0xf1: // FYL2X
    case 0xf9: { // FYL2XP1
      if (propagateNaN(s, host, p0, p1, p1)) {
        pop(s);
        return;
      }
      const y = s.st[p1]!;
      if (modrm === 0xf1 && x === 0 && y !== 0 && Number.isFinite(y)) {
        if (raise(s, host, SW_ZE)) return;
        writeReg(s, p1, y > 0 ? -Infinity : Infinity);
        pop(s);
        return;
      }
      const l = modrm === 0xf1 ? Math.log2(x) : Math.log1p(x) / Math.LN2;
      const r = y * l;
      if (r !== r) {
        if (raise(s, host, SW_IE)) return;
        setIndefinite(s, p1);
      } else {
        raise(s, host, SW_PE);
        writeReg(s, p1, r);
      }
      pop(s);
      return;
    }
    case 0xf3: { // FPATAN
      if (propagateNaN(s, host, p1, p0, p1)) {
        pop(s);
        return;
      }
      const r = Math.atan2(s.st[p1]!, x);
      raise(s, host, SW_PE);
      writeReg(s, p1, r);
      pop(s);
      return;
    }
    case 0xf2: // FPTAN
    case 0xfb: // FSINCOS
    case 0xfe: // FSIN
    case 0xff: { // FCOS
      const pushes = modrm === 0xf2 || modrm === 0xfb;
      if (pushes && !s.empty[(s.top - 1) & 7]) {
        if (stackOverflow(s, host)) {
          setIndefinite(s, p0);
          s.top = (s.top - 1) & 7;
          setIndefinite(s, s.top);
        }
        return;
      }
      if (propagateNaN(s, host, p0, -1, p0)) {
        if (pushes) {
          copySlot(s, p0, SLOT_TMP);
          pushSlot(s, host, SLOT_TMP);
        }
        return;
      }
      if (!Number.isFinite(x)) {
        if (raise(s, host, SW_IE)) return;
        setIndefinite(s, p0);
        if (pushes) {
          setIndefinite(s, SLOT_TMP);
          pushSlot(s, host, SLOT_TMP);
        }
        return;
      }
      if (Math.abs(x) >= TWO63) {
        s.sw |= SW_C2;
        return;
      }
      s.sw &= ~SW_C2;
      if (x !== 0) raise(s, host, SW_PE);
      if (modrm === 0xf2) {
        writeReg(s, p0, Math.tan(x));
        setSlot(s, SLOT_TMP, 1);
      } else if (modrm === 0xfb) {
        const c = Math.cos(x);
        writeReg(s, p0, Math.sin(x));
        setSlot(s, SLOT_TMP, c);
      } else writeReg(s, p0, modrm === 0xfe ? Math.sin(x) : Math.cos(x));
      if (pushes) pushSlot(s, host, SLOT_TMP);
      return;
    }
    default:
      // D9 D1-DF (besides FSTP1 handled by the caller), E2, E3, E6, E7, EF: invalid encodings
      host.fault(6);
  }
}

// ---------------------------------------------------------------------------------------
// Entry points

/** True for the escape instructions that do not check for pending exceptions (FN* forms). */
function isNonWaiting(opcode: number, modrm: number, mem: boolean): boolean {
  const reg = (modrm >>> 3) & 7;
  if (mem) return (opcode === 0xd9 && reg >= 6) || (opcode === 0xdd && reg >= 6);
  return (opcode === 0xdb && (modrm === 0xe2 || modrm === 0xe3 || modrm === 0xe0 || modrm === 0xe1 || modrm === 0xe4))
    || (opcode === 0xdf && modrm === 0xe0);
}

/** True for the control instructions that leave FIP/FOP/FDP unchanged (SDM §8.1.8). */
function isControl(opcode: number, modrm: number, mem: boolean): boolean {
  const reg = (modrm >>> 3) & 7;
  if (mem) return (opcode === 0xd9 && reg >= 4) || (opcode === 0xdd && reg >= 4 && reg !== 5);
  return (opcode === 0xdb && modrm >= 0xe0 && modrm <= 0xe4) || (opcode === 0xdf && modrm === 0xe0);
}

/**
 * Executes one x87 escape instruction. `opcode` is D8-DF; `op` carries ModRM and the linear
 * address of a memory operand. Raises #NM (CR0.EM/TS), #MF (pending unmasked exception with
 * CR0.NE=1) and #UD for invalid encodings through `host.fault`.
 */
export function x87Execute(s: X87State, host: CoprocessorHostExt, opcode: number, op: ModRmOperand): void {
  const cr0 = host.cr0;
  if (cr0 & (CR0_EM | CR0_TS)) host.fault(VEC_NM);
  const modrm = op.modrm;
  const mem = modrm < 0xc0; // mod != 3 (the linear address may be any 32-bit value)
  if (!isNonWaiting(opcode, modrm, mem)) checkPending(s, host);
  if (!isControl(opcode, modrm, mem)) {
    s.fip = host.instructionPointer >>> 0;
    s.fcs = host.codeSelector & 0xffff;
    s.fop = ((opcode & 7) << 8) | modrm;
    if (mem) {
      s.fdp = op.linear >>> 0;
      s.fds = host.dataSelector & 0xffff;
    }
  }
  const reg = (modrm >>> 3) & 7;
  if (mem) execMem(s, host, opcode, reg, op.linear);
  else execReg(s, host, opcode, reg, modrm);
}

/** WAIT/FWAIT (opcode 9B): #NM when CR0.TS and CR0.MP, then pending-exception check. */
export function x87Wait(s: X87State, host: CoprocessorHostExt): void {
  const cr0 = host.cr0;
  if ((cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) host.fault(VEC_NM);
  checkPending(s, host);
}

function execMem(s: X87State, host: CoprocessorHostExt, opcode: number, reg: number, addr: number): void {
  const p0 = s.top;
  switch (opcode) {
    case 0xd8:
    case 0xda:
    case 0xdc:
    case 0xde: {
      // arithmetic / compare with m32real, m32int, m64real, m16int
      const fmt = opcode === 0xd8 ? 0 : opcode === 0xda ? 1 : opcode === 0xdc ? 2 : 3;
      if (!readMem(s, host, fmt, addr, SLOT_MEM)) return;
      if (s.empty[p0]) {
        if (!stackUnderflow(s, host)) return;
        if (reg === 2 || reg === 3) {
          setCC(s, CC_BY_RESULT[3]!);
          if (reg === 3) pop(s);
        } else {
          setIndefinite(s, p0);
          s.empty[p0] = 0;
        }
        return;
      }
      if (reg === 2 || reg === 3) {
        const r = compare(s, host, p0, SLOT_MEM, false);
        if (r < 0) return;
        setCC(s, CC_BY_RESULT[r]!);
        if (reg === 3) pop(s);
        return;
      }
      arith(s, host, reg, p0, SLOT_MEM, p0);
      return;
    }
    case 0xd9:
      switch (reg) {
        case 0: // FLD m32
          if (loadF32(s, host, host.readU32(addr), SLOT_MEM)) pushSlot(s, host, SLOT_MEM);
          return;
        case 2:
        case 3: // FST/FSTP m32
          if (s.empty[p0]) {
            if (!stackUnderflow(s, host)) return;
            host.writeU32(addr, 0xffc00000);
          } else if (!storeF32(s, host, p0, addr)) return;
          if (reg === 3) pop(s);
          return;
        case 4: // FLDENV
          loadEnv(s, host, addr, false);
          return;
        case 5: // FLDCW
          s.cw = (host.readU16(addr) & 0x1f7f) | 0x40;
          refreshSummary(s);
          return;
        case 6: // FNSTENV
          storeEnv(s, host, addr);
          s.cw |= 0x3f;
          return;
        case 7: // FNSTCW
          host.writeU16(addr, s.cw);
          return;
        default:
          host.fault(6);
      }
      return;
    case 0xdb:
      switch (reg) {
        case 0: // FILD m32
          setSlot(s, SLOT_MEM, host.readU32(addr) | 0);
          pushSlot(s, host, SLOT_MEM);
          return;
        case 1: // FISTTP m32
        case 2: // FIST m32
        case 3: // FISTP m32
          if (storeInt(s, host, p0, 32, reg === 1 ? RC_CHOP : (s.cw >>> 10) & 3, addr) && reg !== 2) pop(s);
          return;
        case 5: { // FLD m80
          const lo = host.readU32(addr);
          const hi = host.readU32(addr + 4);
          const se = host.readU16(addr + 8);
          setSlotRaw(s, SLOT_MEM, se, hi, lo);
          pushSlot(s, host, SLOT_MEM);
          return;
        }
        case 7: // FSTP m80
          if (s.empty[p0]) {
            if (!stackUnderflow(s, host)) return;
            host.writeU32(addr, 0);
            host.writeU32(addr + 4, 0xc0000000);
            host.writeU16(addr + 8, 0xffff);
          } else storeF80(s, host, p0, addr);
          pop(s);
          return;
        default:
          host.fault(6);
      }
      return;
    case 0xdd:
      switch (reg) {
        case 0: { // FLD m64
          const lo = host.readU32(addr);
          const hi = host.readU32(addr + 4);
          if (loadF64(s, host, lo, hi, SLOT_MEM)) pushSlot(s, host, SLOT_MEM);
          return;
        }
        case 1: // FISTTP m64
          if (storeInt(s, host, p0, 64, RC_CHOP, addr)) pop(s);
          return;
        case 2:
        case 3: // FST/FSTP m64
          if (s.empty[p0]) {
            if (!stackUnderflow(s, host)) return;
            host.writeU32(addr, 0);
            host.writeU32(addr + 4, 0xfff80000);
          } else if (!storeF64(s, host, p0, addr)) return;
          if (reg === 3) pop(s);
          return;
        case 4: // FRSTOR
          loadEnv(s, host, addr, true);
          return;
        case 6: { // FNSAVE
          const size = storeEnv(s, host, addr);
          for (let i = 0; i < 8; i++) storeF80(s, host, phys(s, i), addr + size + i * 10);
          x87Init(s);
          return;
        }
        case 7: // FNSTSW m16
          host.writeU16(addr, x87StatusWord(s));
          return;
        default:
          host.fault(6);
      }
      return;
    default: // 0xdf
      switch (reg) {
        case 0: // FILD m16
          setSlot(s, SLOT_MEM, (host.readU16(addr) << 16) >> 16);
          pushSlot(s, host, SLOT_MEM);
          return;
        case 1: // FISTTP m16
        case 2: // FIST m16
        case 3: // FISTP m16
          if (storeInt(s, host, p0, 16, reg === 1 ? RC_CHOP : (s.cw >>> 10) & 3, addr) && reg !== 2) pop(s);
          return;
        case 4: // FBLD
          loadBcd(s, host, addr, SLOT_MEM);
          pushSlot(s, host, SLOT_MEM);
          return;
        case 5: { // FILD m64
          const lo = host.readU32(addr);
          const hi = host.readU32(addr + 4);
          loadI64(s, hi, lo, SLOT_MEM);
          pushSlot(s, host, SLOT_MEM);
          return;
        }
        case 6: // FBSTP
          if (storeBcd(s, host, p0, addr)) pop(s);
          return;
        default: // 7: FISTP m64
          if (storeInt(s, host, p0, 64, (s.cw >>> 10) & 3, addr)) pop(s);
          return;
      }
  }
}

function fcmovCondition(host: CoprocessorHostExt, cond: number): boolean {
  const f = host.getEflags();
  switch (cond) {
    case 0: return (f & EFLAGS_CF) !== 0;
    case 1: return (f & EFLAGS_ZF) !== 0;
    case 2: return (f & (EFLAGS_CF | EFLAGS_ZF)) !== 0;
    default: return (f & EFLAGS_PF) !== 0;
  }
}

function fxch(s: X87State, host: CoprocessorHostExt, pi: number): void {
  const p0 = s.top;
  if (s.empty[p0] || s.empty[pi]) {
    if (!stackUnderflow(s, host)) return;
    if (s.empty[p0]) {
      setIndefinite(s, p0);
      s.empty[p0] = 0;
    }
    if (s.empty[pi]) {
      setIndefinite(s, pi);
      s.empty[pi] = 0;
    }
  }
  copySlot(s, p0, SLOT_TMP);
  copySlot(s, pi, p0);
  copySlot(s, SLOT_TMP, pi);
  s.sw &= ~SW_C1;
}

function fstReg(s: X87State, host: CoprocessorHostExt, pi: number, popAfter: boolean): void {
  const p0 = s.top;
  if (s.empty[p0]) {
    if (!stackUnderflow(s, host)) return;
    setIndefinite(s, pi);
  } else copySlot(s, p0, pi);
  s.empty[pi] = 0;
  if (popAfter) pop(s);
}

/** Compare ST(0) with ST(i) (FCOM*, FUCOM*, FCOMI*, FUCOMI*), then pop `pops` times. */
function compareReg(s: X87State, host: CoprocessorHostExt, pi: number, quiet: boolean, eflags: boolean, pops: number): void {
  const p0 = s.top;
  if (s.empty[p0] || s.empty[pi]) {
    if (!stackUnderflow(s, host)) return;
    if (eflags) setEflagsFromCompare(host, 3);
    else setCC(s, CC_BY_RESULT[3]!);
  } else {
    const r = compare(s, host, p0, pi, quiet);
    if (r < 0) return;
    if (eflags) {
      setEflagsFromCompare(host, r);
      s.sw &= ~SW_C1;
    } else setCC(s, CC_BY_RESULT[r]!);
  }
  for (let i = 0; i < pops; i++) pop(s);
}

function execReg(s: X87State, host: CoprocessorHostExt, opcode: number, reg: number, modrm: number): void {
  const p0 = s.top;
  const pi = phys(s, modrm & 7);
  switch (opcode) {
    case 0xd8:
    case 0xdc:
    case 0xde: {
      if (reg === 2 || reg === 3) {
        if (opcode === 0xde && reg === 3) {
          if (modrm !== 0xd9) host.fault(6);
          compareReg(s, host, phys(s, 1), false, false, 2); // FCOMPP
          return;
        }
        // FCOM/FCOMP; aliases DC D0 (FCOM2), DC D8 (FCOMP3), DE D0 (FCOMP5, pops)
        compareReg(s, host, pi, false, false, reg === 3 || opcode === 0xde ? 1 : 0);
        return;
      }
      const dst = opcode === 0xd8 ? p0 : pi;
      if (s.empty[p0] || s.empty[pi]) {
        if (!stackUnderflow(s, host)) return;
        setIndefinite(s, dst);
        s.empty[dst] = 0;
      } else arith(s, host, reg, p0, pi, dst);
      if (opcode === 0xde) pop(s);
      return;
    }
    case 0xd9:
      if (reg === 0) {
        // FLD ST(i)
        if (s.empty[pi]) {
          if (!stackUnderflow(s, host)) return;
          setIndefinite(s, SLOT_TMP);
        } else copySlot(s, pi, SLOT_TMP);
        pushSlot(s, host, SLOT_TMP);
        return;
      }
      if (reg === 1) return fxch(s, host, pi);
      if (reg === 3) return fstReg(s, host, pi, true); // FSTP1 alias
      if (reg === 2 && modrm !== 0xd0) host.fault(6);
      d9Misc(s, host, modrm);
      return;
    case 0xda:
    case 0xdb:
      if (reg <= 3) {
        // FCMOVcc
        let cond = fcmovCondition(host, reg);
        if (opcode === 0xdb) cond = !cond;
        if (s.empty[p0] || s.empty[pi]) {
          if (!stackUnderflow(s, host)) return;
          if (s.empty[p0]) setIndefinite(s, p0);
          s.empty[p0] = 0;
          if (s.empty[pi]) return;
        }
        s.sw &= ~SW_C1;
        if (cond) copySlot(s, pi, p0);
        return;
      }
      if (opcode === 0xda) {
        if (modrm !== 0xe9) host.fault(6);
        compareReg(s, host, phys(s, 1), true, false, 2); // FUCOMPP
        return;
      }
      if (reg === 4) {
        if (modrm === 0xe2) s.sw &= ~(0x00ff | SW_ES | SW_B); // FNCLEX
        else if (modrm === 0xe3) x87Init(s); // FNINIT
        else if (modrm === 0xe0 || modrm === 0xe1 || modrm === 0xe4) return; // FENI/FDISI/FSETPM: no-ops
        else host.fault(6);
        return;
      }
      if (reg === 5) return compareReg(s, host, pi, true, true, 0); // FUCOMI
      if (reg === 6) return compareReg(s, host, pi, false, true, 0); // FCOMI
      host.fault(6);
      return;
    case 0xdd:
      switch (reg) {
        case 0: // FFREE
          s.empty[pi] = 1;
          return;
        case 1: // FXCH4 alias
          return fxch(s, host, pi);
        case 2: // FST ST(i)
        case 3: // FSTP ST(i)
          return fstReg(s, host, pi, reg === 3);
        case 4: // FUCOM
        case 5: // FUCOMP
          return compareReg(s, host, pi, true, false, reg - 4);
        default:
          host.fault(6);
      }
      return;
    default: // 0xdf
      switch (reg) {
        case 0: // FFREEP
          s.empty[pi] = 1;
          pop(s);
          return;
        case 1: // FXCH7 alias
          return fxch(s, host, pi);
        case 2:
        case 3: // FSTP8/FSTP9 aliases
          return fstReg(s, host, pi, true);
        case 4:
          if (modrm !== 0xe0) host.fault(6);
          host.setReg32(0, ((host.getReg32(0) & 0xffff0000) | x87StatusWord(s)) >>> 0); // FNSTSW AX
          return;
        case 5: // FUCOMIP
          return compareReg(s, host, pi, true, true, 1);
        case 6: // FCOMIP
          return compareReg(s, host, pi, false, true, 1);
        default:
          host.fault(6);
      }
  }
}
