import { describe, expect, it } from 'vitest';
import { HV_INTERFACE_HV1, HV_SPINLOCK_RETRIES, HYPERV_FEATURES, hypervCpuidLeaves, type HypervLeaf } from './hyperv.js';

const leaf = (fn: number, eax = 0, ebx = 0, ecx = 0, edx = 0): HypervLeaf => ({ fn, eax, ebx, ecx, edx });
const ascii = (...regs: number[]): string => Buffer.from(new Uint32Array(regs).buffer).toString('latin1');

// What KVM 6.1 reports through KVM_GET_SUPPORTED_HV_CPUID (features and recommendations it implements).
const kvm61 = new Map<number, HypervLeaf>([
  [0x40000003, leaf(0x40000003, 0x2fff, 0x30, 0, 0x80d00)],
  [0x40000004, leaf(0x40000004, 0xe3e, 0, 0, 0)],
  [0x40000005, leaf(0x40000005, 0x400, 0, 0, 0)],
]);

describe('Hyper-V CPUID leaves', () => {
  it('says "Microsoft Hv" and "Hv#1", with every feature KVM backs', () => {
    const plan = hypervCpuidLeaves(kvm61, HYPERV_FEATURES);
    expect(plan.missing).toEqual([]);
    expect(plan.enabled).toEqual(HYPERV_FEATURES);
    const [vendor, iface, version, features, rec, limits] = plan.leaves;
    expect(vendor!.fn).toBe(0x40000000);
    expect(vendor!.eax).toBe(0x40000005);
    expect(ascii(vendor!.ebx, vendor!.ecx, vendor!.edx)).toBe('Microsoft Hv');
    expect(iface!.eax).toBe(HV_INTERFACE_HV1);
    expect(ascii(iface!.eax)).toBe('Hv#1');
    expect(version).toMatchObject({ fn: 0x40000002, eax: 14393, ebx: 0xa0000 });
    // runtime, time ref count, synic, stimer, APIC access, hypercall, VP index, reference TSC, frequency MSRs.
    expect(features!.eax).toBe(0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x200 | 0x800);
    expect(features!.ebx).toBe(0x30);
    expect(features!.edx).toBe(0x100 | 0x80000);
    // relaxed timing, APIC access, remote TLB flush, cluster IPI, ex processor masks; spinlock retries.
    expect(rec!.eax).toBe(0x20 | 0x8 | 0x4 | 0x400 | 0x800);
    expect(rec!.ebx).toBe(HV_SPINLOCK_RETRIES);
    expect(limits).toMatchObject({ fn: 0x40000005, eax: 0x400 });
  });

  it('leaves out what KVM cannot back, and what depends on it', () => {
    const noSynic = new Map(kvm61);
    noSynic.set(0x40000003, leaf(0x40000003, 0x2fff & ~0x4, 0x30, 0, 0x80d00));
    const plan = hypervCpuidLeaves(noSynic, HYPERV_FEATURES);
    expect(plan.missing).toEqual(['synic', 'stimer']);
    const features = plan.leaves[3]!;
    expect(features.eax & 0xc).toBe(0);
    expect(features.ebx).toBe(0);
  });

  it('with nothing wanted, still has the vendor leaves but no features', () => {
    const plan = hypervCpuidLeaves(kvm61, []);
    expect(plan.enabled).toEqual([]);
    expect(plan.leaves[3]).toMatchObject({ eax: 0, ebx: 0, edx: 0 });
    expect(plan.leaves[4]).toMatchObject({ eax: 0, ebx: 0xffffffff });
  });
});
