/**
 * The decoded-instruction cache: self-modifying code (same page, other page, DMA through
 * GuestMemory.notifyWrite), invalidation through the fetch TLB on CR0/CR3/CR4 and PhysMap
 * remaps, agreement of the literals in exec-cached.ts with decode-cache.ts, and identical
 * results with the cache on and off (SeaBIOS, a randomized run split into slices).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as dc from './decode-cache.js';
import { CpuExit } from '../backend.js';
import { TestBoard } from './test-support/board.js';
import { CODE, flat32 } from './test-support/harness.js';
import { CR0_PG, CR4_PSE } from './state.js';

const HLT = 0xf4;

/** Runs until HLT (leaving an earlier HLT first). */
function runToHalt(b: TestBoard): void {
  b.cpu.halted = false;
  const exit = b.cpu.run(100_000);
  expect(exit).toBe(CpuExit.Halt);
}

describe('decode cache: self-modifying code', () => {
  it('sees a store into the next instruction on the same page', () => {
    // L: mov [P+1], dl ; P: mov eax, 1 ; add ebx, eax ; inc edx ; dec ecx ; jnz L ; hlt
    const P = CODE + 6;
    const code = [
      0x88, 0x15, (P + 1) & 0xff, (P + 1) >> 8, 0, 0, // mov [P+1], dl
      0xb8, 1, 0, 0, 0, // P: mov eax, 1
      0x01, 0xc3, // add ebx, eax
      0x42, // inc edx
      0x49, // dec ecx
      0x75, 0x100 - 17, // jnz L
      HLT,
    ];
    const b = flat32(code);
    b.cpu.setRegs({ ecx: 3, edx: 1, ebx: 0 });
    runToHalt(b);
    expect(b.cpu.getRegs().ebx).toBe(1 + 2 + 3);
  });

  it('sees a store into an instruction executed (and cached) earlier', () => {
    // L: mov eax, 1 ; add ebx, eax ; mov byte [L+1], 7 ; dec ecx ; jnz L ; hlt
    const code = [
      0xb8, 1, 0, 0, 0,
      0x01, 0xc3,
      0xc6, 0x05, (CODE + 1) & 0xff, (CODE + 1) >> 8, 0, 0, 7,
      0x49,
      0x75, 0x100 - 17,
      HLT,
    ];
    const b = flat32(code);
    b.cpu.setRegs({ ecx: 2, ebx: 0 });
    runToHalt(b);
    expect(b.cpu.getRegs().ebx).toBe(1 + 7);
  });

  it('sees a store into a cached routine on another page', () => {
    // 0x1000: call 0x3000 ; add ebx, eax ; mov byte [0x3001], 9 ; dec ecx ; jnz 0x1000 ; hlt
    // 0x3000: mov eax, 2 ; ret
    const rel = 0x3000 - (CODE + 5);
    const code = [
      0xe8, rel & 0xff, (rel >> 8) & 0xff, 0, 0,
      0x01, 0xc3,
      0xc6, 0x05, 0x01, 0x30, 0, 0, 9,
      0x49,
      0x75, 0x100 - 17,
      HLT,
    ];
    const b = flat32(code);
    b.mem.u8.set([0xb8, 2, 0, 0, 0, 0xc3], 0x3000);
    b.cpu.setRegs({ ecx: 2, ebx: 0 });
    runToHalt(b);
    expect(b.cpu.getRegs().ebx).toBe(2 + 9);
  });

  it('drops decoded code written by DMA when the writer calls notifyWrite', () => {
    const b = flat32([0xb8, 1, 0, 0, 0, HLT]); // mov eax, 1 ; hlt
    runToHalt(b);
    expect(b.cpu.getRegs().eax).toBe(1);
    // A device writes new code without going through the CPU.
    b.mem.u8.set([0xb8, 5, 0, 0, 0, HLT], CODE);
    b.mem.notifyWrite(CODE, 6);
    b.cpu.setRegs({ eip: CODE });
    runToHalt(b);
    expect(b.cpu.getRegs().eax).toBe(5);
  });

  it('drops decoded code after CodeWatch.invalidateAll and a CPU reset', () => {
    const b = flat32([0xb8, 1, 0, 0, 0, HLT]);
    runToHalt(b);
    b.mem.u8[CODE + 1] = 3;
    b.mem.codeWatch.invalidateAll();
    b.cpu.setRegs({ eip: CODE });
    runToHalt(b);
    expect(b.cpu.getRegs().eax).toBe(3);
  });
});

/** Page directory at 0x10000, page table at 0x11000: linear 0x400000 -> physical `target`. */
function mapCodePage(b: TestBoard, pd: number, target: number): void {
  const v = b.mem.view;
  // Identity-map the first 4 MiB with a page table at pd + 0x1000 (code at 0x1000, stack).
  v.setUint32(pd, (pd + 0x1000) | 3, true);
  for (let i = 0; i < 1024; i++) v.setUint32(pd + 0x1000 + i * 4, (i << 12) | 3, true);
  // Linear 0x400000 through a second page table at pd + 0x2000.
  v.setUint32(pd + 4, (pd + 0x2000) | 3, true);
  v.setUint32(pd + 0x2000, target | 3, true);
}

describe('decode cache: invalidation through the fetch TLB', () => {
  const A = 0x20000, B = 0x21000, LIN = 0x400000;

  function board(): TestBoard {
    const b = flat32([HLT], { ramBytes: 16 << 20 });
    b.mem.u8.set([0xb8, 0xa, 0, 0, 0, HLT], A); // mov eax, 0xa ; hlt
    b.mem.u8.set([0xb8, 0xb, 0, 0, 0, HLT], B); // mov eax, 0xb ; hlt
    b.mem.u8.set([0xb8, 0xc, 0, 0, 0, HLT], LIN); // mov eax, 0xc ; hlt (paging off)
    return b;
  }

  function runAt(b: TestBoard, eip: number): number {
    b.cpu.setRegs({ eip });
    runToHalt(b);
    return b.cpu.getRegs().eax;
  }

  it('follows CR3 switches', () => {
    const b = board();
    mapCodePage(b, 0x30000, A);
    mapCodePage(b, 0x40000, B);
    b.cpu.setRegs({ cr3: 0x30000 });
    b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
    expect(runAt(b, LIN)).toBe(0xa);
    b.cpu.setRegs({ cr3: 0x40000 });
    expect(runAt(b, LIN)).toBe(0xb);
    b.cpu.setRegs({ cr3: 0x30000 });
    expect(runAt(b, LIN)).toBe(0xa);
  });

  it('follows CR0.PG on and off', () => {
    const b = board();
    mapCodePage(b, 0x30000, A);
    b.cpu.setRegs({ cr3: 0x30000 });
    expect(runAt(b, LIN)).toBe(0xc);
    b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
    expect(runAt(b, LIN)).toBe(0xa);
    b.cpu.writeCr0(b.cpu.cr0 & ~CR0_PG);
    expect(runAt(b, LIN)).toBe(0xc);
  });

  it('follows CR4.PSE changing how a directory entry is read', () => {
    const b = board();
    const v = b.mem.view;
    mapCodePage(b, 0x30000, A);
    // PDE 1 with PS set: with PSE a 4 MiB page at 0x800000 (code there: mov eax, 0xd); without
    // PSE a page table at 0x800000 whose entry 0 maps physical B.
    v.setUint32(0x30000 + 4, 0x800000 | 0x80 | 3, true);
    b.mem.u8.set([0xb8, 0xd, 0, 0, 0, HLT], 0x800000 + 0x100);
    v.setUint32(0x800000, B | 3, true);
    b.cpu.setRegs({ cr3: 0x30000 });
    b.cpu.writeCr0(b.cpu.cr0 | CR0_PG);
    b.cpu.writeCr4(b.cpu.cr4 | CR4_PSE);
    expect(runAt(b, LIN + 0x100)).toBe(0xd);
    b.cpu.writeCr4(b.cpu.cr4 & ~CR4_PSE);
    b.mem.u8.set([0xb8, 0xe, 0, 0, 0, HLT], B + 0x100);
    expect(runAt(b, LIN + 0x100)).toBe(0xe);
  });

  it('follows PhysMap remaps of the code page (PhysMap.generation)', () => {
    const b = board();
    // Guest page 0x50 -> backing page of A, then -> backing page of B.
    b.physMap.map(0x50, 1, A >>> 12, true);
    expect(runAt(b, 0x50000)).toBe(0xa);
    b.physMap.map(0x50, 1, B >>> 12, true);
    expect(runAt(b, 0x50000)).toBe(0xb);
  });

  it('keys by backing store, so aliases of one page see each other\'s stores', () => {
    const b = board();
    b.physMap.map(0x50, 1, A >>> 12, true);
    expect(runAt(b, 0x50000)).toBe(0xa);
    // Store through the other alias (physical A itself).
    const patch = [0xc6, 0x05, 0x01, 0x00, 0x02, 0x00, 0x0f, HLT]; // mov byte [A+1], 0x0f ; hlt
    b.mem.u8.set(patch, 0x6000);
    expect(runAt(b, 0x6000)).toBe(0xa);
    expect(runAt(b, 0x50000)).toBe(0xf);
  });
});

describe('decode cache: same results with the cache on and off', () => {
  /** A loop mixing loads, stores, ALU, stack, branches, 16-bit prefixes and self-modification. */
  const body = [
    0x8b, 0x86, 0x00, 0x40, 0x00, 0x00, // mov eax, [esi+0x4000]
    0x01, 0xc8, // add eax, ecx
    0x66, 0x35, 0xaa, 0x55, // xor ax, 0x55aa
    0x89, 0x86, 0x00, 0x40, 0x00, 0x00, // mov [esi+0x4000], eax
    0x83, 0xc6, 0x04, // add esi, 4
    0x81, 0xe6, 0xfc, 0x0f, 0x00, 0x00, // and esi, 0xffc
    0x0f, 0xb6, 0x96, 0x01, 0x40, 0x00, 0x00, // movzx edx, byte [esi+0x4001]
    0x88, 0x15, 0xee, 0xee, 0x00, 0x00, // mov [PATCH], dl (the imm of `add edi` below)
    0x53, 0xd1, 0xe3, 0x5b, // push ebx ; shl ebx, 1 ; pop ebx
    0x0f, 0xaf, 0xc2, // imul eax, edx
    0xaa, // stosb (legacy path)
    0x81, 0xfa, 0x80, 0x00, 0x00, 0x00, // cmp edx, 0x80
    0x72, 0x01, 0x47, // jb +1 ; inc edi
    0x83, 0xc7, 0x01, // add edi, 1 (imm patched above)
    0x49, // dec ecx
  ];
  const LOOP = [...body, 0x75, (0x100 - body.length - 2) & 0xff, HLT]; // jnz top ; hlt
  const patch = CODE + body.length - 2; // the imm8 of `add edi, 1`
  const at = LOOP.indexOf(0xee);
  LOOP[at] = patch & 0xff;
  LOOP[at + 1] = patch >> 8;

  function machine(cache: boolean): TestBoard {
    const b = flat32(LOOP);
    b.cpu.decodeCacheEnabled = cache;
    for (let i = 0; i < 0x1000; i++) b.mem.u8[0x4000 + i] = (i * 37) & 0xff;
    b.cpu.setRegs({ ecx: 5000, esi: 0, edi: 0x9000, ebx: 0x1234 });
    return b;
  }

  it('retires the same instructions to the same state, however the run is sliced', () => {
    const whole = machine(true);
    const sliced = machine(true);
    const legacy = machine(false);
    const n = 150_000;
    whole.cpu.run(n);
    for (let done = 0, k = 1; done < n; k = (k * 7 + 3) % 997) {
      const step = Math.min(n - done, k);
      sliced.cpu.run(step);
      done += step;
    }
    legacy.cpu.run(n);
    for (const b of [sliced, legacy]) {
      expect(b.cpu.instructionsRetired).toBe(whole.cpu.instructionsRetired);
      expect(b.cpu.getRegs()).toEqual(whole.cpu.getRegs());
      expect(Buffer.from(b.mem.u8.subarray(0, 0x10000)).equals(Buffer.from(whole.mem.u8.subarray(0, 0x10000)))).toBe(true);
    }
  });

  const BIOS = '/usr/share/seabios/bios-256k.bin';
  it.skipIf(!existsSync(BIOS))('boots SeaBIOS identically with and without the cache', () => {
    const image = new Uint8Array(readFileSync(BIOS));
    const runs = [true, false].map((cache) => {
      const b = new TestBoard({ image, ramBytes: 64 << 20, lowWindowBytes: 128 * 1024, lowWindowWritable: true });
      b.cpu.decodeCacheEnabled = cache;
      const r = b.run(50_000_000);
      return { out: r.debug402, n: r.instructions, regs: b.cpu.getRegs() };
    });
    expect(runs[0].out).toContain('SeaBIOS');
    expect(runs[0]).toEqual(runs[1]);
  });
});

describe('decode cache: literals of the hot loop', () => {
  it('match the record layout and handler numbers of decode-cache.ts', () => {
    expect([dc.DC_TAG, dc.DC_GEN, dc.DC_OP, dc.DC_LEN, dc.DC_OPS, dc.DC_DISP, dc.DC_IMM]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([dc.F_MEM, dc.F_A16, dc.F_O32, dc.F_CL]).toEqual([0x200000, 0x400000, 0x800000, 0x1000000]);
    expect([dc.REG_MASK, dc.SUB_SHIFT, dc.BASE_SHIFT, dc.INDEX_SHIFT, dc.SCALE_SHIFT, dc.SEG_SHIFT, dc.NO_REG])
      .toEqual([7, 4, 8, 12, 16, 18, 8]);
    expect(dc.DC_STRIDE).toBe(8);
    const src = readFileSync(fileURLToPath(new URL('./exec-cached.ts', import.meta.url)), 'utf8');
    const cases = [...src.matchAll(/case (\d+): \/\* (OP_\w+) \*\//g)];
    expect(cases.length).toBeGreaterThan(50);
    const table = dc as unknown as Record<string, number>;
    for (const [, num, name] of cases) expect(`${name}=${table[name]}`).toBe(`${name}=${num}`);
  });

  it('records instructions that cross a page as legacy and prefixed/unsupported ones too', () => {
    const u8 = new Uint8Array(0x2000);
    const c = new Int32Array(dc.DC_STRIDE);
    u8.set([0xb8, 1, 2], 0xffd); // mov eax, imm32 crossing into the next page
    dc.decodeInstr(u8, 0xffd, true, c, 0);
    expect(c[dc.DC_OP]).toBe(dc.OP_LEGACY);
    u8.set([0xf3, 0xa5], 0x100); // rep movsd
    dc.decodeInstr(u8, 0x100, true, c, 0);
    expect(c[dc.DC_OP]).toBe(dc.OP_LEGACY);
    u8.set([0x66, 0x8b, 0x44, 0x8e, 0xfc], 0x200); // mov ax, [esi+ecx*4-4]
    dc.decodeInstr(u8, 0x200, true, c, 0);
    expect(c[dc.DC_OP]).toBe(dc.OP_MOV_GE);
    expect(c[dc.DC_LEN]).toBe(5);
    expect(c[dc.DC_DISP]).toBe(-4);
    expect(c[dc.DC_OPS] & dc.F_O32).toBe(0);
  });
});
