/** Decoder/executor of the primary map (exec.ts): faults, strings, stack frames, #UD logging. */
import { describe, expect, it } from 'vitest';
import { CpuExit } from '../backend.js';
import { realMode, realModeHandler } from './test-support/harness.js';

describe('primary opcode map', () => {
  it('DIV by zero raises #DE with registers unchanged and IP at the DIV', () => {
    // mov cl,0 ; mov ax,1234h ; div cl ; hlt
    const b = realMode([0xb1, 0x00, 0xb8, 0x34, 0x12, 0xf6, 0xf1, 0xf4]);
    realModeHandler(b, 0, 0x2000, [0xbb, 0xad, 0xde, 0xf4]); // mov bx,0xdead ; hlt
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    const r = b.cpu.getRegs();
    expect(r.ebx & 0xffff).toBe(0xdead);
    expect(r.eax & 0xffff).toBe(0x1234);
    expect(b.mem.view.getUint16(0x8000 - 6, true)).toBe(0x1005);
  });

  it('IDIV overflow (-128 / -1 in 8 bits) raises #DE', () => {
    // mov ax,0xff80 ; mov cl,0xff ; idiv cl ; hlt
    const b = realMode([0xb8, 0x80, 0xff, 0xb1, 0xff, 0xf6, 0xf9, 0xf4]);
    realModeHandler(b, 0, 0x2000, [0xbb, 0x01, 0x00, 0xf4]);
    b.cpu.run(100);
    expect(b.cpu.getRegs().ebx & 0xffff).toBe(1);
  });

  it('unimplemented opcodes raise #UD, are logged once, and never throw to the host', () => {
    // 0f 0f ; 0f 0f ; hlt   (3DNow! is not implemented)
    const b = realMode([0x0f, 0x0f, 0x0f, 0x0f, 0xf4]);
    // handler: inc si ; push bp ; mov bp,sp ; add word [bp+2],2 ; pop bp ; iret
    realModeHandler(b, 6, 0x2000, [0x46, 0x55, 0x89, 0xe5, 0x83, 0x46, 0x02, 0x02, 0x5d, 0xcf]);
    expect(b.cpu.run(100)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().esi).toBe(2);
    expect(b.warnings.filter((w) => w.includes('#UD'))).toHaveLength(1);
  });

  it('REP MOVSB copies and advances SI/DI; REPNE SCASB stops on a match', () => {
    // mov si,3000h ; mov di,4000h ; mov cx,5 ; rep movsb ; mov di,4000h ; mov al,'c' ; mov cx,5 ; repne scasb ; hlt
    const b = realMode([0xbe, 0x00, 0x30, 0xbf, 0x00, 0x40, 0xb9, 0x05, 0x00, 0xf3, 0xa4,
      0xbf, 0x00, 0x40, 0xb0, 0x63, 0xb9, 0x05, 0x00, 0xf2, 0xae, 0xf4]);
    b.mem.u8.set([0x61, 0x62, 0x63, 0x64, 0x65], 0x3000);
    b.cpu.run(100);
    expect([...b.mem.u8.subarray(0x4000, 0x4005)]).toEqual([0x61, 0x62, 0x63, 0x64, 0x65]);
    const r = b.cpu.getRegs();
    expect(r.esi).toBe(0x3005);
    expect(r.edi).toBe(0x4003);
    expect(r.ecx).toBe(2);
  });

  it('long REP STOSB yields to interrupts and resumes (restartable)', () => {
    // mov di,0 ; mov ax,2000h ; mov es,ax ; mov cx,0xffff ; mov al,0x5a ; rep stosb ; hlt
    const b = realMode([0xbf, 0x00, 0x00, 0xb8, 0x00, 0x20, 0x8e, 0xc0, 0xb9, 0xff, 0xff, 0xb0, 0x5a, 0xf3, 0xaa, 0xf4]);
    expect(b.cpu.run(8)).toBe(CpuExit.Yield);
    expect(b.cpu.getRegs().ecx).toBeGreaterThan(0);
    expect(b.cpu.run(1000)).toBe(CpuExit.Halt);
    expect(b.cpu.getRegs().ecx).toBe(0);
    expect(b.mem.u8[0x2fffe]).toBe(0x5a);
    expect(b.mem.u8[0x2ffff]).toBe(0);
  });

  it('ENTER with nesting level and LEAVE', () => {
    // mov bp,1234h ; enter 8,2 ; mov dx,sp ; leave ; hlt
    const b = realMode([0xbd, 0x34, 0x12, 0xc8, 0x08, 0x00, 0x02, 0x89, 0xe2, 0xc9, 0xf4]);
    b.cpu.run(100);
    const r = b.cpu.getRegs();
    expect(r.edx).toBe(0x7ff2);
    expect(b.mem.view.getUint16(0x7ffa, true)).toBe(0x7ffe);
    expect(r.ebp & 0xffff).toBe(0x1234);
    expect(r.esp & 0xffff).toBe(0x8000);
  });

  it('PUSHA/POPA, LAHF/SAHF, XLAT, far CALL/RETF', () => {
    // mov ax,0xd5ff ; sahf ; lahf ; pusha ; mov ax,0 ; popa ; mov bx,3000h ; mov al,2 ; xlat ;
    // call far 0000:2000 ; hlt      (2000: mov cx,7 ; retf)
    const b = realMode([0xb8, 0xff, 0xd5, 0x9e, 0x9f, 0x60, 0xb8, 0x00, 0x00, 0x61, 0xbb, 0x00, 0x30, 0xb0, 0x02, 0xd7,
      0x9a, 0x00, 0x20, 0x00, 0x00, 0xf4]);
    b.mem.u8.set([0x10, 0x11, 0x12], 0x3000);
    b.mem.u8.set([0xb9, 0x07, 0x00, 0xcb], 0x2000);
    b.cpu.run(100);
    const r = b.cpu.getRegs();
    expect(r.eax & 0xff).toBe(0x12);
    expect((r.eax >> 8) & 0xff).toBe(0xd7);
    expect(r.ecx).toBe(7);
    expect(r.esp).toBe(0x8000);
  });

  it('segment-override and operand/address-size prefixes', () => {
    // mov ax,1000h ; mov fs,ax ; mov eax,[fs:ebx*2+0x10] (64 67 66 8b 04 5d 10 00 00 00) with ebx=8 ; hlt
    const b = realMode([0xb8, 0x00, 0x10, 0x8e, 0xe0, 0x66, 0xbb, 0x08, 0x00, 0x00, 0x00,
      0x64, 0x67, 0x66, 0x8b, 0x04, 0x5d, 0x10, 0x00, 0x00, 0x00, 0xf4]);
    b.mem.view.setUint32(0x10000 + 0x20, 0xcafebabe, true);
    b.cpu.run(100);
    expect(b.cpu.getRegs().eax).toBe(0xcafebabe);
  });
});
