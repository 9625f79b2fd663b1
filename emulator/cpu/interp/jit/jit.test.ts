/**
 * The block translator (jit/): generated code for sample blocks, and differential runs
 * against the fetch-and-decode path (decodeCacheEnabled = false) - registers, EFLAGS,
 * memory and the retired-instruction count compared at every slice boundary of runs cut
 * into random slices: randomized instruction mixes in a hot loop, precise page faults in
 * the middle of compiled blocks, and stores into the running compiled block.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { CODE, flat32, idtGate } from '../test-support/harness.js';
import { assemble } from '../test-support/guests.js';
import { prng } from '../test-support/random-guest.js';
import type { TestBoard } from '../test-support/board.js';
import { BlockCache, blockSlot } from '../block-cache.js';
import { DC_STRIDE, F_O32 } from '../decode-cache.js';
import { translateBlock } from './block-compiler.js';
import { DEFAULT_JIT_THRESHOLD, jitOptionsFromEnv } from './jit-cache.js';

const nasmMissing = spawnSync('nasm', ['-v'], { stdio: 'ignore' }).status !== 0;

/** Board with `code` in flat 32-bit mode; `jit` = threshold, or 0 for the fetch-and-decode path. */
function board(code: Uint8Array, jit: number, ramBytes = 8 << 20): TestBoard {
  const b = flat32(Array.from(code), { ramBytes });
  if (jit > 0) b.cpu.setJit({ threshold: jit });
  else { b.cpu.setJit(false); b.cpu.decodeCacheEnabled = false; }
  b.cpu.idtBase = 0x20000; b.cpu.idtLimit = 0x7ff;
  return b;
}

function state(b: TestBoard): string {
  const r = b.cpu.getRegs();
  return JSON.stringify({ ...r, eflags: r.eflags, n: b.cpu.instructionsRetired, halted: b.cpu.halted });
}

/**
 * Runs `code` on the reference path and with the translator at each threshold, in the same
 * random slices, comparing state at every slice boundary and memory at the end.
 */
function differential(code: Uint8Array, seed: number, setup?: (b: TestBoard) => void, maxSteps = 200_000): void {
  for (const threshold of [1, 3, 50]) {
    const ref = board(code, 0), jit = board(code, threshold);
    setup?.(ref); setup?.(jit);
    const rnd = prng(seed * 7 + threshold);
    let steps = 0;
    while (!ref.cpu.halted && steps < maxSteps) {
      const slice = rnd() % 4 === 0 ? 1 + (rnd() % 5) : 1 + (rnd() % 200);
      ref.cpu.run(slice);
      jit.cpu.run(slice);
      steps += slice;
      const a = state(ref), c = state(jit);
      if (a !== c) expect.fail(`threshold ${threshold}, after ${steps} budgeted instructions:\n ref: ${a}\n jit: ${c}`);
    }
    expect(ref.cpu.halted).toBe(true);
    expect(jit.cpu.halted).toBe(true);
    const ru = ref.mem.u8, ju = jit.mem.u8;
    for (let i = 0; i < 0x100000; i++) {
      if (ru[i] !== ju[i]) expect.fail(`threshold ${threshold}: memory differs at ${i.toString(16)}: ${ru[i]} vs ${ju[i]}`);
    }
    if (threshold <= 3) expect(jit.cpu.jitCache?.compiled ?? 0).toBeGreaterThan(0);
  }
}

/** A random loop body: ALU, shifts, loads/stores of every width, stack ops, branches, calls. */
function randomBody(rnd: () => number, count: number): string {
  const pick = <T,>(a: readonly T[]): T => a[rnd() % a.length];
  const r32 = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi'] as const;
  const r16 = ['ax', 'bx', 'cx', 'dx', 'si', 'di'] as const;
  const r8 = ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh'] as const;
  const alu = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
  const cc = ['o', 'no', 'b', 'ae', 'z', 'nz', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;
  const imm = (): string => `0x${(rnd() % 3 === 0 ? pick([0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff]) : rnd()).toString(16)}`;
  const d = (): number => (rnd() % 0x100) * 4 + (rnd() % 4);
  const mem = (): string => (rnd() % 2 === 0 ? `[ebp + ${d()}]` : `[ebp + edi * ${pick([1, 2, 4])} + ${d()}]`);
  const lines: string[] = [];
  let label = 0;
  for (let i = 0; i < count; i++) {
    // Keep EDI (the index of memory operands) small.
    if (rnd() % 6 === 0) lines.push('and edi, 0x3f');
    const g = rnd() % 33;
    switch (g) {
      case 0: lines.push(`mov ${pick(r32)}, ${imm()}`); break;
      case 1: lines.push(`mov ${pick(r32)}, ${pick(r32)}`); break;
      case 2: lines.push(`${pick(alu)} ${pick(r32)}, ${rnd() % 2 ? pick(r32) : imm()}`); break;
      case 3: lines.push(`${pick(alu)} ${pick(r16)}, ${rnd() % 2 ? pick(r16) : `0x${(rnd() & 0xffff).toString(16)}`}`); break;
      case 4: lines.push(`${pick(alu)} ${pick(r8)}, ${rnd() % 2 ? pick(r8) : `0x${(rnd() & 0xff).toString(16)}`}`); break;
      case 5: lines.push('and edi, 0x3f', `mov ${pick(r32)}, dword ${mem()}`); break;
      case 6: lines.push('and edi, 0x3f', `mov dword ${mem()}, ${pick(r32)}`); break;
      case 7: lines.push('and edi, 0x3f', `mov word ${mem()}, ${pick(r16)}`); break;
      case 8: lines.push('and edi, 0x3f', `mov byte ${mem()}, ${pick(r8)}`); break;
      case 9: lines.push('and edi, 0x3f', `movzx ${pick(r32)}, ${pick(['byte', 'word'])} ${mem()}`); break;
      case 10: lines.push('and edi, 0x3f', `movsx ${pick(r32)}, ${pick(['byte', 'word'])} ${mem()}`); break;
      case 11: lines.push('and edi, 0x3f', `${pick(alu)} ${pick(r32)}, dword ${mem()}`); break;
      case 12: lines.push('and edi, 0x3f', `${pick(alu)} dword ${mem()}, ${rnd() % 2 ? pick(r32) : imm()}`); break;
      case 13: lines.push(`lea ${pick(r32)}, [${pick(r32)} + ${pick(r32)} * ${pick([1, 2, 4, 8])} + ${rnd() % 1000}]`); break;
      case 14: lines.push(`${pick(['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'])} ${pick(r32)}, ${rnd() % 2 ? 'cl' : String(rnd() % 32)}`); break;
      case 15: lines.push(`${pick(['shl', 'shr', 'sar'])} ${pick([...r16, ...r8])}, ${1 + (rnd() % 7)}`); break;
      case 16: lines.push(`${pick(['inc', 'dec', 'neg', 'not'])} ${pick([...r32, ...r16, ...r8])}`); break;
      case 17: lines.push(`imul ${pick(r32)}, ${pick(r32)}${rnd() % 2 ? `, ${rnd() % 1000 - 500}` : ''}`); break;
      case 18: lines.push(`test ${pick(r32)}, ${pick(r32)}`, `cmov${pick(cc)} ${pick(r32)}, ${pick(r32)}`); break;
      case 19: lines.push(`cmp ${pick(r32)}, ${pick(r32)}`, `set${pick(cc)} ${pick(r8)}`); break;
      case 20: lines.push(`push ${pick(r32)}`, `pop ${pick(r32)}`); break;
      case 21: lines.push(`push dword ${imm()}`, `pop ${pick(r32)}`); break;
      case 22: { // forward conditional branch
        const l = `.j${label++}`;
        lines.push(`${pick(alu)} ${pick(r32)}, ${pick(r32)}`, `j${pick(cc)} ${l}`, `add ${pick(r32)}, ${imm()}`, `${l}:`);
        break;
      }
      case 23: lines.push('call sub1'); break;
      case 24: lines.push(pick(['cdq', 'cwde', 'clc', 'stc', 'nop', `xchg eax, ${pick(r32)}`])); break;
      case 25: lines.push('pushf', `pop ${pick(r32)}`); break; // PUSHF is not a record: a cut block
      case 26: lines.push(`add ${pick(r16)}, ${pick(r16)}`, `adc ${pick(r32)}, ${pick(r32)}`); break;
      case 27: lines.push('and edi, 0x3f', `inc dword ${mem()}`, `not word ${mem()}`); break;
      case 28: lines.push('and edi, 0x3f', `shl dword ${mem()}, ${1 + (rnd() % 31)}`); break;
      case 29: lines.push('and edi, 0x3f', `push dword ${mem()}`, `pop ${pick(r32)}`); break;
      case 31: lines.push('and edi, 0x3f', pick([
        `mov dword ${mem()}, ${imm()}`, `mov word ${mem()}, 0x${(rnd() & 0xffff).toString(16)}`,
        `mov byte ${mem()}, 0x${(rnd() & 0xff).toString(16)}`, `mov ${pick(r8)}, byte ${mem()}`, `mov ${pick(r16)}, word ${mem()}`,
        `mov ${pick(r8)}, ${pick(r8)}`,
      ])); break;
      case 30: { // INC/DEC after a flag producer, then Jcc on their flags
        const l = `.j${label++}`;
        lines.push(`${pick(alu)} ${pick(r32)}, ${rnd() % 2 ? pick(r32) : imm()}`, `${pick(['inc', 'dec'])} ${pick(r32)}`,
          `j${pick(cc)} ${l}`, `xor ${pick(r32)}, ${imm()}`, `${l}:`);
        break;
      }
      default: lines.push(`${pick(['add', 'sub', 'xor', 'cmp'])} ${pick(r32)}, ${pick(r32)}`); break;
    }
  }
  return lines.join('\n');
}

describe('block translator: generated code', () => {
  it('translates a block with operands as literals and cuts before a legacy instruction', () => {
    const u8 = new Uint8Array(0x2000);
    // mov eax, [ebx + 8] ; add eax, ecx ; shl eax, 3 ; cli (legacy)
    u8.set([0x8b, 0x43, 0x08, 0x01, 0xc8, 0xc1, 0xe0, 0x03, 0xfa], 0x100);
    const bc = new BlockCache(new Int32Array(64 * DC_STRIDE));
    const e = blockSlot(0x100);
    bc.build(e, u8, 0x100, true, 0);
    const t = translateBlock(bc.arena, bc.start[e], bc.count[e]);
    expect(t.count).toBe(3);
    expect(t.source).toContain('(r32[3] + 0x8) | 0');
    expect(t.source).toContain('r = (x + y) | 0');
    expect(t.source).toContain('return 3;');
  });

  it('translates every record handler number', () => {
    const arena = new Int32Array(DC_STRIDE);
    for (let op = 1; op <= 76; op++) {
      arena[2] = op; arena[3] = 2; arena[4] = F_O32; arena[6] = 1;
      const t = translateBlock(arena, 0, 1);
      expect(t.count, `op ${op}`).toBe(1);
      expect(() => new Function(t.source), `op ${op}`).not.toThrow();
    }
  });

  it('does not translate a block that starts with a legacy instruction', () => {
    const u8 = new Uint8Array(0x2000);
    u8.set([0xfa, 0x40], 0x100); // cli ; inc eax
    const bc = new BlockCache(new Int32Array(64 * DC_STRIDE));
    const e = blockSlot(0x100);
    bc.build(e, u8, 0x100, true, 0);
    expect(translateBlock(bc.arena, bc.start[e], bc.count[e]).count).toBe(0);
  });
});

describe.skipIf(nasmMissing)(`block translator vs the interpreter${nasmMissing ? ' (skipped: nasm missing)' : ''}`, () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`random hot loop, seed ${seed}`, () => {
      const rnd = prng(seed);
      const source = [
        'bits 32', `org ${CODE}`,
        'mov ebp, 0x40000', 'mov dword [ebp + 0x1000], 25',
        `mov eax, 0x${rnd().toString(16)}`, `mov ebx, 0x${rnd().toString(16)}`, `mov ecx, 0x${rnd().toString(16)}`,
        `mov edx, 0x${rnd().toString(16)}`, `mov esi, 0x${rnd().toString(16)}`, 'xor edi, edi',
        'top:', randomBody(rnd, 120),
        'dec dword [ebp + 0x1000]', 'jnz top', 'hlt',
        'sub1:', 'add eax, ebx', 'xor edx, eax', 'ret',
      ].join('\n');
      const { image } = assemble(source, `jit-random-${seed}`);
      differential(image, seed);
    });
  }

  it('delivers page faults in the middle of compiled blocks at the faulting instruction', () => {
    const source = [
      'bits 32', `org ${CODE}`,
      'jmp main',
      `times 0x100 - ($ - $$) nop`,
      // #PF handler at CODE + 0x100: count, sum the faulting EIPs and CR2, map the page again.
      'push eax',
      'inc dword [0x30000]',
      'mov eax, [esp + 8]', 'add [0x30004], eax',
      'mov eax, cr2', 'add [0x30008], eax',
      'mov dword [0x12004], 0x401003',
      'pop eax', 'add esp, 4', 'iret',
      'main:',
      // Identity-map 8 MiB with two page tables at 0x11000 / 0x12000, directory at 0x10000.
      'mov edi, 0x11000', 'mov eax, 3', 'mov ecx, 2048',
      '.fill: mov [edi], eax', 'add eax, 0x1000', 'add edi, 4', 'dec ecx', 'jnz .fill',
      'mov dword [0x10000], 0x11003', 'mov dword [0x10004], 0x12003',
      'mov eax, 0x10000', 'mov cr3, eax', 'mov eax, cr0', 'or eax, 0x80000000', 'mov cr0, eax',
      'xor esi, esi', 'xor ebx, ebx', 'mov ecx, 300',
      'top:',
      'mov dword [0x12004], 0', 'invlpg [0x401000]',
      'add ebx, 3', 'mov eax, [0x401000 + esi * 4]', 'add ebx, eax', 'mov [0x401100 + esi * 4], ebx',
      'push ebx', 'movzx edx, word [0x401002 + esi]', 'pop edx', 'add ebx, edx',
      'inc esi', 'and esi, 0xf', 'dec ecx', 'jnz top',
      'hlt',
    ].join('\n');
    const { image } = assemble(source, 'jit-pf');
    differential(image, 11, (b) => { idtGate(b, 0x20000, 14, CODE + 0x100); }, 2_000_000);
    const b = board(image, 1);
    idtGate(b, 0x20000, 14, CODE + 0x100);
    for (let i = 0; i < 100 && !b.cpu.halted; i++) b.cpu.run(100_000);
    expect(b.mem.view.getUint32(0x30000, true)).toBe(300);
  });

  it('leaves a compiled block that stores into its own code', () => {
    // A hot loop that patches the immediate of an instruction later in the same block
    // every 8th iteration (in between, the block is compiled and runs compiled).
    const source = [
      'bits 32', `org ${CODE}`,
      'mov ecx, 200', 'xor ebx, ebx', 'xor edx, edx',
      'top:',
      'inc edx', 'test dl, 7', 'jnz .keep', 'mov [patch + 1], dl', '.keep:', 'add ebx, 1',
      'patch: mov eax, 0', 'add ebx, eax', 'dec ecx', 'jnz top',
      'hlt',
    ].join('\n');
    const { image } = assemble(source, 'jit-smc');
    differential(image, 5);
    const b = board(image, 1);
    b.cpu.run(100_000);
    // ebx = sum over i = 1..200 of (1 + the last multiple of 8 <= i, mod 256).
    let want = 0;
    for (let i = 1; i <= 200; i++) want += 1 + ((i & ~7) & 0xff);
    expect(b.cpu.getRegs().ebx).toBe(want);
  });

  it('runs 16-bit operand-size forms the same way', () => {
    const source = [
      'bits 32', `org ${CODE}`,
      'mov ecx, 100', 'xor eax, eax', 'mov ebp, 0x40000',
      'top:',
      'add ax, cx', 'mov [ebp + 4], ax', 'push ax', 'pop dx', 'movzx ebx, word [ebp + 4]', 'inc dx', 'mov si, 0x1234',
      'ret_test: call sub16', 'dec ecx', 'jnz top', 'hlt',
      'sub16: add bx, dx', 'ret',
    ].join('\n');
    const { image } = assemble(source, 'jit-o16');
    differential(image, 6);
  });
});

describe('jitOptionsFromEnv', () => {
  const saved = { ...process.env };
  afterEach(() => { process.env = { ...saved }; });

  it('is on by default, off with VIREO_JIT=0, and reads the threshold', () => {
    delete process.env['VIREO_JIT'];
    delete process.env['VIREO_JIT_HOT'];
    expect(jitOptionsFromEnv()).toMatchObject({ threshold: DEFAULT_JIT_THRESHOLD });
    process.env['VIREO_JIT_HOT'] = '7';
    expect(jitOptionsFromEnv()).toMatchObject({ threshold: 7 });
    process.env['VIREO_JIT'] = '0';
    expect(jitOptionsFromEnv()).toBe(false);
  });
});
