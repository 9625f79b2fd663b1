import { describe, expect, it } from 'vitest';
import {
  createScratch, directedRound, divResidual, f64ToF80, f80ToF64, productError, roundToInt, sqrtResidual, sumError,
} from './fp-math.js';
import { rng } from './test-support/diff-program.js';

/** x = m * 2^e exactly, as BigInt m and integer e. */
function exact(x: number): [bigint, number] {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e !== 0) m |= 1n << 52n;
  if (hi >>> 31) m = -m;
  return [m, (e === 0 ? 1 : e) - 1075];
}
/** Sign of (x1*y1 - x2*y2) computed exactly (y2 = 1 when omitted). */
function cmpProducts(x1: number, y1: number, x2: number, y2 = 1): number {
  const [a, ea] = exact(x1);
  const [b, eb] = exact(y1);
  const [c, ec] = exact(x2);
  const [d, ed] = exact(y2);
  let l = a * b;
  let r = c * d;
  const el = ea + eb;
  const er = ec + ed;
  if (el > er) l <<= BigInt(el - er);
  else r <<= BigInt(er - el);
  return l > r ? 1 : l < r ? -1 : 0;
}

describe('fp-math residuals are exact in sign, also near the exponent limits', () => {
  const R = rng(77);
  const values = (): number => {
    const e = Math.floor(R() * 2090) - 1070;
    return (R() < 0.5 ? -1 : 1) * (1 + R()) * 2 ** e;
  };
  it('productError, divResidual, sqrtResidual agree with BigInt arithmetic', () => {
    for (let i = 0; i < 3000; i++) {
      const a = values();
      const b = values();
      const p = a * b;
      if (Number.isFinite(p) && p !== 0) expect(Math.sign(productError(a, b, p))).toBe(cmpProducts(a, b, p));
      const q = a / b;
      if (Number.isFinite(q) && q !== 0) {
        // sign(a/b - q) = sign(a - q*b) * sign(b)
        expect(Math.sign(divResidual(a, b, q))).toBe(cmpProducts(a, 1, q, b) * Math.sign(b));
      }
      const s = Math.sqrt(Math.abs(a));
      expect(Math.sign(sqrtResidual(Math.abs(a), s))).toBe(cmpProducts(Math.abs(a), 1, s, s));
    }
  });

  it('sumError is the exact rounding error', () => {
    expect(sumError(1, 2 ** -60, 1)).toBe(2 ** -60);
    expect(sumError(1e300, -1e-300, 1e300)).toBe(-1e-300);
  });

  it('directedRound moves one ulp in the right direction', () => {
    const s = createScratch();
    expect(directedRound(s, 1, 1, 2, false)).toBe(1 + 2 ** -52);
    expect(directedRound(s, 1, -1, 1, false)).toBe(1 - 2 ** -53);
    expect(directedRound(s, -1, 1, 3, false)).toBe(-1 + 2 ** -53);
    expect(directedRound(s, 1, 1, 3, false)).toBe(1);
    expect(directedRound(s, 1, -1, 3, true)).toBe(1 - 2 ** -24);
    expect(directedRound(s, 0, -1, 1, false)).toBe(-5e-324);
  });

  it('roundToInt ties to even and honours RC', () => {
    expect([0.5, 1.5, 2.5, -0.5, -2.5].map((v) => roundToInt(v, 0))).toEqual([0, 2, 2, -0, -2]);
    expect([1.5, -1.5].map((v) => roundToInt(v, 1))).toEqual([1, -2]);
    expect([1.5, -1.5].map((v) => roundToInt(v, 2))).toEqual([2, -1]);
    expect([1.5, -1.5].map((v) => roundToInt(v, 3))).toEqual([1, -1]);
  });

  it('binary64 <-> extended conversions', () => {
    const s = createScratch();
    const out = { se: 0, hi: 0, lo: 0 };
    for (const v of [1, -2.5, Math.PI, 5e-324, 2.2250738585072014e-308, Number.MAX_VALUE, -0, Infinity]) {
      f64ToF80(s, v, out);
      expect(Object.is(f80ToF64(s, out.se, out.hi, out.lo), v)).toBe(true);
    }
    f64ToF80(s, 5e-324, out);
    expect(out).toEqual({ se: 0x3bcd, hi: 0x80000000, lo: 0 });
    expect(f80ToF64(s, 0x3fff, 0x80000000, 0x00000400)).toBe(1); // tie to even
    expect(f80ToF64(s, 0x3fff, 0x80000000, 0x00000c00)).toBe(1 + 2 ** -51);
    expect(f80ToF64(s, 0x7ffe, 0x80000000, 0)).toBe(Infinity);
    expect(f80ToF64(s, 0x0001, 0x80000000, 0)).toBe(0);
    expect(Number.isNaN(f80ToF64(s, 0x3fff, 0x40000000, 0))).toBe(true); // unnormal
  });
});
