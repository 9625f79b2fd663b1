/**
 * SSE/SSE2 floating-point lane operations: arithmetic, MIN/MAX, SQRT, RCP/RSQRT, compares,
 * and the float<->int / float<->double conversions, all honouring MXCSR (rounding control,
 * DAZ, FZ) and accumulating exception flags in `state.pending`.
 *
 * Intel SDM Vol. 1 §10.2.3 (MXCSR), §11.5 (SSE/SSE2 exceptions; NaN rules Table 11-1 / 4-7),
 * §4.8.3.7 (QNaN floating-point indefinite), §4.8.4 (integer indefinite); Vol. 2 pages of
 * ADDPS ... CVTTSD2SI, CMPPS, MINPS/MAXPS.
 * Leaves out: the 12-bit hardware approximations of RCPPS/RSQRTPS (results are correctly
 * rounded, as QEMU does); unmasked-underflow detection without inexactness.
 */
import {
  directedRound, divResidual, MIN_NORMAL_F32, MIN_NORMAL_F64, overflowResult, productError, RC_CHOP, sqrtResidual,
  sumError,
} from '../fpu/fp-math.js';
import type { SimdState } from './simd-state.js';

/** MXCSR bits. */
export const MX_IE = 1 << 0;
/** Denormal operand. */
export const MX_DE = 1 << 1;
/** Divide by zero. */
export const MX_ZE = 1 << 2;
/** Overflow. */
export const MX_OE = 1 << 3;
/** Underflow. */
export const MX_UE = 1 << 4;
/** Precision. */
export const MX_PE = 1 << 5;
/** Denormals are zeros. */
export const MX_DAZ = 1 << 6;
/** Flush to zero. */
export const MX_FZ = 1 << 15;

/** Arithmetic operation codes for `arith32` / `arith64`. */
export const OP_ADD = 0;
/** Subtract. */
export const OP_SUB = 1;
/** Multiply. */
export const OP_MUL = 2;
/** Divide. */
export const OP_DIV = 3;
/** Minimum. */
export const OP_MIN = 4;
/** Maximum. */
export const OP_MAX = 5;
/** Square root of the source. */
export const OP_SQRT = 6;

function isNaN32(b: number): boolean {
  return (b & 0x7fffffff) > 0x7f800000;
}
function isNaN64(hi: number, lo: number): boolean {
  const h = hi & 0x7fffffff;
  return h > 0x7ff00000 || (h === 0x7ff00000 && lo !== 0);
}

function needResidual(s: SimdState): boolean {
  const m = s.mxcsr;
  return (m & 0x6000) !== 0 || (m & MX_PE) === 0 || (m & (MX_PE << 7)) === 0;
}

/** Reads binary32 lane i with DAZ / DE handling. */
function in32(s: SimdState, i: number): number {
  const b = s.u32[i];
  if ((b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0) {
    if (s.mxcsr & MX_DAZ) return b & 0x80000000 ? -0 : 0;
    s.pending |= MX_DE;
  }
  return s.f32[i];
}

/** Reads binary64 lane i (f64 index) with DAZ / DE handling. */
function in64(s: SimdState, i: number): number {
  const hi = s.u32[2 * i + 1];
  if ((hi & 0x7ff00000) === 0 && ((hi & 0xfffff) !== 0 || s.u32[2 * i] !== 0)) {
    if (s.mxcsr & MX_DAZ) return hi & 0x80000000 ? -0 : 0;
    s.pending |= MX_DE;
  }
  return s.f64[i];
}

/**
 * Rounds r (binary64, residual sign `res`) to binary32 under MXCSR and stores it at f32 lane
 * `o`. `fromFinite` says whether an infinite r means overflow.
 */
export function out32(s: SimdState, r: number, res: number, o: number, fromFinite: boolean): void {
  const rc = (s.mxcsr >>> 13) & 3;
  let f = Math.fround(r);
  if (!Number.isFinite(f)) {
    if (fromFinite && f === f) {
      s.pending |= MX_OE | MX_PE;
      f = overflowResult(r < 0, rc, true);
    }
  } else {
    const d = r - f;
    const rr = d !== 0 ? d : res;
    if (rr !== 0) {
      f = directedRound(s.scratch, f, rr, rc, true);
      s.pending |= MX_PE;
      if (!Number.isFinite(f)) s.pending |= MX_OE; // rounded up past the largest finite value
    }
    if (f !== 0 && Math.abs(f) < MIN_NORMAL_F32) f = tiny(s, f, rr !== 0);
    else if (f === 0 && rr !== 0) s.pending |= MX_UE; // underflowed all the way to zero
  }
  s.f32[o] = f;
}

/**
 * A tiny (denormal) result, detected after rounding: masked UE flags underflow only when
 * inexact, unmasked UE always; FZ (with UE masked) flushes to a signed zero with UE and PE.
 */
function tiny(s: SimdState, f: number, inexact: boolean): number {
  if ((s.mxcsr & (MX_UE << 7)) === 0) {
    s.pending |= MX_UE;
    return f;
  }
  if (s.mxcsr & MX_FZ) {
    s.pending |= MX_UE | MX_PE;
    return f < 0 ? -0 : 0;
  }
  if (inexact) s.pending |= MX_UE;
  return f;
}

/** Stores binary64 r (already nearest-rounded, residual sign `res`) at f64 lane `o`. */
export function out64(s: SimdState, r: number, res: number, o: number, fromFinite: boolean): void {
  if (!Number.isFinite(r)) {
    if (fromFinite && r === r) {
      s.pending |= MX_OE | MX_PE;
      r = overflowResult(r < 0, (s.mxcsr >>> 13) & 3, false);
    }
  } else {
    if (res !== 0) {
      r = directedRound(s.scratch, r, res, (s.mxcsr >>> 13) & 3, false);
      s.pending |= MX_PE;
      if (!Number.isFinite(r)) s.pending |= MX_OE; // rounded up past the largest finite value
    }
    if (r !== 0 && Math.abs(r) < MIN_NORMAL_F64) r = tiny(s, r, res !== 0);
    else if (r === 0 && res !== 0) s.pending |= MX_UE;
  }
  s.f64[o] = r;
}

/** Binary32 lane operation: f32 lanes a (first / destination operand) and b, result at o. */
export function arith32(s: SimdState, op: number, a: number, b: number, o: number): void {
  const ab = s.u32[a];
  const bb = s.u32[b];
  const an = op !== OP_SQRT && isNaN32(ab);
  const bn = isNaN32(bb);
  if (an || bn) {
    if (op === OP_MIN || op === OP_MAX) {
      s.pending |= MX_IE;
      s.u32[o] = bb;
      return;
    }
    if ((an && (ab & 0x400000) === 0) || (bn && (bb & 0x400000) === 0)) s.pending |= MX_IE;
    s.u32[o] = (an ? ab : bb) | 0x400000;
    return;
  }
  const x = op === OP_SQRT ? 0 : in32(s, a);
  const y = in32(s, b);
  const want = needResidual(s);
  let r: number;
  let res = 0;
  switch (op) {
    case OP_ADD:
    case OP_SUB: {
      const yy = op === OP_SUB ? -y : y;
      r = x + yy;
      if (r === 0) {
        if (((s.mxcsr >>> 13) & 3) === 1 && !(x === 0 && Object.is(x, yy))) r = -0;
      } else if (want && Number.isFinite(r)) res = sumError(x, yy, r);
      break;
    }
    case OP_MUL:
      r = x * y;
      break;
    case OP_DIV:
      if (y === 0 && x !== 0 && Number.isFinite(x)) s.pending |= MX_ZE;
      r = x / y;
      if (want && Number.isFinite(r) && r !== 0) {
        // exact sign of x/y - f via f*y (exact in binary64)
        const f = Math.fround(r);
        const e = x - f * y;
        res = e === 0 ? 0 : (e < 0) !== (y < 0) ? -1 : 1;
        r = f;
      }
      break;
    case OP_SQRT:
      if (y < 0) {
        s.pending |= MX_IE;
        s.u32[o] = 0xffc00000;
        return;
      }
      r = Math.sqrt(y);
      if (want && Number.isFinite(r) && r !== 0) {
        const f = Math.fround(r);
        const e = y - f * f;
        res = e === 0 ? 0 : e;
        r = f;
      }
      break;
    case OP_MIN:
      s.u32[o] = x < y ? ab : bb;
      return;
    default:
      s.u32[o] = x > y ? ab : bb;
      return;
  }
  if (r !== r) {
    s.pending |= MX_IE;
    s.u32[o] = 0xffc00000;
    return;
  }
  out32(s, r, res, o, Number.isFinite(x) && Number.isFinite(y) && !(op === OP_DIV && y === 0));
}

/** Binary64 lane operation on f64 lanes a, b; result at o. */
export function arith64(s: SimdState, op: number, a: number, b: number, o: number): void {
  const ahi = s.u32[2 * a + 1];
  const alo = s.u32[2 * a];
  const bhi = s.u32[2 * b + 1];
  const blo = s.u32[2 * b];
  const an = op !== OP_SQRT && isNaN64(ahi, alo);
  const bn = isNaN64(bhi, blo);
  if (an || bn) {
    if (op === OP_MIN || op === OP_MAX) {
      s.pending |= MX_IE;
      s.u32[2 * o] = blo;
      s.u32[2 * o + 1] = bhi;
      return;
    }
    if ((an && (ahi & 0x80000) === 0) || (bn && (bhi & 0x80000) === 0)) s.pending |= MX_IE;
    s.u32[2 * o] = an ? alo : blo;
    s.u32[2 * o + 1] = (an ? ahi : bhi) | 0x80000;
    return;
  }
  const x = op === OP_SQRT ? 0 : in64(s, a);
  const y = in64(s, b);
  const want = needResidual(s);
  let r: number;
  let res = 0;
  switch (op) {
    case OP_ADD:
    case OP_SUB: {
      const yy = op === OP_SUB ? -y : y;
      r = x + yy;
      if (r === 0) {
        if (((s.mxcsr >>> 13) & 3) === 1 && !(x === 0 && Object.is(x, yy))) r = -0;
      } else if (want && Number.isFinite(r)) res = sumError(x, yy, r);
      break;
    }
    case OP_MUL:
      r = x * y;
      // tiny products always need the residual: it decides UE (and FZ needs none of it)
      if ((want || Math.abs(r) < MIN_NORMAL_F64) && Number.isFinite(r)) res = productError(x, y, r);
      break;
    case OP_DIV:
      if (y === 0 && x !== 0 && Number.isFinite(x)) s.pending |= MX_ZE;
      r = x / y;
      if (r === 0 && x !== 0 && Number.isFinite(y)) res = (x < 0) !== (y < 0) ? -1 : 1; // underflowed to zero
      else if (want && Number.isFinite(r) && r !== 0) res = divResidual(x, y, r);
      break;
    case OP_SQRT:
      if (y < 0) {
        s.pending |= MX_IE;
        s.u32[2 * o] = 0;
        s.u32[2 * o + 1] = 0xfff80000;
        return;
      }
      r = Math.sqrt(y);
      if (want && Number.isFinite(r)) res = sqrtResidual(y, r);
      break;
    case OP_MIN:
    case OP_MAX: {
      const pickA = op === OP_MIN ? x < y : x > y;
      s.u32[2 * o] = pickA ? alo : blo;
      s.u32[2 * o + 1] = pickA ? ahi : bhi;
      return;
    }
    default:
      r = 0;
  }
  if (r !== r) {
    s.pending |= MX_IE;
    s.u32[2 * o] = 0;
    s.u32[2 * o + 1] = 0xfff80000;
    return;
  }
  out64(s, r, res, o, Number.isFinite(x) && Number.isFinite(y) && !(op === OP_DIV && y === 0));
}

/** RCPPS/RSQRTPS lane (correctly rounded; no exceptions are reported, as on hardware). */
export function approx32(s: SimdState, rsqrt: boolean, b: number, o: number): void {
  const bb = s.u32[b];
  if (isNaN32(bb)) {
    s.u32[o] = bb | 0x400000;
    return;
  }
  let y = s.f32[b];
  if ((bb & 0x7f800000) === 0) y = bb & 0x80000000 ? -0 : 0; // denormal inputs are treated as zero
  if (rsqrt) {
    if (y < 0) {
      s.u32[o] = 0xffc00000;
      return;
    }
    s.f32[o] = Math.fround(1 / Math.sqrt(y));
  } else s.f32[o] = Math.fround(1 / y);
}

/**
 * CMPPS/CMPSS predicate (imm8 & 7) on binary32 lanes; writes an all-ones / all-zeros mask.
 * LT, LE, NLT, NLE signal invalid on any NaN; the others only on SNaN.
 */
export function cmp32(s: SimdState, pred: number, a: number, b: number, o: number): void {
  const ab = s.u32[a];
  const bb = s.u32[b];
  const an = isNaN32(ab);
  const bn = isNaN32(bb);
  let r: boolean;
  if (an || bn) {
    const signaling = (an && (ab & 0x400000) === 0) || (bn && (bb & 0x400000) === 0);
    if (signaling || pred === 1 || pred === 2 || pred === 5 || pred === 6) s.pending |= MX_IE;
    r = pred === 3 || pred === 4 || pred === 5 || pred === 6;
  } else {
    const x = in32(s, a);
    const y = in32(s, b);
    r = cmpOrdered(pred, x, y);
  }
  s.u32[o] = r ? 0xffffffff : 0;
}

/** CMPPD/CMPSD predicate on binary64 lanes. */
export function cmp64(s: SimdState, pred: number, a: number, b: number, o: number): void {
  const ahi = s.u32[2 * a + 1];
  const bhi = s.u32[2 * b + 1];
  const an = isNaN64(ahi, s.u32[2 * a]);
  const bn = isNaN64(bhi, s.u32[2 * b]);
  let r: boolean;
  if (an || bn) {
    const signaling = (an && (ahi & 0x80000) === 0) || (bn && (bhi & 0x80000) === 0);
    if (signaling || pred === 1 || pred === 2 || pred === 5 || pred === 6) s.pending |= MX_IE;
    r = pred === 3 || pred === 4 || pred === 5 || pred === 6;
  } else r = cmpOrdered(pred, in64(s, a), in64(s, b));
  const m = r ? 0xffffffff : 0;
  s.u32[2 * o] = m;
  s.u32[2 * o + 1] = m;
}

function cmpOrdered(pred: number, x: number, y: number): boolean {
  switch (pred) {
    case 0: return x === y;
    case 1: return x < y;
    case 2: return x <= y;
    case 3: return false;
    case 4: return x !== y;
    case 5: return !(x < y);
    case 6: return !(x <= y);
    default: return true;
  }
}

/**
 * (U)COMISS / (U)COMISD: returns 0 greater, 1 less, 2 equal, 3 unordered; `signalQuiet`
 * selects COMIS* (invalid on QNaN too).
 */
export function comi(s: SimdState, dbl: boolean, a: number, b: number, signalQuiet: boolean): number {
  let an: boolean, bn: boolean, aS: boolean, bS: boolean;
  if (dbl) {
    const ahi = s.u32[2 * a + 1];
    const bhi = s.u32[2 * b + 1];
    an = isNaN64(ahi, s.u32[2 * a]);
    bn = isNaN64(bhi, s.u32[2 * b]);
    aS = an && (ahi & 0x80000) === 0;
    bS = bn && (bhi & 0x80000) === 0;
  } else {
    const ab = s.u32[a];
    const bb = s.u32[b];
    an = isNaN32(ab);
    bn = isNaN32(bb);
    aS = an && (ab & 0x400000) === 0;
    bS = bn && (bb & 0x400000) === 0;
  }
  if (an || bn) {
    if (signalQuiet || aS || bS) s.pending |= MX_IE;
    return 3;
  }
  const x = dbl ? in64(s, a) : in32(s, a);
  const y = dbl ? in64(s, b) : in32(s, b);
  return x > y ? 0 : x < y ? 1 : 2;
}

/**
 * Converts x (a number, NaN allowed) to int32 under rounding control rc; invalid or
 * out-of-range inputs give the integer indefinite 80000000h with IE.
 */
export function toInt32(s: SimdState, x: number, rc: number): number {
  if (x !== x) {
    s.pending |= MX_IE;
    return 0x80000000 | 0;
  }
  let r: number;
  switch (rc) {
    case 1: r = Math.floor(x); break;
    case 2: r = Math.ceil(x); break;
    case RC_CHOP: r = Math.trunc(x); break;
    default: {
      r = Math.floor(x);
      const d = x - r;
      if (d > 0.5 || (d === 0.5 && r % 2 !== 0)) r += 1;
    }
  }
  if (!(r >= -2147483648 && r <= 2147483647)) {
    s.pending |= MX_IE;
    return 0x80000000 | 0;
  }
  if (r !== x) s.pending |= MX_PE;
  return r | 0;
}

/** Reads f32 lane i as a number for conversion (SNaN: IE; DAZ applied). */
export function cvtIn32(s: SimdState, i: number): number {
  const b = s.u32[i];
  if (isNaN32(b)) {
    if ((b & 0x400000) === 0) s.pending |= MX_IE;
    return NaN;
  }
  return in32(s, i);
}

/** Reads f64 lane i as a number for conversion. */
export function cvtIn64(s: SimdState, i: number): number {
  const hi = s.u32[2 * i + 1];
  if (isNaN64(hi, s.u32[2 * i])) {
    if ((hi & 0x80000) === 0) s.pending |= MX_IE;
    return NaN;
  }
  return in64(s, i);
}

/** CVTSS2SD / CVTPS2PD lane: f32 lane i to f64 lane o (NaN payload kept and quieted). */
export function f32ToF64Lane(s: SimdState, i: number, o: number): void {
  const b = s.u32[i];
  if (isNaN32(b)) {
    if ((b & 0x400000) === 0) s.pending |= MX_IE;
    s.u32[2 * o + 1] = (b & 0x80000000) | 0x7ff80000 | ((b & 0x3fffff) >>> 3);
    s.u32[2 * o] = (b << 29) >>> 0;
    return;
  }
  s.f64[o] = in32(s, i);
}

/** CVTSD2SS / CVTPD2PS lane: f64 lane i to f32 lane o under MXCSR. */
export function f64ToF32Lane(s: SimdState, i: number, o: number): void {
  const hi = s.u32[2 * i + 1];
  const lo = s.u32[2 * i];
  if (isNaN64(hi, lo)) {
    if ((hi & 0x80000) === 0) s.pending |= MX_IE;
    s.u32[o] = ((hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29)) >>> 0;
    return;
  }
  const x = in64(s, i);
  out32(s, x, 0, o, Number.isFinite(x));
}
