/**
 * Basic blocks of decoded instructions (block-cache.ts) and how the hot loop runs them:
 * where blocks end, the arena running full, interrupts raised in the middle of a block
 * taken at the next instruction boundary, stores into a later instruction of the running
 * block, and exact instruction counts with blocks on and off.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BLOCK_ENTRIES, BlockCache, MAX_BLOCK, blockSlot } from './block-cache.js';
import { DC_STRIDE } from './decode-cache.js';
import { CpuExit } from '../backend.js';
import { CODE, flat32, idtGate } from './test-support/harness.js';
import { TestBoard } from './test-support/board.js';

const HLT = 0xf4;

describe('block cache', () => {
  it('ends blocks at unconditional transfers, legacy instructions and the page end, not at Jcc', () => {
    const u8 = new Uint8Array(0x2000);
    // inc eax ; jz +0 ; inc ebx ; jmp +0 ; inc ecx
    u8.set([0x40, 0x74, 0x00, 0x43, 0xeb, 0x00, 0x41], 0x100);
    // inc eax ; cli (legacy) ; inc ebx
    u8.set([0x40, 0xfa, 0x43], 0x200);
    // inc eax ; inc ebx at the end of the page
    u8.set([0x40, 0x43], 0xffe);
    u8.fill(0x90, 0x300, 0x300 + MAX_BLOCK + 5); // nops
    const bc = new BlockCache(new Int32Array(16 * MAX_BLOCK * DC_STRIDE));
    const count = (off: number): number => {
      const e = blockSlot(off);
      bc.build(e, u8, off, true, 0);
      return bc.count[e];
    };
    expect(count(0x100)).toBe(4);
    expect(count(0x200)).toBe(2);
    expect(count(0xffe)).toBe(2);
    expect(count(0x300)).toBe(MAX_BLOCK);
  });

  it('drops every block when the arena is full', () => {
    const u8 = new Uint8Array(0x1000).fill(0x90);
    const bc = new BlockCache(new Int32Array(3 * MAX_BLOCK * DC_STRIDE));
    const offs = [0x000, 0x400, 0x800, 0xc00];
    for (const off of offs) bc.build(blockSlot(off), u8, off, true, 0);
    expect(bc.tag[blockSlot(0x000)]).toBe(-1);
    expect(bc.tag[blockSlot(0xc00)]).toBe(0xc00);
    expect(bc.start[blockSlot(0xc00)]).toBe(0);
  });

  it('uses a directory mask matching BLOCK_ENTRIES', () => {
    expect(blockSlot(BLOCK_ENTRIES - 1)).toBe(BLOCK_ENTRIES - 1);
    expect(blockSlot(BLOCK_ENTRIES)).toBe(1);
    const src = readFileSync(fileURLToPath(new URL('./block-cache.ts', import.meta.url)), 'utf8');
    expect(src).toContain(`& 0x${(BLOCK_ENTRIES - 1).toString(16)};`);
  });
});

describe('running blocks', () => {
  it('takes an interrupt raised by an MMIO store at the boundary right after the store', () => {
    for (const cache of [true, false]) {
      let b: TestBoard | undefined = undefined;
      // mov [0xfee00000], eax ; inc ecx ; inc ecx ; hlt (one block)
      // handler at 0x2000: mov edx, ecx ; mov ebx, [esp] ; iret
      b = flat32([0xa3, 0x00, 0x00, 0xe0, 0xfe, 0x41, 0x41, HLT], {
        mmioWrite: () => { b?.irq.queue.push(0x30); b?.cpu.pollInterrupts(); },
      });
      b.cpu.decodeCacheEnabled = cache;
      b.mem.u8.set([0x89, 0xca, 0x8b, 0x1c, 0x24, 0xcf], 0x2000);
      idtGate(b, 0x20000, 0x30, 0x2000);
      b.cpu.idtBase = 0x20000; b.cpu.idtLimit = 0x7ff;
      b.cpu.setRegs({ eflags: 0x202, ecx: 0, edx: 0x55 });
      expect(b.cpu.run(100)).toBe(CpuExit.Halt);
      const r = b.cpu.getRegs();
      expect(r.edx, `cache ${cache}`).toBe(0);
      expect(r.ebx, `cache ${cache}`).toBe(CODE + 5);
      expect(r.ecx).toBe(2);
    }
  });

  it('sees a store into a later instruction of the block it is running', () => {
    // mov byte [P+1], 7 ; inc ecx ; inc ecx ; P: mov eax, 1 ; hlt
    const P = CODE + 7 + 2;
    const b = flat32([0xc6, 0x05, (P + 1) & 0xff, (P + 1) >> 8, 0, 0, 7, 0x41, 0x41, 0xb8, 1, 0, 0, 0, HLT]);
    // Run it once unpatched (decoding the block), then again from the top.
    b.mem.u8[CODE + 6] = 1;
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().eax).toBe(1);
    b.mem.u8[CODE + 6] = 7;
    b.mem.codeWatch.notifyWrite(CODE + 6, 1);
    b.cpu.halted = false;
    b.cpu.setRegs({ eip: CODE });
    b.mem.u8[P + 1] = 1;
    b.mem.codeWatch.notifyWrite(P + 1, 1);
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().eax).toBe(7);
  });

  it('stops at exactly the requested instruction count inside a block', () => {
    const code = [...new Array(40).fill(0x41), HLT]; // inc ecx x 40
    for (const cache of [true, false]) {
      const b = flat32(code);
      b.cpu.decodeCacheEnabled = cache;
      for (const n of [1, 7, 13]) {
        const before = b.cpu.instructionsRetired;
        b.cpu.run(n);
        expect(b.cpu.instructionsRetired - before).toBe(n);
      }
      expect(b.cpu.getRegs().ecx).toBe(21);
      expect(b.cpu.getRegs().eip).toBe(CODE + 21);
    }
  });
});
