/** Debug registers (debug-registers.ts): instruction and data breakpoints, DR6, RF, GD, and no cost while disabled. */
import { describe, expect, it } from 'vitest';
import { CpuExit } from '../backend.js';
import { CODE, flat32, idtGate } from './test-support/harness.js';
import type { TestBoard } from './test-support/board.js';
import { CR4_DE, RF } from './state.js';
import { DataWatch, configureWatch, watchHits } from './debug-registers.js';

const HLT = 0xf4;
const IDT = 0x3000;
/** #DB handler: inc esi ; or dword [esp+8], RF ; iret. */
const DB_HANDLER = [0x46, 0x81, 0x4c, 0x24, 0x08, 0x00, 0x00, 0x01, 0x00, 0xcf];

function board(code: number[]): TestBoard {
  const b = flat32(code);
  b.cpu.idtBase = IDT; b.cpu.idtLimit = 0x7ff;
  b.mem.u8.set(DB_HANDLER, 0x2000);
  idtGate(b, IDT, 1, 0x2000);
  b.cpu.r32[6] = 0;
  return b;
}

describe('debug registers', () => {
  it('an instruction breakpoint faults before the instruction; RF lets it run once', () => {
    // nop ; inc ebx ; hlt  — breakpoint on inc ebx
    const b = board([0x90, 0x43, HLT]);
    b.cpu.dr[0] = CODE + 1;
    b.cpu.dr[7] = 1;
    b.cpu.updateDebugState();
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.r32[6]).toBe(1); // one #DB
    expect(b.cpu.r32[3]).toBe(1); // inc ebx ran once
    expect(b.cpu.dr[6] & 0xf).toBe(1);
    expect(b.mem.view.getUint32(0x80000 - 12, true)).toBe(CODE + 1); // pushed EIP: at the instruction
    expect(b.cpu.flags & RF).toBe(0);
  });

  it('data breakpoints are traps after the access; write-only ones ignore reads', () => {
    // mov eax,[0x900] ; mov [0x902],al ; mov [0x904],eax ; hlt
    const b = board([0xa1, 0x00, 0x09, 0, 0, 0xa2, 0x02, 0x09, 0, 0, 0xa3, 0x04, 0x09, 0, 0, HLT]);
    b.cpu.dr[1] = 0x900;
    b.cpu.dr[7] = (1 << 2) | (0x1 << 20) | (0x3 << 22); // L1, write, 4 bytes
    b.cpu.updateDebugState();
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.r32[6]).toBe(1);
    expect(b.mem.view.getUint32(0x80000 - 12, true)).toBe(CODE + 10); // after mov [0x902],al
    expect(b.cpu.dr[6] & 0xf).toBe(2);
  });

  it('matches by overlap with the length-aligned range', () => {
    const w = new DataWatch();
    const dr = new Int32Array(8);
    dr[2] = 0x911; // aligned down to 0x910 for 2 bytes
    dr[7] = (1 << 4) | (0x3 << 24) | (0x1 << 26); // L2, read/write, 2 bytes
    configureWatch(w, dr);
    expect(watchHits(w, 0x911, 1, false)).toBe(4);
    expect(watchHits(w, 0x90e, 4, true)).toBe(4);
    expect(watchHits(w, 0x912, 4, false)).toBe(0);
    expect(watchHits(w, 0x90c, 4, false)).toBe(0);
    dr[7] = (0x3 << 24) | (0x1 << 26); // not enabled
    configureWatch(w, dr);
    expect(w.active).toBe(false);
  });

  it('general detect: MOV DRn with DR7.GD is a #DB fault with BD set and GD cleared', () => {
    // mov eax,dr0 ; hlt
    const b = board([0x0f, 0x21, 0xc0, HLT]);
    b.cpu.dr[0] = 0x1234;
    b.cpu.dr[7] = 0x2000 | 0x400;
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.r32[6]).toBe(1);
    expect(b.cpu.dr[6] & 0x2000).toBe(0x2000);
    expect(b.cpu.dr[7] & 0x2000).toBe(0);
    expect(b.cpu.r32[0]).toBe(0x1234);
  });

  it('DR4/DR5 alias DR6/DR7 unless CR4.DE, which makes them #UD', () => {
    // mov eax,dr5 ; hlt
    const b = board([0x0f, 0x21, 0xe8, HLT]);
    b.cpu.dr[7] = 0x455;
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.r32[0] >>> 0).toBe(0x455);
    const u = board([0x0f, 0x21, 0xe8, HLT]);
    u.cpu.writeCr4(CR4_DE);
    idtGate(u, IDT, 6, 0x2100);
    u.mem.u8.set([0xbe, 6, 0, 0, 0, HLT], 0x2100);
    expect(u.cpu.run(100)).toBe(CpuExit.Halt);
    expect(u.cpu.r32[6]).toBe(6);
  });

  it('with no breakpoint enabled, breakpoint addresses alone change nothing', () => {
    const b = board([0x90, 0x43, HLT]);
    b.cpu.dr[0] = CODE + 1;
    b.cpu.dr[7] = 0x30000; // R/W0 = 11 but L0/G0 clear
    b.cpu.updateDebugState();
    expect(b.cpu.debugActive).toBe(false);
    expect(b.cpu.watch.active).toBe(false);
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.r32[6]).toBe(0);
  });
});
