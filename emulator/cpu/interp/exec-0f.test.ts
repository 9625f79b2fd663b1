/** The 0F map: CPUID feature configuration, MSRs, SYSENTER/SYSEXIT, CMPXCHG8B, BSWAP. */
import { describe, expect, it } from 'vitest';
import { cpuid, cpuidLeaf1Edx, DEFAULT_FEATURES } from './features.js';
import { flat32, idtGate } from './test-support/harness.js';

describe('CPUID', () => {
  it('reports only the configured units', () => {
    const bare = cpuidLeaf1Edx({ ...DEFAULT_FEATURES, fpu: false, mmx: false, fxsr: false, sse: false, sse2: false });
    expect(bare & 1).toBe(0);
    expect(bare & (1 << 25)).toBe(0);
    expect(bare & (1 << 9)).toBe(0); // no APIC unless the board has one
    expect(bare & (1 << 11)).not.toBe(0); // SEP
    const withApic = cpuidLeaf1Edx({ ...DEFAULT_FEATURES, apic: true });
    expect(withApic & (1 << 9)).not.toBe(0);
    expect(withApic & 1).toBe(1);
    const out = new Int32Array(4);
    cpuid({ ...DEFAULT_FEATURES, nx: false }, 0x80000001, out);
    expect(out[3] & (1 << 20)).toBe(0);
  });

  it('CPUID instruction fills EAX..EDX', () => {
    // xor eax,eax ; cpuid ; hlt
    const b = flat32([0x31, 0xc0, 0x0f, 0xa2, 0xf4], { features: { sse: false } });
    b.cpu.run(10);
    const r = b.cpu.getRegs();
    expect(r.eax).toBe(2);
    expect(Buffer.from(new Uint32Array([r.ebx, r.edx, r.ecx]).buffer).toString('latin1')).toBe('GenuineIntel');
  });
});

describe('MSRs and fast system calls', () => {
  it('WRMSR/RDMSR round-trip; unknown MSR raises #GP(0)', () => {
    // mov ecx,0x175 ; mov eax,0x12345678 ; xor edx,edx ; wrmsr ; xor eax,eax ; rdmsr ; mov esi,eax ;
    // mov ecx,0x3a0 ; rdmsr ; hlt            #GP handler: pop edi ; hlt
    const b = flat32([0xb9, 0x75, 0x01, 0x00, 0x00, 0xb8, 0x78, 0x56, 0x34, 0x12, 0x31, 0xd2, 0x0f, 0x30, 0x31, 0xc0,
      0x0f, 0x32, 0x89, 0xc6, 0xb9, 0xa0, 0x03, 0x00, 0x00, 0x0f, 0x32, 0xf4]);
    b.mem.u8.set([0x5f, 0xbf, 0x77, 0x00, 0x00, 0x00, 0xf4], 0x2000); // pop edi ; mov edi,0x77 ; hlt
    idtGate(b, 0x20000, 13, 0x2000);
    b.cpu.idtBase = 0x20000; b.cpu.idtLimit = 0x7ff;
    b.cpu.run(100);
    const r = b.cpu.getRegs();
    expect(r.esi).toBe(0x12345678);
    expect(r.edi).toBe(0x77);
    expect(b.warnings.some((w) => w.includes('0x3a0'))).toBe(true);
  });

  it('SYSENTER / SYSEXIT switch to flat ring 0 / ring 3', () => {
    const b = flat32([
      0xb9, 0x74, 0x01, 0x00, 0x00, 0xb8, 0x08, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, // SYSENTER_CS = 8
      0xb9, 0x75, 0x01, 0x00, 0x00, 0xb8, 0x00, 0x90, 0x00, 0x00, 0x0f, 0x30, // SYSENTER_ESP = 0x9000
      0xb9, 0x76, 0x01, 0x00, 0x00, 0xb8, 0x00, 0x30, 0x00, 0x00, 0x0f, 0x30, // SYSENTER_EIP = 0x3000
      0xba, 0x00, 0x20, 0x00, 0x00, 0xb9, 0x00, 0x70, 0x00, 0x00, 0x0f, 0x35, // edx=0x2000 ecx=0x7000 sysexit
    ]);
    b.mem.u8.set([0x0f, 0x34], 0x2000); // ring 3: sysenter
    b.mem.u8.set([0xf4], 0x3000); // ring 0: hlt
    b.cpu.run(100);
    const r = b.cpu.getRegs();
    expect(r.eip).toBe(0x3001);
    expect(r.cs).toBe(8);
    expect(r.ss).toBe(0x10);
    expect(r.esp).toBe(0x9000);
    expect(b.cpu.cpl).toBe(0);
  });

  it('CMPXCHG8B and BSWAP', () => {
    // mov eax,1 ; xor edx,edx ; mov ebx,0xaabbccdd ; mov ecx,0x11223344 ; cmpxchg8b [0x4000] ; setz bl... use bswap
    const b = flat32([0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xd2, 0xbb, 0xdd, 0xcc, 0xbb, 0xaa, 0xb9, 0x44, 0x33, 0x22, 0x11,
      0x0f, 0xc7, 0x0d, 0x00, 0x40, 0x00, 0x00, 0x0f, 0xce, 0xf4]); // ... ; bswap esi ; hlt
    b.mem.view.setUint32(0x4000, 1, true);
    b.cpu.r32[6] = 0x01020304;
    b.cpu.run(100);
    expect(b.mem.view.getUint32(0x4000, true)).toBe(0xaabbccdd);
    expect(b.mem.view.getUint32(0x4004, true)).toBe(0x11223344);
    expect(b.cpu.getRegs().eflags & 0x40).toBe(0x40);
    expect(b.cpu.getRegs().esi).toBe(0x04030201);
  });
});
