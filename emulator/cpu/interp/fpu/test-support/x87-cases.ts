/**
 * Differential-test cases for the x87 unit against QEMU TCG (qemu-system-i386 -cpu max). Inputs are
 * generated with a fixed seed; QEMU's results are produced at test time and cached in
 * os.tmpdir()/vireo-cache/fpu-diff.
 *
 * Exclusions (QEMU computes in 80-bit extended precision, we in binary64):
 * - arithmetic runs with precision control = 53 bits (FLDCW 027Fh) so both round once to
 *   binary64; operands stay far from the binary64 exponent limits;
 * - transcendental results are compared with a relative tolerance, not bit-exactly;
 * - condition code C1 (round-up indicator) is not compared; FIP/FDP/FOP are not compared.
 * QEMU 7.2 deviations from the SDM that are excluded (our unit tests pin the SDM behaviour):
 * - no stack-fault detection (push onto a full stack / pop an empty one give no IE+SF);
 * - no denormal-operand (DE) flag on FLD m32/m64 of a denormal;
 * - FBLD goes through binary64 (18-digit values lose precision): only 15-digit values here;
 * - FPREM1 leaves the quotient bits C0/C3/C1 clear;
 * - precision control 24 bits rounds to 23 significant bits (checked by unit tests only).
 */
import { DiffProgram, rng } from './diff-program.js';

/** Builds the program (deterministic: fixed seed). */
export function buildX87Cases(): DiffProgram {
  // fresh generator per build: the same inputs every run
  const R = rng(0x5eed87);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(R() * xs.length)]!;
  const SPECIAL = [0, -0, 1, -1, Infinity, -Infinity, NaN, 0.5, 3, -2.5, 1e-150, 1e150, 2 ** 52 + 0.5, 1.5, 7, 1 / 3];
  function rand64(specialRate = 0.2): number {
    if (R() < specialRate) return pick(SPECIAL);
    return (R() < 0.5 ? -1 : 1) * (1 + R()) * 2 ** (Math.floor(R() * 80) - 40);
  }
  function randU32(): number {
    return Math.floor(R() * 4294967296) >>> 0;
  }
  const SW_FLAGS = { kind: 'mask16', mask: 0x3d } as const;
  const CC = { kind: 'mask16', mask: 0x4500 } as const;
  const p = new DiffProgram();
  const begin = (rc: number, pc = 2): void => p.asm('fninit', `fldcw [${p.u16(0x007f | (pc << 8) | (rc << 10))}]`);

  // Arithmetic with m64 / m32 / integer operands, all rounding modes.
  for (const op of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
    for (let i = 0; i < 24; i++) {
      const rc = i % 4;
      const a = rand64();
      const b = rand64();
      begin(rc);
      p.asm(`fld qword [${p.f64(a)}]`, `${op} qword [${p.f64(b)}]`, `fstp qword [${p.out(`${op} ${a} ${b} rc${rc}`, 8)}]`);
      p.asm(`fnstsw [${p.out(`${op} ${a} ${b} rc${rc} sw`, 2, SW_FLAGS)}]`);
    }
    for (let i = 0; i < 6; i++) {
      const a = rand64(0);
      const b = (randU32() | 0) >> Math.floor(R() * 31);
      begin(0);
      p.asm(`fld qword [${p.f64(a)}]`, `fi${op.slice(1)} dword [${p.dwords([b], 4)}]`, `fstp qword [${p.out(`fi${op.slice(1)} ${a} ${b}`, 8)}]`);
    }
    // register forms: ST0 op ST1, ST1 op ST0 (+pop)
    const a = rand64(0);
    const b = rand64(0);
    begin(0);
    p.asm(`fld qword [${p.f64(b)}]`, `fld qword [${p.f64(a)}]`, `${op} st0, st1`, `fstp qword [${p.out(`${op} st0,st1`, 8)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(b)}]`, `fld qword [${p.f64(a)}]`, `${op} st1, st0`, `fstp qword [${p.out(`${op} st1,st0 (st0)`, 8)}]`,
      `fstp qword [${p.out(`${op} st1,st0 (st1)`, 8)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(b)}]`, `fld qword [${p.f64(a)}]`, `${op}p st1, st0`, `fstp qword [${p.out(`${op}p`, 8)}]`,
      `fnstsw [${p.out(`${op}p sw`, 2, { kind: 'mask16', mask: 0x387f })}]`);
  }
  // Unary operations
  for (let i = 0; i < 32; i++) {
    const rc = i % 4;
    const a = i < 8 ? pick([2.5, -2.5, 3.5, -0.5, 0.5, 1e20, -7.25, 4]) : rand64();
    for (const op of ['fsqrt', 'frndint', 'fabs', 'fchs']) {
      begin(rc);
      p.asm(`fld qword [${p.f64(op === 'fsqrt' ? Math.abs(a) : a)}]`, op, `fstp qword [${p.out(`${op} ${a} rc${rc}`, 8)}]`,
        `fnstsw [${p.out(`${op} ${a} sw`, 2, SW_FLAGS)}]`);
    }
  }
  // Stores with conversion: m32 real, m16/m32/m64 integers, FISTTP
  for (let i = 0; i < 40; i++) {
    const rc = i % 4;
    const a = i < 12 ? pick([2.5, -2.5, 3.5, -3.5, 0.5, -0.5, 32767.5, -32768.5, 2147483647.5, 1e19, -9.3e18, 1e-40]) : rand64() * 2 ** Math.floor(R() * 40);
    begin(rc);
    p.asm(`fld qword [${p.f64(a)}]`, `fst dword [${p.out(`fst m32 ${a} rc${rc}`, 4)}]`,
      `fist word [${p.out(`fist m16 ${a} rc${rc}`, 2)}]`, `fist dword [${p.out(`fist m32 ${a} rc${rc}`, 4)}]`,
      `fld st0`, `fistp qword [${p.out(`fistp m64 ${a} rc${rc}`, 8)}]`, `fld st0`, `fisttp dword [${p.out(`fisttp ${a}`, 4)}]`,
      `fnstsw [${p.out(`stores ${a} rc${rc} sw`, 2, SW_FLAGS)}]`);
  }
  // Loads: m32 bit patterns (denormal, SNaN, QNaN), m16/m32/m64 integers
  for (let i = 0; i < 24; i++) {
    const bits = i < 8 ? pick([0x7f800001, 0xffc00123, 0x00000001, 0x807fffff, 0x7f7fffff, 0x80000000, 0x3f800000, 0xff800000]) : randU32();
    begin(0);
    p.asm(`fld dword [${p.dwords([bits], 4)}]`, `fstp qword [${p.out(`fld m32 ${bits.toString(16)}`, 8)}]`,
      `fnstsw [${p.out(`fld m32 ${bits.toString(16)} sw`, 2, SW_FLAGS)}]`);
    const lo = randU32();
    const hi = i < 4 ? pick([0x7ff00000, 0x7ff80000, 0x00000000, 0x80000000]) : randU32();
    begin(0);
    p.asm(`fld qword [${p.dwords([lo, hi], 8)}]`, `fstp tword [${p.out(`fld m64 ${hi.toString(16)}:${lo.toString(16)} -> m80`, 10)}]`,
      `fnstsw [${p.out(`fld m64 ${hi.toString(16)} sw`, 2, SW_FLAGS)}]`);
    begin(0);
    p.asm(`fild qword [${p.dwords([lo, hi], 8)}]`, `fistp qword [${p.out(`fild/fistp m64 ${hi.toString(16)}:${lo.toString(16)}`, 8)}]`);
    begin(0);
    p.asm(`fild qword [${p.dwords([lo, hi], 8)}]`, `fstp tword [${p.out(`fild m64 -> m80 ${hi.toString(16)}:${lo.toString(16)}`, 10)}]`);
    begin(0);
    p.asm(`fild word [${p.dwords([lo], 4)}]`, `fild dword [${p.dwords([hi], 4)}]`, `faddp st1, st0`,
      `fstp qword [${p.out(`fild m16+m32 ${lo & 0xffff} ${hi | 0}`, 8)}]`);
  }
  // m80 round trips, m80 -> m64 conversion under every rounding mode, exact compares
  for (let i = 0; i < 24; i++) {
    const se = i < 6 ? pick([0x7fff, 0xffff, 0x0000, 0x8000, 0x3fff, 0x43fe]) : (R() < 0.5 ? 0x8000 : 0) | (0x3fff + Math.floor(R() * 400) - 200);
    const hi = (randU32() | 0x80000000) >>> 0;
    const lo = randU32();
    const img = [lo, hi, se];
    begin(i % 4);
    p.asm(`fld tword [${p.dwords(img, 16)}]`, `fst qword [${p.out(`m80 ${se.toString(16)}:${hi.toString(16)}${lo.toString(16)} -> m64 rc${i % 4}`, 8)}]`,
      `fnstsw [${p.out(`m80 -> m64 ${i} sw`, 2, SW_FLAGS)}]`,
      `fstp tword [${p.out(`m80 round trip ${se.toString(16)}`, 10)}]`);
  }
  for (let i = 0; i < 32; i++) {
    // values with bits below binary64's precision: FST m32 / FIST under each RC see them
    const rc = i % 4;
    const e = 0x3fff + (i < 16 ? Math.floor(R() * 40) : Math.floor(R() * 4));
    const hi = ((randU32() & ~0xff) | 0x80000000 | (i % 3 === 0 ? 0x80 : 0)) >>> 0;
    const lo = i % 2 ? 1 : 0x80000000 | (randU32() & 0xff);
    const img = p.dwords([lo, hi, (R() < 0.5 ? 0x8000 : 0) | e], 16);
    begin(rc);
    p.asm(`fld tword [${img}]`, `fst dword [${p.out(`m80->m32 ${e.toString(16)}:${hi.toString(16)}${lo.toString(16)} rc${rc}`, 4)}]`,
      `fist dword [${p.out(`m80->fist32 ${e.toString(16)}:${hi.toString(16)}${lo.toString(16)} rc${rc}`, 4)}]`,
      `fistp qword [${p.out(`m80->fist64 ${e.toString(16)}:${hi.toString(16)}${lo.toString(16)} rc${rc}`, 8)}]`,
      `fnstsw [${p.out(`m80 conv ${i} sw`, 2, SW_FLAGS)}]`);
  }
  for (let i = 0; i < 12; i++) {
    const hi = (randU32() | 0x80000000) >>> 0;
    const lo = randU32();
    const d = Math.floor(R() * 3) - 1;
    begin(0);
    p.asm(`fld tword [${p.dwords([(lo + d) >>> 0, hi, 0x3fff], 16)}]`, `fld tword [${p.dwords([lo, hi, 0x3fff], 16)}]`, 'fcompp',
      `fnstsw [${p.out(`fcompp m80 ${hi.toString(16)}${lo.toString(16)} ${d}`, 2, CC)}]`);
  }
  // BCD
  for (let i = 0; i < 8; i++) {
    const digits: number[] = [];
    for (let k = 0; k < 9; k++) digits.push(k >= 7 ? 0 : k === 6 ? Math.floor(R() * 10) : (Math.floor(R() * 10) << 4) | Math.floor(R() * 10));
    digits.push(R() < 0.5 ? 0x80 : 0);
    begin(0);
    p.asm(`fbld [${p.bytes(digits, 16)}]`, `fld st0`, `fbstp [${p.out(`fbld/fbstp ${digits.map((d) => d.toString(16)).join(',')}`, 10)}]`,
      `fstp tword [${p.out(`fbld -> m80 ${i}`, 10)}]`);
    const v = rand64(0) * 1e6;
    begin(i % 4);
    p.asm(`fld qword [${p.f64(v)}]`, `fbstp [${p.out(`fbstp ${v} rc${i % 4}`, 10)}]`);
  }
  // Compares and classification
  const cmpVals = [0, -0, 1, -1, 2, Infinity, -Infinity, NaN, 1e-310, 3];
  for (let i = 0; i < 30; i++) {
    const a = i < 10 ? cmpVals[i]! : pick(cmpVals);
    const b = pick(cmpVals);
    begin(0);
    p.asm(`fld qword [${p.f64(b)}]`, `fld qword [${p.f64(a)}]`, `fcom st1`, `fnstsw [${p.out(`fcom ${a} ${b}`, 2, CC)}]`,
      `fucom st1`, `fnstsw [${p.out(`fucom ${a} ${b}`, 2, { kind: 'mask16', mask: 0x4501 })}]`,
      `fcomi st0, st1`, `pushfd`, `pop dword [${p.out(`fcomi ${a} ${b}`, 4, { kind: 'mask32', mask: 0x45 })}]`,
      `fucomi st0, st1`, `pushfd`, `pop dword [${p.out(`fucomi ${a} ${b}`, 4, { kind: 'mask32', mask: 0x45 })}]`,
      `fxam`, `fnstsw [${p.out(`fxam ${a}`, 2, { kind: 'mask16', mask: 0x4700 })}]`,
      `ftst`, `fnstsw [${p.out(`ftst ${a}`, 2, { kind: 'mask16', mask: 0x4500 })}]`,
      `fcompp`, `fnstsw [${p.out(`fcompp ${a} ${b}`, 2, { kind: 'mask16', mask: 0x7d3d })}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, `fcomp qword [${p.f64(b)}]`, `fnstsw [${p.out(`fcomp m64 ${a} ${b}`, 2, { kind: 'mask16', mask: 0x7d3d })}]`);
  }
  begin(0);
  p.asm('fxam', `fnstsw [${p.out('fxam empty', 2, { kind: 'mask16', mask: 0x4500 })}]`);
  // Constants under every rounding mode
  for (let rc = 0; rc < 4; rc++) {
    for (const c of ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz']) {
      begin(rc);
      p.asm(c, `fstp tword [${p.out(`${c} rc${rc}`, 10)}]`);
    }
  }
  // FXTRACT, FSCALE, FPREM, FPREM1
  for (let i = 0; i < 16; i++) {
    const a = rand64(0.1);
    const b = i < 4 ? pick([3, -3, 0.5, 2.75]) : rand64(0);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, 'fxtract', `fstp qword [${p.out(`fxtract sig ${a}`, 8)}]`, `fstp qword [${p.out(`fxtract exp ${a}`, 8)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(Math.trunc(b * 8))}]`, `fld qword [${p.f64(a)}]`, 'fscale', `fstp qword [${p.out(`fscale ${a} ${Math.trunc(b * 8)}`, 8)}]`);
    for (const op of ['fprem', 'fprem1']) {
      begin(0);
      const cc = op === 'fprem' ? CC : ({ kind: 'mask16', mask: 0x0400 } as const);
      p.asm(`fld qword [${p.f64(b)}]`, `fld qword [${p.f64(a * 64)}]`, op, `fnstsw [${p.out(`${op} ${a * 64} ${b} cc`, 2, cc)}]`,
        `fstp qword [${p.out(`${op} ${a * 64} ${b}`, 8)}]`);
    }
  }
  // Transcendentals (tolerance)
  const approx = { kind: 'approx64', relTol: 1e-14 } as const;
  for (let i = 0; i < 16; i++) {
    const a = (R() - 0.5) * (i < 8 ? 2 : 20);
    const b = (R() + 0.01) * 10;
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, 'fsin', `fstp qword [${p.out(`fsin ${a}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, 'fcos', `fstp qword [${p.out(`fcos ${a}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, 'fsincos', `fstp qword [${p.out(`fsincos cos ${a}`, 8, approx)}]`, `fstp qword [${p.out(`fsincos sin ${a}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, 'fptan', `fstp qword [${p.out(`fptan one ${a}`, 8)}]`, `fstp qword [${p.out(`fptan ${a}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, `fld qword [${p.f64(b)}]`, 'fpatan', `fstp qword [${p.out(`fpatan ${a} ${b}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a / 20)}]`, 'f2xm1', `fstp qword [${p.out(`f2xm1 ${a / 20}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, `fld qword [${p.f64(b)}]`, 'fyl2x', `fstp qword [${p.out(`fyl2x ${a} ${b}`, 8, approx)}]`);
    begin(0);
    p.asm(`fld qword [${p.f64(a)}]`, `fld qword [${p.f64(a / 40)}]`, 'fyl2xp1', `fstp qword [${p.out(`fyl2xp1 ${a} ${a / 40}`, 8, approx)}]`);
  }
  // Stack management, FXCH/FST ST(i)/FFREE/FINCSTP, environment images
  begin(0);
  p.asm(`fld qword [${p.f64(1.5)}]`, `fld qword [${p.f64(2.5)}]`, `fld qword [${p.f64(-4)}]`, 'fxch st2', 'fst st1', 'fincstp', 'ffree st0',
    'fdecstp', `fnstenv [${p.out('fnstenv', 28, { kind: 'env32' })}]`,
    `fldenv [${p.dwords([0xffff037f, 0xffff0000, 0xffffffff, 0, 0, 0, 0], 4)}]`,
    `fld qword [${p.f64(9)}]`, `fnsave [${p.out('fnsave', 108, { kind: 'env32' })}]`);
  begin(0);
  p.asm(`fld qword [${p.f64(1.25)}]`, 'fldpi', `fld qword [${p.f64(-3)}]`, 'fxch st1');
  const save = p.out('fnsave then frstor', 108, { kind: 'env32' });
  p.asm(`fnsave [${save}]`, `frstor [${save}]`, `fstp tword [${p.out('frstor st0', 10)}]`, `fstp tword [${p.out('frstor st1', 10)}]`,
    `fnstsw [${p.out('frstor sw', 2)}]`);
  return p;
}

