/**
 * Generator of randomized ALU/shift/multiply/divide/bit/BCD test guests (nasm source).
 *
 * Each case loads random operands into EAX/EBX/ECX/EDX and random status flags, executes
 * one instruction, and prints the four registers and EFLAGS masked to the flags the SDM
 * defines for that instruction. Masked (architecturally undefined) flags:
 *   - logic ops (AND/OR/XOR/TEST): AF
 *   - shifts: AF; OF unless the masked count is 1; 8/16-bit counts stay below the width
 *   - rotates: OF unless the masked count is 1
 *   - MUL/IMUL: SF, ZF, AF, PF
 *   - DIV/IDIV: all six (operands chosen so no #DE)
 *   - BT/BTS/BTR/BTC: OF, SF, AF, PF
 *   - BSF/BSR: everything but ZF
 *   - SHLD/SHRD: AF; OF unless count is 1; 16-bit counts stay below 16
 *   - DAA/DAS: OF; AAA/AAS: OF, SF, ZF, PF; AAM/AAD: OF, AF, CF
 */

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

const EDGE = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const ARITH = 0x8d5;

interface Case { text: string; mask: number; setup?: string }

/** Generates `count` cases; returns the nasm source and the per-case instruction text. */
export function randomGuest(seed: number, count: number): { source: string; cases: string[] } {
  const rnd = prng(seed);
  const pick = <T,>(a: readonly T[]): T => a[rnd() % a.length];
  const val = (): number => (rnd() % 3 === 0 ? pick(EDGE) : rnd() % 2 ? rnd() : rnd() & pick([0xff, 0xffff, 0xffffffff]));
  const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
  const regs = { 8: ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'dh'], 16: ['ax', 'bx', 'cx', 'dx'], 32: ['eax', 'ebx', 'ecx', 'edx'] } as const;
  const gens: Array<() => Case> = [
    () => { // binary ALU
      const op = pick(['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test']);
      const size = pick([8, 16, 32] as const);
      const a = pick(regs[size]);
      const b = rnd() % 3 === 0 ? hex(val() & (size === 32 ? 0xffffffff : (1 << size) - 1)) : pick(regs[size]);
      const logic = ['or', 'and', 'xor', 'test'].includes(op);
      return { text: `${op} ${a}, ${b}`, mask: logic ? ARITH & ~0x10 : ARITH };
    },
    () => { // unary
      const op = pick(['inc', 'dec', 'neg', 'not']);
      const size = pick([8, 16, 32] as const);
      return { text: `${op} ${pick(regs[size])}`, mask: ARITH };
    },
    () => { // shifts / rotates
      const op = pick(['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar']);
      const size = pick([8, 16, 32] as const);
      const rot = op.startsWith('r');
      const maxCount = rot || size === 32 ? 32 : size;
      const count = rnd() % 4 === 0 ? 1 : rnd() % maxCount;
      const useCl = rnd() % 2 === 0;
      const dst = pick(regs[size].filter((r) => !useCl || (r !== 'cl' && r !== 'cx' && r !== 'ecx')));
      const text = useCl ? `mov cl, ${count}\n  ${op} ${dst}, cl` : `${op} ${dst}, ${count}`;
      let mask = rot ? 0x801 | (ARITH & ~0x801) : ARITH & ~0x10;
      if ((count & 31) !== 1) mask &= ~0x800;
      return { text, mask };
    },
    () => { // MUL / IMUL
      const size = pick([8, 16, 32] as const);
      const form = rnd() % 3;
      if (form === 0 || size === 8) return { text: `${pick(['mul', 'imul'])} ${pick(regs[size].filter((r) => !r.startsWith('a')))}`, mask: 0x801 };
      if (form === 1) return { text: `imul ${pick(regs[size])}, ${pick(regs[size])}`, mask: 0x801 };
      return { text: `imul ${pick(regs[size])}, ${pick(regs[size])}, ${(rnd() % 65536) - 32768}`, mask: 0x801 };
    },
    () => { // DIV / IDIV without #DE
      const size = pick([8, 16, 32] as const);
      const signed = rnd() % 2 === 0;
      const d = (val() | 1) >>> 0;
      let setup: string;
      if (size === 8) {
        const dv = d & 0xff || 1;
        const q = signed ? rnd() % 100 : rnd() % 256;
        setup = `mov bl, ${hex(dv)}\n  mov ax, ${hex(((signed ? q * ((dv << 24) >> 24) : q * dv) + (rnd() % Math.max(1, (dv & 0x7f)))) & 0xffff)}`;
        if (signed) setup = `mov bl, ${hex(dv)}\n  mov al, ${hex(rnd() & 0xff)}\n  cbw`;
        return { text: `${signed ? 'idiv' : 'div'} bl`, mask: 0, setup };
      }
      if (size === 16) {
        const dv = (d & 0xffff) || 1;
        setup = signed ? `mov bx, ${hex(dv)}\n  mov ax, ${hex(rnd() & 0xffff)}\n  cwd` : `mov bx, ${hex(dv)}\n  mov dx, ${hex((rnd() & 0xffff) % dv)}\n  mov ax, ${hex(rnd() & 0xffff)}`;
        return { text: `${signed ? 'idiv' : 'div'} bx`, mask: 0, setup };
      }
      setup = signed ? `mov ebx, ${hex(d === 0xffffffff ? 3 : d)}\n  mov eax, ${hex(rnd() & 0x7fffffff)}\n  cdq` : `mov ebx, ${hex(d)}\n  mov edx, ${hex((rnd() >>> 0) % d)}\n  mov eax, ${hex(rnd())}`;
      return { text: `${signed ? 'idiv' : 'div'} ebx`, mask: 0, setup };
    },
    () => { // bit tests
      const op = pick(['bt', 'bts', 'btr', 'btc']);
      const size = pick([16, 32] as const);
      const imm = rnd() % 2 === 0;
      return { text: `${op} ${pick(regs[size])}, ${imm ? rnd() % size : pick(regs[size])}`, mask: 0x41 };
    },
    () => { // BSF / BSR
      const size = pick([16, 32] as const);
      return { text: `${pick(['bsf', 'bsr'])} ${pick(regs[size])}, ${pick(regs[size])}`, mask: 0x40 };
    },
    () => { // SHLD / SHRD
      const size = pick([16, 32] as const);
      const count = rnd() % 4 === 0 ? 1 : rnd() % (size === 16 ? 16 : 32);
      const [d, s] = size === 16 ? ['ax', 'bx'] : ['eax', pick(['ebx', 'edx'])];
      let mask = ARITH & ~0x10;
      if (count !== 1) mask &= ~0x800;
      return { text: `mov cl, ${count}\n  ${pick(['shld', 'shrd'])} ${d}, ${s}, ${rnd() % 2 ? 'cl' : count}`, mask };
    },
    () => { // XADD / CMPXCHG / XCHG / BSWAP / MOVZX / MOVSX / CMOV / SETcc / CBW...
      const k = rnd() % 9;
      const cc = pick(['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']);
      switch (k) {
        case 0: return { text: `xadd ${pick(regs[32])}, ${pick(regs[32])}`, mask: ARITH };
        case 1: { const s = pick([8, 16, 32] as const); return { text: `cmpxchg ${pick(regs[s].slice(1))}, ${pick(regs[s])}`, mask: ARITH }; }
        case 2: return { text: `bswap ${pick(regs[32])}`, mask: ARITH };
        case 3: return { text: `${pick(['movzx', 'movsx'])} ${pick(regs[32])}, ${pick([...regs[8], ...regs[16]])}`, mask: ARITH };
        case 4: return { text: `cmov${cc} ${pick(regs[32])}, ${pick(regs[32])}`, mask: ARITH };
        case 5: return { text: `set${cc} ${pick(regs[8])}`, mask: ARITH };
        case 6: return { text: pick(['cbw', 'cwde', 'cwd', 'cdq', 'lahf', 'sahf', 'cmc', 'clc', 'stc', 'salc']), mask: ARITH };
        case 7: return { text: `lea ${pick(regs[32])}, [${pick(regs[32])} + ${pick(regs[32])} * ${pick([1, 2, 4, 8])} + ${hex(rnd())}]`, mask: ARITH };
        default: return { text: `xchg ${pick(regs[16])}, ${pick(regs[16])}`, mask: ARITH };
      }
    },
    () => { // BCD
      const op = pick(['daa', 'das', 'aaa', 'aas', 'aam', 'aad']);
      const mask = op === 'daa' || op === 'das' ? 0xd5 : op === 'aaa' || op === 'aas' ? 0x11 : 0xc4;
      const pre = op === 'daa' || op === 'das' ? `${pick(['add', 'sub', 'adc'])} al, bl\n  ` : '';
      return { text: `${pre}${op}${op === 'aam' || op === 'aad' ? ' ' + (1 + (rnd() % 20)) : ''}`, mask };
    },
  ];
  const lines: string[] = ['%include "lib.inc"', 'bits 16', 'org 0', 'start:', '  cli', '  xor ax, ax', '  mov ss, ax', '  mov sp, 0x7000'];
  const cases: string[] = [];
  for (let i = 0; i < count; i++) {
    const c = pick(gens)();
    cases.push((c.setup ? c.setup + '\n  ' : '') + c.text);
    lines.push(`; case ${i}`);
    lines.push(`  mov eax, ${hex(val())}`, `  mov ebx, ${hex(val())}`, `  mov ecx, ${hex(val())}`, `  mov edx, ${hex(val())}`);
    lines.push(`  push dword ${hex((rnd() & ARITH) | 2)}`, '  popfd');
    if (c.setup) lines.push('  ' + c.setup);
    lines.push('  ' + c.text);
    lines.push('  pushfd', '  pop esi', `  and esi, ${hex(c.mask)}`, '  call dump');
  }
  lines.push('  EXIT 0', 'dump:', '  HEX eax', '  HEX ebx', '  HEX ecx', '  HEX edx', '  HEX esi', '  NL', '  ret', 'LIBCODE', 'FOOTER');
  return { source: lines.join('\n') + '\n', cases };
}

/**
 * Generates a guest exercising ModRM/SIB effective addresses in 16- and 32-bit addressing
 * (real mode, DS = 0x1000): each case stores through a random addressing form, then loads
 * the value back from the absolute offset the generator computed, and prints LEA results.
 */
export function randomAddressingGuest(seed: number, count: number): { source: string; cases: string[] } {
  const rnd = prng(seed);
  const pick = <T,>(a: readonly T[]): T => a[rnd() % a.length];
  const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
  const lines: string[] = ['%include "lib.inc"', 'bits 16', 'org 0', 'start:', '  cli', '  xor ax, ax', '  mov ss, ax',
    '  mov sp, 0x7000', '  mov ax, 0x1000', '  mov ds, ax'];
  const cases: string[] = [];
  const forms16: Array<[string, (r: Record<string, number>) => number]> = [
    ['bx+si', (r) => r.bx + r.si], ['bx+di', (r) => r.bx + r.di], ['bp+si', (r) => r.bp + r.si], ['bp+di', (r) => r.bp + r.di],
    ['si', (r) => r.si], ['di', (r) => r.di], ['bp', (r) => r.bp], ['bx', (r) => r.bx],
  ];
  const r32 = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'];
  for (let i = 0; i < count; i++) {
    lines.push(`; case ${i}`);
    if (rnd() % 2 === 0) {
      const r: Record<string, number> = { bx: rnd() & 0xffff, bp: rnd() & 0xffff, si: rnd() & 0xffff, di: rnd() & 0xffff };
      const [form, f] = pick(forms16);
      const disp = pick([0, (rnd() & 0xff) - 128, rnd() & 0xffff]);
      const ea = (f(r) + disp) & 0xffff;
      const val = rnd() & 0xffff;
      const text = `mov [ds:${form}${disp < 0 ? '-' + hex(-disp) : '+' + hex(disp)}], cx ; lea ax, [${form}${disp < 0 ? '-' + hex(-disp) : '+' + hex(disp)}]`;
      cases.push(text);
      lines.push(`  mov bx, ${hex(r.bx)}`, `  mov bp, ${hex(r.bp)}`, `  mov si, ${hex(r.si)}`, `  mov di, ${hex(r.di)}`,
        `  mov ecx, ${hex(val | (rnd() & 0xffff0000))}`, `  mov edx, 0`);
      lines.push('  ' + text.split(' ; ')[0], '  ' + text.split(' ; ')[1], `  mov dx, [${hex(ea)}]`, '  xor esi, esi', '  call dump');
    } else {
      const base = pick([...r32, 'none']);
      const index = pick([...r32.filter((x) => x !== base), 'none']);
      const scale = pick([1, 2, 4, 8]);
      const regs: Record<string, number> = {};
      for (const x of r32) regs[x] = x === base ? 0x100 + (rnd() % 0x3f00) : rnd() % 0x800;
      const disp = base === 'none' && index === 'none' ? 0x100 + (rnd() % 0x8000) : pick([0, (rnd() & 0x7f) - 64, rnd() % 0x4000]);
      let ea = disp;
      if (base !== 'none') ea += regs[base];
      if (index !== 'none') ea += regs[index] * scale;
      ea >>>= 0;
      if (ea > 0xfff0) { i--; lines.pop(); continue; }
      const parts: string[] = [];
      if (base !== 'none') parts.push(base);
      if (index !== 'none') parts.push(`${index}*${scale}`);
      parts.push(disp < 0 ? `-${hex(-disp)}` : hex(disp));
      const addr = parts.join('+').replace('+-', '-');
      const dst = pick(r32.filter((x) => x !== base && x !== index && x !== 'edx' && x !== 'esi'));
      const text = `a32 mov [ds:${addr}], ${dst} ; a32 lea edx, [${addr}]`;
      cases.push(text);
      for (const x of r32) lines.push(`  mov ${x}, ${hex(regs[x])}`);
      lines.push(`  mov ${dst}, ${hex(rnd())}`, `  mov [ds:${addr}], ${dst}`, `  lea esi, [${addr}]`, `  mov edx, [${hex(ea)}]`,
        '  mov eax, esi', `  mov ebx, ${dst}`, '  xor esi, esi', '  call dump');
    }
  }
  lines.push('  EXIT 0', 'dump:', '  HEX eax', '  HEX ebx', '  HEX ecx', '  HEX edx', '  HEX esi', '  NL', '  ret', 'LIBCODE', 'FOOTER');
  return { source: lines.join('\n') + '\n', cases };
}
