/**
 * Differential-test cases for the MMX/SSE/SSE2 unit against QEMU TCG (qemu-system-i386 -cpu max).
 * Inputs come from a fixed seed; QEMU's results are produced at test time and cached in
 * os.tmpdir()/vireo-cache/fpu-diff. Every output is compared bit-exactly, MXCSR included.
 *
 * Exclusions: FXSAVE's FIP/FDP/FOP (instruction addresses differ between the two runs).
 * RCPPS/RSQRTPS are compared exactly: QEMU and we both return correctly rounded values
 * (hardware returns 12-bit approximations).
 * QEMU 7.2 deviations from the SDM that are excluded (our unit tests pin the SDM behaviour):
 * - MXCSR.DE (denormal operand) is never set by QEMU 7.2;
 * - with two NaN operands QEMU 7.2 applies the x87 rule (larger significand, QNaN over SNaN)
 *   instead of the SSE rule (first operand): arithmetic inputs avoid NaN/NaN lanes;
 * - MMX instructions other than loads leave bits 64-79 of the register untouched in QEMU
 *   (the SDM sets them to all ones), so the x87 tag word / FXSAVE exponent of such registers
 *   differ: not compared after MMX arithmetic.
 */
import { DiffProgram, rng, type Compare } from './diff-program.js';

/** Builds the program (deterministic: fixed seed). */
export function buildSseCases(): DiffProgram {
  // fresh generator per build: the same inputs every run
  const R = rng(0x55e2);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(R() * xs.length)]!;
  const u32 = (): number => Math.floor(R() * 4294967296) >>> 0;

  const SPECIAL32 = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00001, 0xffc00002, 0x7f800005,
    0xff800007, 0x00000001, 0x807fffff, 0x7f7fffff, 0x00800000, 0x3fc00000, 0x40400000, 0x3eaaaaab, 0x4f000000, 0xcf000000];
  function f32bits(): number {
    if (R() < 0.25) return pick(SPECIAL32);
    const e = 127 + Math.floor(R() * 80) - 40;
    return ((R() < 0.5 ? 0x80000000 : 0) | (e << 23) | (u32() & 0x7fffff)) >>> 0;
  }
  const SPECIAL64: [number, number][] = [[0, 0], [0x80000000, 0], [0x3ff00000, 0], [0xbff00000, 0], [0x7ff00000, 0], [0xfff00000, 0],
    [0x7ff80000, 1], [0xfff80000, 2], [0x7ff00000, 5], [0x00000000, 1], [0x800fffff, 0xffffffff], [0x7fefffff, 0xffffffff],
    [0x00100000, 0], [0x41e00000, 0], [0xc1e00000, 0x00200000], [0x3fd55555, 0x55555555], [0x47efffff, 0xe0000000]];
  function f64pair(): [number, number] {
    if (R() < 0.25) return pick(SPECIAL64);
    const e = 1023 + Math.floor(R() * 200) - 100;
    return [((R() < 0.5 ? 0x80000000 : 0) | (e << 20) | (u32() & 0xfffff)) >>> 0, u32()];
  }
  /** QEMU 7.2 picks between two NaN operands with the x87 rule: keep such lanes out of b. */
  function noDoubleNaN(a: number[], b: number[], dbl: boolean): void {
    const nan32 = (w: number): boolean => (w & 0x7fffffff) > 0x7f800000;
    const nan64 = (lo: number, hi: number): boolean => (hi & 0x7fffffff) > 0x7ff00000 || ((hi & 0x7fffffff) === 0x7ff00000 && lo !== 0);
    for (let i = 0; i < 4; i += dbl ? 2 : 1) {
      if (dbl ? nan64(a[i]!, a[i + 1]!) && nan64(b[i]!, b[i + 1]!) : nan32(a[i]!) && nan32(b[i]!)) {
        b[i] = 0;
        if (dbl) b[i + 1] = 0x3ff00000;
        else b[i] = 0x3f800000;
      }
    }
  }
  function vec32(): number[] {
    return [f32bits(), f32bits(), f32bits(), f32bits()];
  }
  function vec64(): number[] {
    const a = f64pair();
    const b = f64pair();
    return [a[1], a[0], b[1], b[0]];
  }
  function intByte(): number {
    return R() < 0.4 ? pick([0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x81]) : Math.floor(R() * 256);
  }
  function vecInt(): number[] {
    const w: number[] = [];
    for (let i = 0; i < 4; i++) w.push(((intByte() | (intByte() << 8) | (intByte() << 16) | (intByte() << 24)) >>> 0));
    return w;
  }
  const MXCSR_VARIANTS = [0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9f80, 0x1fc0, 0x9fc0];
  const EXACT: Compare = { kind: 'exact' };
  const p = new DiffProgram();
  const mx = (v: number): string => p.dwords([v], 4);
  const flags = (label: string): void => p.asm(`stmxcsr [${p.out(label + ' mxcsr', 4, { kind: 'mask32', mask: 0xffff & ~2 })}]`);

  // Floating-point arithmetic: packed and scalar, single and double, every MXCSR rounding mode.
  const arith = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'];
  for (const op of arith) {
    for (const sfx of ['ps', 'ss', 'pd', 'sd']) {
      for (let i = 0; i < 10; i++) {
        const dbl = sfx.endsWith('d');
        const a = dbl ? vec64() : vec32();
        const b = dbl ? vec64() : vec32();
        noDoubleNaN(a, b, dbl);
        const m = i < 4 ? MXCSR_VARIANTS[i]! : pick(MXCSR_VARIANTS);
        const label = `${op}${sfx} ${a.map((x) => x.toString(16)).join(',')} ${b.map((x) => x.toString(16)).join(',')} mx${m.toString(16)}`;
        p.asm(`ldmxcsr [${mx(m)}]`, `movups xmm0, [${p.dwords(a)}]`, `movups xmm1, [${p.dwords(b)}]`,
          i % 2 ? `${op}${sfx} xmm0, xmm1` : `${op}${sfx} xmm0, [${p.dwords(b)}]`, `movups [${p.out(label, 16)}]`.replace(']', '], xmm0'));
        flags(label);
      }
    }
  }
  // DAZ / FZ with denormal operands for every arithmetic kind
  for (const op of ['addps', 'mulps', 'minps', 'maxps', 'sqrtps', 'divps', 'cvtps2pd', 'cvtps2dq', 'minsd', 'maxpd', 'addpd', 'cvtsd2ss']) {
    for (const m of [0x1f80, 0x1fc0, 0x9f80, 0x9fc0]) {
      const dbl = /(pd|sd|2ss)$/.test(op) && op !== 'cvtps2pd';
      const a = dbl ? [1, 0, 0, 0x80000000] : [0x00000001, 0x807fffff, 0x00400000, 0x3f800000];
      const b = dbl ? [5, 0x00080000, 0, 0x3ff00000] : [0x00000002, 0x80000003, 0x00800000, 0x80000001];
      const label = `${op} denormals mx${m.toString(16)}`;
      p.asm(`ldmxcsr [${mx(m)}]`, `movups xmm0, [${p.dwords(a)}]`, `movups xmm1, [${p.dwords(b)}]`, `${op} xmm0, xmm1`,
        `movups [${p.out(label, 16)}], xmm0`);
      flags(label);
    }
  }
  // Compares
  for (let pred = 0; pred < 8; pred++) {
    for (const sfx of ['ps', 'ss', 'pd', 'sd']) {
      for (let i = 0; i < 3; i++) {
        const dbl = sfx.endsWith('d');
        const a = dbl ? vec64() : vec32();
        const b = i === 0 ? a : dbl ? vec64() : vec32();
        const label = `cmp${sfx} ${pred} ${a.map((x) => x.toString(16)).join(',')} ${b.map((x) => x.toString(16)).join(',')}`;
        p.asm('ldmxcsr [' + mx(0x1f80) + ']', `movups xmm2, [${p.dwords(a)}]`, `movups xmm3, [${p.dwords(b)}]`, `cmp${sfx} xmm2, xmm3, ${pred}`,
          `movups [${p.out(label, 16)}], xmm2`);
        flags(label);
      }
    }
  }
  for (const op of ['comiss', 'ucomiss', 'comisd', 'ucomisd']) {
    for (let i = 0; i < 16; i++) {
      const dbl = op.endsWith('d');
      const a = dbl ? vec64() : vec32();
      const b = i % 4 === 0 ? a : dbl ? vec64() : vec32();
      const label = `${op} ${a.map((x) => x.toString(16)).join(',')} ${b.map((x) => x.toString(16)).join(',')}`;
      p.asm('ldmxcsr [' + mx(0x1f80) + ']', `movups xmm4, [${p.dwords(a)}]`, `${op} xmm4, [${p.dwords(b)}]`, 'pushfd',
        `pop dword [${p.out(label, 4, { kind: 'mask32', mask: 0x8d5 })}]`);
      flags(label);
    }
  }
  // Conversions
  const cvtXmm = ['cvtps2dq', 'cvttps2dq', 'cvtdq2ps', 'cvtps2pd', 'cvtpd2ps', 'cvtpd2dq', 'cvttpd2dq', 'cvtdq2pd', 'cvtss2sd', 'cvtsd2ss'];
  for (const op of cvtXmm) {
    for (let i = 0; i < 12; i++) {
      const srcD = /^cvt(t?pd|sd)2/.test(op);
      const srcI = op.startsWith('cvtdq');
      const b = srcI ? (i % 2 ? vecInt() : [u32(), 0x7fffffff, 0x80000000, 16777217]) : srcD ? vec64() : vec32();
      const m = pick(MXCSR_VARIANTS);
      const label = `${op} ${b.map((x) => x.toString(16)).join(',')} mx${m.toString(16)}`;
      p.asm(`ldmxcsr [${mx(m)}]`, `movups xmm5, [${p.dwords([0x11111111, 0x22222222, 0x33333333, 0x44444444])}]`,
        `movups xmm6, [${p.dwords(b)}]`, `${op} xmm5, xmm6`, `movups [${p.out(label, 16)}], xmm5`);
      flags(label);
    }
  }
  for (const op of ['cvtss2si', 'cvttss2si', 'cvtsd2si', 'cvttsd2si']) {
    for (let i = 0; i < 16; i++) {
      const dbl = op.includes('sd');
      const b = dbl ? vec64() : vec32();
      if (i < 4) {
        const v = [2.5, -2.5, 3.5, -0.5][i]!;
        if (dbl) {
          const dv = new DataView(new ArrayBuffer(8));
          dv.setFloat64(0, v, true);
          b[0] = dv.getUint32(0, true);
          b[1] = dv.getUint32(4, true);
        } else {
          const dv = new DataView(new ArrayBuffer(4));
          dv.setFloat32(0, v, true);
          b[0] = dv.getUint32(0, true);
        }
      }
      const m = MXCSR_VARIANTS[i % 4]!;
      const label = `${op} ${b.map((x) => x.toString(16)).join(',')} mx${m.toString(16)}`;
      p.asm(`ldmxcsr [${mx(m)}]`, `movups xmm7, [${p.dwords(b)}]`, `${op} eax, xmm7`, `mov [${p.out(label, 4)}], eax`);
      flags(label);
    }
  }
  for (let i = 0; i < 12; i++) {
    const v = i < 3 ? [16777217, 0x7fffffff, 0x80000001][i]! : u32();
    const m = MXCSR_VARIANTS[i % 4]!;
    const label = `cvtsi2ss/sd ${v.toString(16)} mx${m.toString(16)}`;
    p.asm(`ldmxcsr [${mx(m)}]`, `mov eax, [${p.dwords([v], 4)}]`, `movups xmm0, [${p.dwords(vec32())}]`, 'movaps xmm1, xmm0',
      'cvtsi2ss xmm0, eax', 'cvtsi2sd xmm1, eax', `movups [${p.out(label + ' ss', 16)}], xmm0`, `movups [${p.out(label + ' sd', 16)}], xmm1`);
    flags(label);
    const pi = [u32(), u32()];
    p.asm(`movq mm1, [${p.dwords(pi, 8)}]`, 'cvtpi2ps xmm0, mm1', 'cvtpi2pd xmm2, mm1', `movups [${p.out(label + ' pi2ps', 16)}], xmm0`,
      `movups [${p.out(label + ' pi2pd', 16)}], xmm2`, `movups xmm3, [${p.dwords(vec32())}]`, 'cvtps2pi mm2, xmm3', 'cvttps2pi mm3, xmm3',
      `movups xmm4, [${p.dwords(vec64())}]`, 'cvtpd2pi mm4, xmm4', 'cvttpd2pi mm5, xmm4',
      `movq [${p.out(label + ' ps2pi', 8)}], mm2`, `movq [${p.out(label + ' tps2pi', 8)}], mm3`,
      `movq [${p.out(label + ' pd2pi', 8)}], mm4`, `movq [${p.out(label + ' tpd2pi', 8)}], mm5`, 'emms');
    flags(label + ' mmx cvt');
  }
  // Reciprocal approximations
  for (const op of ['rcpps', 'rsqrtps', 'rcpss', 'rsqrtss']) {
    for (let i = 0; i < 4; i++) {
      const b = [0x40000000, 0x3e800000, 0x41800000, 0x3f800000];
      const label = `${op} ${i}`;
      p.asm(`movups xmm0, [${p.dwords(vec32())}]`, `${op} xmm0, [${p.dwords(b)}]`, `movups [${p.out(label, 16)}], xmm0`);
    }
  }
  // Integer SIMD on XMM and MMX registers
  const intOps = ['punpcklbw', 'punpcklwd', 'punpckldq', 'packsswb', 'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'packuswb', 'punpckhbw',
    'punpckhwd', 'punpckhdq', 'packssdw', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'psrlw', 'psrld', 'psrlq', 'paddq', 'pmullw',
    'psubusb', 'psubusw', 'pminub', 'pand', 'paddusb', 'paddusw', 'pmaxub', 'pandn', 'pavgb', 'psraw', 'psrad', 'pavgw',
    'pmulhuw', 'pmulhw', 'psubsb', 'psubsw', 'pminsw', 'por', 'paddsb', 'paddsw', 'pmaxsw', 'pxor', 'psllw', 'pslld', 'psllq',
    'pmuludq', 'pmaddwd', 'psadbw', 'psubb', 'psubw', 'psubd', 'psubq', 'paddb', 'paddw', 'paddd'];
  for (const op of [...intOps, 'punpcklqdq', 'punpckhqdq']) {
    for (let i = 0; i < 4; i++) {
      const a = vecInt();
      const b = /^ps[rl]/.test(op) ? [i === 3 ? u32() % 80 : Math.floor(R() * (op.endsWith('q') ? 70 : op.endsWith('d') ? 36 : 18)), i === 3 ? 1 : 0, u32(), u32()] : vecInt();
      const label = `${op} ${a.map((x) => x.toString(16)).join(',')} ${b.map((x) => x.toString(16)).join(',')}`;
      p.asm(`movdqu xmm1, [${p.dwords(a)}]`, `${op} xmm1, [${p.dwords(b)}]`, `movdqu [${p.out(label, 16)}], xmm1`);
      if (op.endsWith('qdq')) continue;
      p.asm(`movq mm6, [${p.dwords(a, 8)}]`, `movq mm7, [${p.dwords(b, 8)}]`, `${op} mm6, mm7`, `movq [${p.out(label + ' mmx', 8)}], mm6`);
    }
  }
  p.asm('emms');
  for (const [op, widths] of [['psrlw', 16], ['psraw', 16], ['psllw', 16], ['psrld', 32], ['psrad', 32], ['pslld', 32], ['psrlq', 64],
    ['psllq', 64], ['psrldq', 128], ['pslldq', 128]] as const) {
    for (const imm of [0, 1, 7, widths === 128 ? 15 : widths - 1, widths === 128 ? 17 : widths, 200]) {
      const a = vecInt();
      const label = `${op} imm ${imm} ${a.map((x) => x.toString(16)).join(',')}`;
      p.asm(`movdqu xmm2, [${p.dwords(a)}]`, `${op} xmm2, ${imm}`, `movdqu [${p.out(label, 16)}], xmm2`);
      if (widths === 128) continue;
      p.asm(`movq mm2, [${p.dwords(a, 8)}]`, `${op} mm2, ${imm}`, `movq [${p.out(label + ' mmx', 8)}], mm2`);
    }
  }
  // Shuffles, moves, masks, inserts/extracts
  for (let i = 0; i < 6; i++) {
    const a = vecInt();
    const b = vecInt();
    const imm = Math.floor(R() * 256);
    const A = p.dwords(a);
    const B = p.dwords(b);
    const tag = `${i} imm ${imm}`;
    for (const op of ['pshufd', 'pshufhw', 'pshuflw']) {
      p.asm(`${op} xmm3, [${B}], ${imm}`, `movdqu [${p.out(`${op} ${tag}`, 16)}], xmm3`);
    }
    p.asm(`pshufw mm3, [${B}], ${imm}`, `movq [${p.out(`pshufw ${tag}`, 8)}], mm3`);
    for (const op of ['shufps', 'shufpd']) {
      p.asm(`movups xmm3, [${A}]`, `${op} xmm3, [${B}], ${imm}`, `movups [${p.out(`${op} ${tag}`, 16)}], xmm3`);
    }
    for (const op of ['unpcklps', 'unpckhps', 'unpcklpd', 'unpckhpd', 'andps', 'andnps', 'orps', 'xorps', 'andpd', 'andnpd', 'orpd', 'xorpd']) {
      p.asm(`movups xmm3, [${A}]`, `${op} xmm3, [${B}]`, `movups [${p.out(`${op} ${tag}`, 16)}], xmm3`);
    }
    p.asm(`movups xmm3, [${A}]`, `movups xmm4, [${B}]`);
    for (const [op, size] of [['movss xmm3, xmm4', 16], ['movsd xmm3, xmm4', 16], ['movhlps xmm3, xmm4', 16], ['movlhps xmm3, xmm4', 16],
      [`movlps xmm3, [${B}]`, 16], [`movhps xmm3, [${B}]`, 16], [`movlpd xmm3, [${A}]`, 16], [`movhpd xmm3, [${A}]`, 16],
      [`movss xmm3, [${B}]`, 16], [`movsd xmm3, [${A}]`, 16], ['movq xmm3, xmm4', 16], [`movq xmm3, [${A}]`, 16]] as const) {
      p.asm(op, `movups [${p.out(`${op} ${tag}`, size)}], xmm3`, `movups xmm3, [${A}]`);
    }
    p.asm(`movups xmm5, [${B}]`, `pinsrw xmm5, [${A}], ${imm & 7}`, `movups [${p.out(`pinsrw ${tag}`, 16)}], xmm5`,
      `pextrw eax, xmm5, ${imm}`, `mov [${p.out(`pextrw ${tag}`, 4)}], eax`, 'pmovmskb eax, xmm5', `mov [${p.out(`pmovmskb ${tag}`, 4)}], eax`,
      'movmskps eax, xmm5', `mov [${p.out(`movmskps ${tag}`, 4)}], eax`, 'movmskpd eax, xmm5', `mov [${p.out(`movmskpd ${tag}`, 4)}], eax`,
      'movd eax, xmm5', `mov [${p.out(`movd r32 ${tag}`, 4)}], eax`, 'movd xmm6, eax', `movups [${p.out(`movd xmm ${tag}`, 16)}], xmm6`,
      `movq mm0, [${A}]`, 'movq2dq xmm6, mm0', `movups [${p.out(`movq2dq ${tag}`, 16)}], xmm6`, 'movdq2q mm1, xmm5',
      `movq [${p.out(`movdq2q ${tag}`, 8)}], mm1`, 'pmovmskb eax, mm1', `mov [${p.out(`pmovmskb mm ${tag}`, 4)}], eax`,
      `pinsrw mm1, eax, ${imm}`, `pextrw eax, mm1, ${imm >> 2}`, `mov [${p.out(`pinsrw/pextrw mm ${tag}`, 4)}], eax`,
      `movq [${p.out(`pinsrw mm ${tag}`, 8)}], mm1`, `fnstenv [${p.out(`fnstenv after mmx ${tag}`, 28, { kind: 'env32', tag: false })}]`, 'emms',
      `fnstenv [${p.out(`fnstenv after emms ${tag}`, 28, { kind: 'env32' })}]`);
    const dst = p.out(`maskmovdqu ${tag}`, 16);
    p.asm(`mov edi, [${p.dwords([Number(dst)], 4)}]`, `movups xmm7, [${B}]`, `maskmovdqu xmm5, xmm7`);
    const dst2 = p.out(`maskmovq ${tag}`, 8);
    p.asm(`mov edi, [${p.dwords([Number(dst2)], 4)}]`, `movq mm7, [${B}]`, `movq mm6, [${A}]`, `maskmovq mm6, mm7`, 'emms');
  }
  // FXSAVE / FXRSTOR round trip (pointers excluded)
  p.asm('fninit', `fld qword [${p.dwords([0, 0x400c0000], 8)}]`, 'fldpi', `ldmxcsr [${mx(0x3f85)}]`,
    `movups xmm0, [${p.dwords([1, 2, 3, 4])}]`, `movups xmm7, [${p.dwords([5, 6, 7, 8])}]`);
  const fx = p.out('fxsave', 512, EXACT);
  p.outputs.pop();
  p.asm(`fxsave [${fx}]`);
  for (const [off, len] of [[0, 5], [24, 4], [32, 10], [48, 10], [160, 16], [272, 16]] as const) {
    p.outputs.push({ label: `fxsave bytes ${off}+${len}`, addr: Number(fx) + off, size: len, cmp: EXACT } as never);
  }
  p.asm('fninit', `ldmxcsr [${mx(0x1f80)}]`, 'xorps xmm0, xmm0', 'xorps xmm7, xmm7', `fxrstor [${fx}]`,
    `movups [${p.out('fxrstor xmm7', 16)}], xmm7`, `stmxcsr [${p.out('fxrstor mxcsr', 4)}]`, `fstp tword [${p.out('fxrstor st0', 10)}]`,
    `fnstsw [${p.out('fxrstor sw', 2)}]`);
  return p;
}

