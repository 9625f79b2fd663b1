/**
 * Hyper-V enlightenments on KvmCpu (in-kernel irqchip): a real-mode guest reads CPUID
 * 0x40000000 (vendor), 0x40000001 (interface), 0x40000003 (features), 0x40000004
 * (recommendations) and 0x40000100 (where KVM's own leaves move), and, with Hyper-V on,
 * the VP index MSR (HV_X64_MSR_VP_INDEX, TLFS 7.8.1; a #GP would stop the guest before it
 * reports). With `hyperv: true` it sees "Microsoft Hv"; without, KVM's "KVMKVMKVM".
 * Runs only where /dev/kvm works (test/kvm/run-nested.sh).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuExit, type VmOps } from '../../../emulator/cpu/backend.js';
import { KvmCpu } from '../../../emulator/cpu/kvm/kvm-backend.js';
import type { FlatRange } from '../../../emulator/memory/address-space.js';
import { alignedBytes, kvmSkipNote, kvmUsable, nested } from './kvm-env.js';

const LEAVES = [0x40000000, 0x40000001, 0x40000003, 0x40000004, 0x40000100];

/** mov eax, leaf; xor ecx, ecx; cpuid; then EAX, EBX, ECX, EDX as dwords to port 0x80. */
function readLeaf(leaf: number): number[] {
  return [
    0x66, 0xb8, leaf & 0xff, (leaf >>> 8) & 0xff, (leaf >>> 16) & 0xff, leaf >>> 24, // mov eax, leaf
    0x66, 0x31, 0xc9, //   xor ecx, ecx
    0x0f, 0xa2, //         cpuid
    0x66, 0x52, //         push edx
    0xba, 0x80, 0x00, //   mov dx, 0x80
    0x66, 0xef, //         out dx, eax
    0x66, 0x89, 0xd8, 0x66, 0xef, // mov eax, ebx; out
    0x66, 0x89, 0xc8, 0x66, 0xef, // mov eax, ecx; out
    0x66, 0x58, 0x66, 0xef, //       pop eax (edx); out
  ];
}

const READ_VP_INDEX = [
  0x66, 0xb9, 0x02, 0x00, 0x00, 0x40, // mov ecx, 0x40000002 (HV_X64_MSR_VP_INDEX)
  0x0f, 0x32, //                         rdmsr
  0xba, 0x81, 0x00, 0x66, 0xef, //       mov dx, 0x81; out dx, eax
];

const ascii = (...regs: number[]): string => Buffer.from(new Uint32Array(regs).buffer).toString('latin1');

function runGuest(hyperv: boolean): { outs: Array<[number, number]>; cpu: KvmCpu; logs: string[] } {
  const size = 0x10000;
  const u8 = alignedBytes(size);
  const code = [0xfa, ...LEAVES.flatMap(readLeaf), ...(hyperv ? READ_VP_INDEX : []), 0xf4];
  u8.set(code, 0x1000);
  const ram = { start: 0, end: size, kind: 'ram', regionOffset: 0, readonly: false,
    region: { backing: { block: { name: 'ram', offset: 0, sizeBytes: size }, offset: 0 } } } as unknown as FlatRange;
  const outs: Array<[number, number]> = [];
  const ops: VmOps = { pioRead: () => 0xff, pioWrite: (port, _s, v) => { outs.push([port, v >>> 0]); }, mmioRead: () => 0, mmioWrite: () => {} };
  const logs: string[] = [];
  const cpu = new KvmCpu({ mem: { u8 }, memoryMap: { flatView: () => [ram], flattenCount: 1 }, ops, irqchip: 'kernel', hyperv, sliceMs: 2, log: (m) => logs.push(m) });
  cpu.setRegs({ cs: 0, eip: 0x1000, ss: 0, esp: 0xfff0 });
  const want = LEAVES.length * 4 + (hyperv ? 1 : 0);
  for (let i = 0; i < 2000 && outs.length < want && cpu.lastError === undefined; i++) expect(cpu.run(50_000)).toBe(CpuExit.Yield);
  return { outs, cpu, logs };
}

describe(`KvmCpu: Hyper-V CPUID leaves${kvmSkipNote}`, () => {
  let cpu: KvmCpu | undefined;
  afterEach(() => { cpu?.close(); cpu = undefined; });

  it.skipIf(!kvmUsable)('with hyperv on, the guest sees "Microsoft Hv", Hv#1, the features and the VP index MSR', () => {
    const r = runGuest(true);
    cpu = r.cpu;
    console.log(`hyperv on: ${r.logs.join('; ')}\n${r.outs.map(([p, v]) => `${p.toString(16)}=${v.toString(16)}`).join(' ')}`);
    expect(r.cpu.lastError).toBeUndefined();
    if (!nested && !r.cpu.hypervEnabled) {
      // A KVM without Hyper-V support (PVM has none) says so and leaves the leaves out; the nested host must have it.
      expect(r.logs.join('\n')).toMatch(/no KVM_CAP_HYPERV_CPUID; Hyper-V enlightenments left off/);
      return;
    }
    expect(r.cpu.hypervEnabled).toBe(true);
    const regs = (i: number): number[] => r.outs.slice(i * 4, i * 4 + 4).map(([, v]) => v);
    const [v0, v1, v3, v4, kvm] = [0, 1, 2, 3, 4].map(regs);
    expect(v0![0]).toBe(0x40000005);
    expect(ascii(v0![1]!, v0![2]!, v0![3]!)).toBe('Microsoft Hv');
    expect(ascii(v1![0]!)).toBe('Hv#1');
    // 0x40000003.EAX: hypercall page (bit 5) and VP index (bit 6) at least; the TLFS time reference counter (bit 1).
    expect(v3![0]! & 0x62).toBe(0x62);
    // 0x40000004: relaxed timing (bit 5), 8191 spinlock retries.
    expect(v4![0]! & 0x20).toBe(0x20);
    expect(v4![1]).toBe(0x1fff);
    // KVM's own signature moved to 0x40000100.
    expect(ascii(kvm![1]!, kvm![2]!, kvm![3]!)).toBe('KVMKVMKVM\0\0\0');
    expect(r.outs[20]).toEqual([0x81, 0]);
  });

  it.skipIf(!kvmUsable)('with hyperv off, CPUID 0x40000000 is KVM\'s own signature', () => {
    const r = runGuest(false);
    cpu = r.cpu;
    expect(r.cpu.lastError).toBeUndefined();
    expect(r.cpu.hypervEnabled).toBe(false);
    const [eax, ebx, ecx, edx] = r.outs.slice(0, 4).map(([, v]) => v);
    expect(ascii(ebx!, ecx!, edx!)).toBe('KVMKVMKVM\0\0\0');
    expect(eax).not.toBe(0x40000005);
    expect(ascii(ebx!, ecx!, edx!)).not.toBe('Microsoft Hv');
  });
});
