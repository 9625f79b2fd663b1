/**
 * Floating-point helpers shared by the x87 and SSE units: IEEE bit access through a scratch
 * buffer, directed rounding of binary64/binary32 results from a residual sign, error-free
 * transformations (TwoSum, Dekker product) that provide that sign, and exact conversion
 * between binary64 and the x87 80-bit extended format.
 *
 * Intel SDM Vol. 1 §4.2 (formats), §4.8 (real numbers, NaNs, indefinite), §4.9 (rounding),
 * §8.2 (extended format). Residuals of operands far from 1 are computed after exact
 * power-of-two rescaling. Leaves out: extended-precision arithmetic (the x87 computes in
 * binary64 here).
 */

/** Scratch views over one 16-byte buffer; one per unit state, never shared across machines. */
export interface FpScratch {
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly u32: Uint32Array;
}

/** Allocates a scratch area (at state creation, never per instruction). */
export function createScratch(): FpScratch {
  const buf = new ArrayBuffer(16);
  return { f64: new Float64Array(buf), f32: new Float32Array(buf), u32: new Uint32Array(buf) };
}

/** Rounding-control values (x87 CW.RC and MXCSR.RC use the same encoding). */
export const RC_NEAREST = 0;
/** Toward -infinity. */
export const RC_DOWN = 1;
/** Toward +infinity. */
export const RC_UP = 2;
/** Toward zero (truncate). */
export const RC_CHOP = 3;

/** Largest finite binary64 / binary32 values. */
export const MAX_F64 = Number.MAX_VALUE;
/** Largest finite binary32. */
export const MAX_F32 = 3.4028234663852886e38;
/** Smallest normal binary64. */
export const MIN_NORMAL_F64 = 2.2250738585072014e-308;
/** Smallest normal binary32. */
export const MIN_NORMAL_F32 = 1.1754943508222875e-38;

/** High 32 bits of a binary64. */
export function f64Hi(s: FpScratch, x: number): number {
  s.f64[0] = x;
  return s.u32[1]!;
}
/** Low 32 bits of a binary64 (call right after f64Hi with the same x, or alone). */
export function f64Lo(s: FpScratch, x: number): number {
  s.f64[0] = x;
  return s.u32[0]!;
}
/** Builds a binary64 from its two halves. */
export function f64FromBits(s: FpScratch, hi: number, lo: number): number {
  s.u32[0] = lo;
  s.u32[1] = hi;
  return s.f64[0]!;
}
/** The bits of a binary32 value (x must already be representable; NaNs become the default QNaN). */
export function f32Bits(s: FpScratch, x: number): number {
  s.f32[0] = x;
  return s.u32[0]!;
}
/** The binary32 with bit pattern `bits` as a number (SNaN payloads are not preserved; test bits first). */
export function f32FromBits(s: FpScratch, bits: number): number {
  s.u32[0] = bits;
  return s.f32[0]!;
}

/** Next binary64 above x (x finite). */
export function nextUp64(s: FpScratch, x: number): number {
  if (x === 0) return 5e-324;
  s.f64[0] = x;
  let lo = s.u32[0]!;
  let hi = s.u32[1]!;
  if (x > 0) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
  }
  s.u32[0] = lo;
  s.u32[1] = hi;
  return s.f64[0]!;
}
/** Next binary64 below x (x finite). */
export function nextDown64(s: FpScratch, x: number): number {
  return -nextUp64(s, -x);
}
/** Next binary32 above x (x a finite binary32). */
export function nextUp32(s: FpScratch, x: number): number {
  if (x === 0) return 1.401298464324817e-45;
  s.f32[0] = x;
  s.u32[0] = x > 0 ? s.u32[0]! + 1 : s.u32[0]! - 1;
  return s.f32[0]!;
}
/** Next binary32 below x. */
export function nextDown32(s: FpScratch, x: number): number {
  return -nextUp32(s, -x);
}

/**
 * Applies rounding control to `q`, the round-to-nearest result, given the sign of the
 * residual (exact - q): > 0, < 0 or 0 (exact). `single` selects binary32 spacing.
 */
export function directedRound(s: FpScratch, q: number, residual: number, rc: number, single: boolean): number {
  if (residual === 0 || rc === RC_NEAREST || q !== q) return q;
  if (rc === RC_DOWN) {
    if (residual < 0) return single ? nextDown32(s, q) : nextDown64(s, q);
  } else if (rc === RC_UP) {
    if (residual > 0) return single ? nextUp32(s, q) : nextUp64(s, q);
  } else if ((q > 0 && residual < 0) || (q < 0 && residual > 0)) {
    // toward zero: one step down in magnitude
    return single ? nextDown32(s, Math.abs(q)) * Math.sign(q) : nextDown64(s, Math.abs(q)) * Math.sign(q);
  }
  return q;
}

/** The value an overflowed result takes under rounding control rc (sign from `negative`). */
export function overflowResult(negative: boolean, rc: number, single: boolean): number {
  const max = single ? MAX_F32 : MAX_F64;
  if (rc === RC_NEAREST) return negative ? -Infinity : Infinity;
  if (rc === RC_CHOP) return negative ? -max : max;
  if (rc === RC_UP) return negative ? -max : Infinity;
  return negative ? -Infinity : max;
}

const SPLIT = 134217729; // 2^27 + 1
const SAFE_HI = 2 ** 500;
const SAFE_LO = 2 ** -500;

function dekker(a: number, b: number, p: number): number {
  let c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

function safe(x: number): boolean {
  const m = Math.abs(x);
  return m < SAFE_HI && m > SAFE_LO;
}

/** floor(log2(|x|)) for finite non-zero x (denormals included). */
function ilog2(x: number): number {
  const m = Math.abs(x);
  let e = Math.floor(Math.log2(m));
  if (2 ** e > m) e--;
  else if (e < 1023 && 2 ** (e + 1) <= m) e++;
  return e;
}

/** x * 2^k in steps that move monotonically towards the result (exact when it is normal). */
function scale(x: number, k: number): number {
  while (k > 1000) {
    x *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    x *= 2 ** -1000;
    k += 1000;
  }
  return x * 2 ** k;
}

/**
 * Residual of the rounded product p = a*b: a number with the sign of (a*b - p), 0 when p is
 * exact. Operands far from 1 are first scaled by powers of two into [1, 2) (and p with them),
 * so Dekker's split neither overflows nor loses the error below the denormal range; only the
 * sign of the result is meaningful.
 */
export function productError(a: number, b: number, p: number): number {
  if (a === 0 || b === 0) return 0;
  if (safe(a) && safe(b) && safe(p)) return dekker(a, b, p);
  if (p === 0) return (a < 0) !== (b < 0) ? -1 : 1; // underflowed to zero
  const ea = ilog2(a);
  const eb = ilog2(b);
  const a2 = scale(a, -ea);
  const b2 = scale(b, -eb);
  const p2 = scale(p, -ea - eb);
  const pn = a2 * b2;
  return (pn - p2) + dekker(a2, b2, pn);
}

/** Exact error of the sum a+b = s (Knuth TwoSum). */
export function sumError(a: number, b: number, sum: number): number {
  const bb = sum - a;
  return (a - (sum - bb)) + (b - bb);
}

/** Residual sign of q = a/b rounded (sign of a/b - q); rescales operands far from 1. */
export function divResidual(a: number, b: number, q: number): number {
  if (q === 0) return a === 0 ? 0 : (a < 0) !== (b < 0) ? -1 : 1;
  if (!(safe(a) && safe(b) && safe(q))) {
    const eb = ilog2(b);
    const eq = ilog2(q);
    b = scale(b, -eb);
    q = scale(q, -eq);
    a = scale(a, -eb - eq);
  }
  const p = q * b;
  const r = (a - p) - dekker(q, b, p);
  return b < 0 ? -r : r;
}

/** Residual sign of q = sqrt(a) rounded (sign of sqrt(a) - q); rescales by even powers of two. */
export function sqrtResidual(a: number, q: number): number {
  if (q === 0 || !Number.isFinite(q)) return 0;
  if (!safe(a)) {
    const e = ilog2(a) & ~1;
    a = scale(a, -e);
    q = scale(q, -e / 2);
  }
  const p = q * q;
  return (a - p) - dekker(q, q, p);
}

/**
 * Rounds x (integral or not) to an integer under rounding control rc, IEEE style
 * (ties to even for RC_NEAREST).
 */
export function roundToInt(x: number, rc: number): number {
  if (!(Math.abs(x) < 4503599627370496)) return x; // already integral, inf or NaN
  switch (rc) {
    case RC_DOWN:
      return Math.floor(x);
    case RC_UP:
      return Math.ceil(x);
    case RC_CHOP:
      return Math.trunc(x);
    default: {
      const f = Math.floor(x);
      const d = x - f;
      if (d > 0.5) return f + 1 === 0 ? -0 : f + 1;
      if (d < 0.5) return f === 0 && (x < 0 || Object.is(x, -0)) ? -0 : f;
      return f % 2 === 0 ? f : f + 1 === 0 ? -0 : f + 1;
    }
  }
}

/**
 * An 80-bit extended value as three integers, written by `f64ToF80`: `se` = sign (bit 15) and
 * biased exponent (bits 0-14); `hi`:`lo` the 64-bit significand with its explicit integer bit.
 */
export interface F80Parts {
  se: number;
  hi: number;
  lo: number;
}

/** Converts a binary64 exactly to extended (NaN payloads are kept, quiet bit included). */
export function f64ToF80(s: FpScratch, x: number, out: F80Parts): void {
  s.f64[0] = x;
  const lo = s.u32[0]!;
  const hi = s.u32[1]!;
  const sign = (hi >>> 16) & 0x8000;
  const e = (hi >>> 20) & 0x7ff;
  const fhi = hi & 0xfffff;
  if (e === 0x7ff) {
    out.se = sign | 0x7fff;
    out.hi = (0x80000000 | (fhi << 11) | (lo >>> 21)) >>> 0;
    out.lo = (lo << 11) >>> 0;
    return;
  }
  if (e === 0) {
    if (fhi === 0 && lo === 0) {
      out.se = sign;
      out.hi = 0;
      out.lo = 0;
      return;
    }
    // binary64 denormal: normalise (every one is a normal extended number).
    let mh = fhi;
    let ml = lo;
    let exp = 1 - 1023 + 16383;
    // shift until bit 52 (bit 20 of mh) is set
    while ((mh & 0x100000) === 0) {
      mh = ((mh << 1) | (ml >>> 31)) & 0x1fffff;
      ml = (ml << 1) >>> 0;
      exp--;
    }
    out.se = sign | exp;
    out.hi = ((mh << 11) | (ml >>> 21)) >>> 0;
    out.lo = (ml << 11) >>> 0;
    return;
  }
  out.se = sign | (e - 1023 + 16383);
  out.hi = (0x80000000 | (fhi << 11) | (lo >>> 21)) >>> 0;
  out.lo = (lo << 11) >>> 0;
}

const TWO32 = 4294967296;

/**
 * Converts an extended value to binary64, rounding the significand to nearest-even
 * (values beyond binary64's range become infinity or zero). NaNs keep the top 52 fraction
 * bits of their payload (written through the scratch so the bits survive); pseudo-NaN,
 * pseudo-infinity, unnormals and pseudo-denormals follow the 387+ rule: unnormal encodings
 * are invalid and read as NaN, pseudo-denormals read as denormals.
 */
export function f80ToF64(s: FpScratch, se: number, hi: number, lo: number): number {
  const neg = (se & 0x8000) !== 0;
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if ((hi & 0x80000000) === 0) return NaN; // pseudo-NaN / pseudo-infinity: invalid
    if ((hi & 0x7fffffff) === 0 && lo === 0) return neg ? -Infinity : Infinity;
    return f64FromBits(s, (neg ? 0x80000000 : 0) | 0x7ff00000 | ((hi >>> 11) & 0xfffff), ((hi << 21) | (lo >>> 11)) >>> 0);
  }
  if (e !== 0 && (hi & 0x80000000) === 0) return NaN; // unnormal
  if (hi === 0 && lo === 0) return neg ? -0 : 0;
  // significand as an integer times 2^(e - 16383 - 63); one rounding in the sum.
  const m = hi * TWO32 + lo;
  const k = (e === 0 ? 1 : e) - 16383 - 63;
  let v: number;
  if (k > 1023 - 64) v = k > 1100 ? Infinity : m * 2 ** (k - 200) * 2 ** 200;
  else if (k < -1000) v = k < -1200 ? 0 : m * 2 ** (k + 200) * 2 ** -200;
  else v = m * 2 ** k;
  return neg ? -v : v;
}

/** True when the binary64 x is a signalling NaN (quiet bit clear). */
export function isSignalingNaN64(s: FpScratch, x: number): boolean {
  if (x === x) return false;
  s.f64[0] = x;
  return (s.u32[1]! & 0x00080000) === 0;
}
