/**
 * KvmCpu with the in-kernel irqchip and PIT (KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2): a
 * real-mode guest programs the 8259 and the 8254 (handled inside KVM, no exits) and halts
 * in a loop; each timer interrupt's handler writes port 0x82 (an exit to VmOps). Also
 * exercises the slice timer: while the guest sleeps in HLT inside KVM_RUN, run() returns.
 * Runs only where /dev/kvm works.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuExit, type VmOps } from '../../../emulator/cpu/backend.js';
import { KvmCpu } from '../../../emulator/cpu/kvm/kvm-backend.js';
import type { FlatRange } from '../../../emulator/memory/address-space.js';
import { alignedBytes, kvmSkipNote, kvmUsable } from './kvm-env.js';

const MAIN = [
  0xfa, 0x31, 0xc0, 0x8e, 0xd8, //          cli; xor ax, ax; mov ds, ax
  0xc7, 0x06, 0x20, 0x00, 0x00, 0x12, //    mov word [0x20], 0x1200   (IVT vector 8)
  0xc7, 0x06, 0x22, 0x00, 0x00, 0x00, //    mov word [0x22], 0
  0xb0, 0x11, 0xe6, 0x20, //                ICW1
  0xb0, 0x08, 0xe6, 0x21, //                ICW2: vectors 8-15
  0xb0, 0x04, 0xe6, 0x21, //                ICW3
  0xb0, 0x01, 0xe6, 0x21, //                ICW4
  0xb0, 0xfe, 0xe6, 0x21, //                OCW1: only IRQ0
  0xb0, 0x34, 0xe6, 0x43, //                PIT channel 0, mode 2
  0xb0, 0x9c, 0xe6, 0x40, 0xb0, 0x2e, 0xe6, 0x40, // count 11932 (100 Hz)
  0xfb, //                                  sti
  0xf4, 0xeb, 0xfd, //                      l: hlt; jmp l
];
const HANDLER = [0xe6, 0x82, 0xb0, 0x20, 0xe6, 0x20, 0xcf]; // out 0x82, al; EOI; iret

describe(`KvmCpu: in-kernel irqchip and PIT${kvmSkipNote}`, () => {
  let cpu: KvmCpu | undefined;
  afterEach(() => { cpu?.close(); cpu = undefined; });

  it.skipIf(!kvmUsable)('delivers PIT interrupts to a halted guest and still returns from run()', () => {
    const size = 0x10000;
    const u8 = alignedBytes(size);
    u8.set(MAIN, 0x1000);
    u8.set(HANDLER, 0x1200);
    const ram = { start: 0, end: size, kind: 'ram', regionOffset: 0, readonly: false,
      region: { backing: { block: { name: 'ram', offset: 0, sizeBytes: size }, offset: 0 } } } as unknown as FlatRange;
    let ticks = 0;
    const ops: VmOps = {
      pioRead: () => 0xff,
      pioWrite: (port) => { if (port === 0x82 && ++ticks === 3) cpu?.kick(); },
      mmioRead: () => 0xffffffff,
      mmioWrite: () => {},
    };
    cpu = new KvmCpu({ mem: { u8 }, memoryMap: { flatView: () => [ram], flattenCount: 1 }, ops, irqchip: 'kernel', sliceMs: 2 });
    cpu.setRegs({ cs: 0, eip: 0x1000, ss: 0, esp: 0xfffe });
    cpu.setIrq(5, true); // KVM_IRQ_LINE on a masked line: accepted, no effect on the guest
    cpu.setIrq(5, false);
    let runs = 0;
    while (ticks < 3 && runs < 100_000) {
      expect(cpu.run(50_000)).toBe(CpuExit.Yield);
      runs++;
    }
    expect(cpu.lastError).toBeUndefined();
    expect(ticks).toBeGreaterThanOrEqual(3);
    // The guest spent its time halted inside KVM_RUN; run() came back anyway (slice timer or kick).
    expect(runs).toBeGreaterThanOrEqual(1);
  });
});
