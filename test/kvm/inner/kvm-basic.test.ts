/**
 * KvmCpu on a tiny real-mode guest with a fake VmOps: port I/O (single and REP OUTSB),
 * MMIO to an unmapped address (write and read), HLT. Runs only where /dev/kvm works
 * (test/kvm/run-nested.sh); elsewhere the suite is skipped with the reason in its name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuExit, type VmOps } from '../../../emulator/cpu/backend.js';
import { KvmCpu } from '../../../emulator/cpu/kvm/kvm-backend.js';
import type { FlatRange } from '../../../emulator/memory/address-space.js';
import { alignedBytes, kvmReason, kvmSkipNote, kvmUsable, nested } from './kvm-env.js';

const GUEST = [
  0xba, 0xf8, 0x03, //       mov dx, 0x3f8
  0xb0, 0x4f, 0xee, //       mov al, 'O'; out dx, al
  0xb0, 0x4b, 0xee, //       mov al, 'K'; out dx, al
  0xbe, 0x00, 0x11, //       mov si, 0x1100
  0xb9, 0x03, 0x00, //       mov cx, 3
  0xfc, 0xf3, 0x6e, //       cld; rep outsb        (string I/O: "abc")
  0xe4, 0x60, //             in al, 0x60
  0xe6, 0x80, //             out 0x80, al
  0xb8, 0x00, 0x20, //       mov ax, 0x2000
  0x8e, 0xc0, //             mov es, ax
  0x26, 0xc6, 0x06, 0x00, 0x00, 0x77, // mov byte [es:0], 0x77   (MMIO write at 0x20000)
  0x26, 0xa0, 0x04, 0x00, // mov al, [es:4]         (MMIO read at 0x20004)
  0xe6, 0x81, //             out 0x81, al
  0xf4, //                   hlt
];

describe(`KvmCpu: real-mode guest${kvmSkipNote}`, () => {
  let cpu: KvmCpu | undefined;
  afterEach(() => { cpu?.close(); cpu = undefined; });

  it('probe says usable inside the nested guest', () => {
    if (nested) expect(kvmReason).toBe('');
  });

  it.skipIf(!kvmUsable)('does port I/O, string I/O, MMIO and HLT through VmOps', () => {
    const size = 0x10000;
    const u8 = alignedBytes(size);
    u8.set(GUEST, 0x1000);
    u8.set([0x61, 0x62, 0x63], 0x1100);
    const ram = { start: 0, end: size, kind: 'ram', regionOffset: 0, readonly: false,
      region: { backing: { block: { name: 'ram', offset: 0, sizeBytes: size }, offset: 0 } } } as unknown as FlatRange;
    const trace: string[] = [];
    let serial = '';
    const ops: VmOps = {
      pioRead: (port, sz) => { trace.push(`in ${port.toString(16)}/${sz}`); return 0x5a; },
      pioWrite: (port, sz, v) => {
        if (port === 0x3f8) serial += String.fromCharCode(v);
        else trace.push(`out ${port.toString(16)}/${sz}=${v.toString(16)}`);
      },
      mmioRead: (gpa, sz) => { trace.push(`mmio-r ${gpa.toString(16)}/${sz}`); return 0x33; },
      mmioWrite: (gpa, sz, v) => { trace.push(`mmio-w ${gpa.toString(16)}/${sz}=${v.toString(16)}`); },
    };
    cpu = new KvmCpu({
      mem: { u8 }, memoryMap: { flatView: () => [ram], flattenCount: 1 }, ops,
      irqchip: 'userspace', interrupts: { hasInterrupt: () => false, acknowledge: () => 0 },
    });
    expect(cpu.memorySlots).toEqual([{ slot: 0, gpa: 0, sizeBytes: size, memOffset: 0, flags: 0 }]);
    expect(cpu.getRegs()).toMatchObject({ cs: 0xf000, eip: 0xfff0, cr0: 0x60000010 });
    cpu.setRegs({ cs: 0, eip: 0x1000 });
    let exit: number = CpuExit.Yield;
    for (let i = 0; i < 100 && exit === CpuExit.Yield; i++) exit = cpu.run(10_000);
    expect(cpu.lastError).toBeUndefined();
    expect(exit).toBe(CpuExit.Halt);
    expect(serial).toBe('OKabc');
    expect(trace).toEqual(['in 60/1', 'out 80/1=5a', 'mmio-w 20000/1=77', 'mmio-r 20004/1', 'out 81/1=33']);
    expect(cpu.getRegs().eip).toBe(0x1000 + GUEST.length);
    // Halted with IF=0 and nothing pending: stays halted.
    expect(cpu.run(10_000)).toBe(CpuExit.Halt);
    expect(cpu.instructionsRetired).toBeGreaterThan(0);
  });

  // Nested hosts may hand the guest's RDRAND to KVM's emulator, which cannot do it
  // (KVM_EXIT_INTERNAL_ERROR); KvmCpu completes it. Natively it just runs.
  it.skipIf(!kvmUsable)('runs RDRAND and RDSEED (completed in userspace where KVM cannot)', () => {
    const size = 0x10000;
    const u8 = alignedBytes(size);
    const code = [
      0x66, 0x0f, 0xc7, 0xf0, // rdrand eax
      0x66, 0xe7, 0x80, //      out 0x80, eax
      0x0f, 0xc7, 0xfb, //      rdseed bx
      0x89, 0xd8, //            mov ax, bx
      0xe7, 0x82, //            out 0x82, ax
      0xf4, //                  hlt
    ];
    u8.set(code, 0x1000);
    const ram = { start: 0, end: size, kind: 'ram', regionOffset: 0, readonly: false,
      region: { backing: { block: { name: 'ram', offset: 0, sizeBytes: size }, offset: 0 } } } as unknown as FlatRange;
    const outs: number[] = [];
    const ops: VmOps = {
      pioRead: () => 0, pioWrite: (port) => { outs.push(port); }, mmioRead: () => 0, mmioWrite: () => {},
    };
    cpu = new KvmCpu({
      mem: { u8 }, memoryMap: { flatView: () => [ram], flattenCount: 1 }, ops,
      irqchip: 'userspace', interrupts: { hasInterrupt: () => false, acknowledge: () => 0 },
    });
    cpu.setRegs({ cs: 0, eip: 0x1000 });
    let exit: number = CpuExit.Yield;
    for (let i = 0; i < 100 && exit === CpuExit.Yield; i++) exit = cpu.run(10_000);
    expect(cpu.lastError).toBeUndefined();
    expect(exit).toBe(CpuExit.Halt);
    expect(outs).toEqual([0x80, 0x82]);
    expect(cpu.getRegs().eip).toBe(0x1000 + code.length);
  });
});
