import { describe, expect, it } from 'vitest';
import { CpuExit, type VmOps } from '../backend.js';
import { GuestMemory } from '../../memory/guest-memory.js';
import { PhysMap } from '../../memory/phys-map.js';
import { makeApics } from '../../devices/apic/test-harness.js';
import { InterpCpu } from './cpu.js';

const CODE = 0x1000;
const GP_HANDLER = 0x2000;
const HLT = 0xf4;
/** Real-mode encodings (operand-size prefix 66h for 32-bit registers). */
const movEax = (v: number): number[] => [0x66, 0xb8, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const movEcx = (v: number): number[] => [0x66, 0xb9, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const XOR_EDX = [0x66, 0x31, 0xd2];
const CPUID = [0x0f, 0xa2];
const RDMSR = [0x0f, 0x32];
const WRMSR = [0x0f, 0x30];

/** CPU `index` of a two-APIC harness, running real-mode code at 0000:1000; #GP handler at 0000:2000 halts. */
function setup(index: 0 | 1, withApic = true) {
  const h = makeApics(2, false);
  const mem = new GuestMemory(1 << 20, 4096);
  const physMap = new PhysMap();
  physMap.map(0, 256, 0, true);
  const ops: VmOps = { pioRead: () => 0xff, pioWrite: () => {}, mmioRead: () => 0xffff_ffff, mmioWrite: () => {} };
  const cpu = new InterpCpu({
    mem, physMap, ops, interrupts: h.router.cpu(index),
    ...(withApic ? { apic: h.apics[index]!, apicId: index } : {}),
  });
  mem.view.setUint16(13 * 4, GP_HANDLER, true);
  mem.view.setUint16(13 * 4 + 2, 0, true);
  mem.u8[GP_HANDLER] = HLT;
  const run = (code: number[]): void => {
    mem.u8.set([...code, HLT], CODE);
    cpu.reset(); // leaves the HLT state of the previous snippet
    cpu.setRegs({ cs: 0, eip: CODE, ss: 0, esp: 0x8000 });
    expect(cpu.run(1000)).toBe(CpuExit.Halt);
  };
  return { cpu, run, apic: h.apics[index]! };
}

describe('InterpCpu with a local APIC (SDM Vol. 3A 11.4)', () => {
  it('reports CPUID.1:EDX.APIC and the initial APIC ID in EBX[31:24]', () => {
    const { cpu, run } = setup(1);
    run([...movEax(1), ...CPUID]);
    const r = cpu.getRegs();
    expect(r.ebx >>> 24).toBe(1);
    expect((r.ebx >>> 16) & 0xff).toBe(1); // one logical processor per package (HTT clear)
    expect(r.edx & (1 << 9)).not.toBe(0);
    expect(r.edx & (1 << 28)).toBe(0);
  });

  it('has no APIC bit and #GPs on IA32_APIC_BASE without one', () => {
    const { cpu, run } = setup(0, false);
    run([...movEax(1), ...CPUID]);
    expect(cpu.getRegs().edx & (1 << 9)).toBe(0);
    run([...movEcx(0x1b), ...RDMSR]);
    expect(cpu.getRegs().eip).toBe(GP_HANDLER + 1);
  });

  it('forwards IA32_APIC_BASE: BSP flag, relocation, global disable clears the CPUID bit', () => {
    const bsp = setup(0);
    bsp.run([...movEcx(0x1b), ...RDMSR]);
    expect(bsp.cpu.getRegs().eax).toBe(0xfee0_0900);
    const ap = setup(1);
    ap.run([...movEcx(0x1b), ...RDMSR]);
    expect(ap.cpu.getRegs().eax).toBe(0xfee0_0800);
    ap.run([...movEcx(0x1b), ...movEax(0x0009_0800), ...XOR_EDX, ...WRMSR]);
    expect(ap.apic.baseGpa).toBe(0x9_0000);
    expect(ap.apic.hardwareEnabled).toBe(true);
    ap.run([...movEcx(0x1b), ...movEax(0x0009_0000), ...XOR_EDX, ...WRMSR, ...movEax(1), ...CPUID]);
    expect(ap.apic.hardwareEnabled).toBe(false);
    expect(ap.cpu.getRegs().edx & (1 << 9)).toBe(0);
  });

  it('raises #GP for reserved and x2APIC bits, leaving the APIC as it was', () => {
    const { cpu, run, apic } = setup(0);
    run([...movEcx(0x1b), ...movEax(0xfee0_0d00), ...XOR_EDX, ...WRMSR]); // bit 10: x2APIC
    expect(cpu.getRegs().eip).toBe(GP_HANDLER + 1);
    expect(apic.baseGpa).toBe(0xfee0_0000);
    run([...movEcx(0x6e0), ...RDMSR]); // no TSC-deadline timer offered
    expect(cpu.getRegs().eip).toBe(GP_HANDLER + 1);
  });
});
