import { describe, expect, it } from 'vitest';
import { comparableSerial, serialDifference } from './serial-compare.js';

// Excerpts of real boots of the Linux test ISO: the interpreter's and KVM's (nested).
const INTERP = `ISOLINUX 6.04 20200816  Copyright (C) 1994-2015 H. Peter Anvin et al
[    0.000000] x86/PAT: PAT not supported by the CPU.
[    0.000000] IOAPIC[0]: apic_id 1, version 32, address 0xfec00000, GSI 0-23
[    0.000000] Booting paravirtualized kernel on bare hardware
[    0.000000] Memory: 240664K/261748K available (9327K kernel code, 1246K rwdata, 3188K rodata, 912K init, 464K bss, 21084K reserved, 0K cma-reserved, 0K highmem)
[    0.012000] tsc: Detected 1000.122 MHz processor
[    1.200000] smpboot: CPU0: Intel Vireo Virtual CPU (family: 0x6, model: 0x6, stepping: 0x3)
[    2.000000] rtc_cmos 00:00: registered as rtc0
[    2.100000] input: AT Translated Set 2 keyboard as /devices/platform/i8042/serio0/input/input1
[    3.000000] ata2.00: ATAPI: QEMU DVD-ROM, 2.5+, max UDMA/100
VIREO-BOOT-OK
`;
const KVM = `ISOLINUX 6.04 20200816  Copyright (C) 1994-2015 H. Peter Anvin et al
[    0.000000] Hypervisor detected: KVM
[    0.000000] kvm-clock: Using msrs 4b564d01 and 4b564d00
[    0.000000] x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT
[    0.000000] IOAPIC[0]: apic_id 1, version 17, address 0xfec00000, GSI 0-23
[    0.000000] Booting paravirtualized kernel on KVM
[    0.000000] Memory: 240760K/261748K available (9327K kernel code, 1246K rwdata, 3188K rodata, 912K init, 464K bss, 20988K reserved, 0K cma-reserved, 0K highmem)
[    0.100000] ------------[ cut here ]------------
[    0.100000] XSAVE consistency problem: size 2696 != kernel_size 576
[    0.100000] ---[ end trace 0000000000000000 ]---
[    1.200000] smpboot: CPU0: AMD Hammer (family: 0xf, model: 0x6b, stepping: 0x1)
[    2.000000] input: AT Translated Set 2 keyboard as /devices/platform/i8042/serio0/input/input0
[    2.100000] rtc_cmos 00:00: registered as rtc0
[    2.200000] pci 0000:00:01.3: quirk_piix4_acpi+0x0/0x150 took 11718 usecs
[    3.000000] ata2.00: ATAPI: QEMU DVD-ROM, 2.5+, max UDMA/100
VIREO-BOOT-OK
`;

describe('serial comparison modulo timing (KVM vs interpreter)', () => {
  it('agrees on the two backends\' boots, leaving out timing, CPU, hypervisor and nested-host lines', () => {
    expect(serialDifference(INTERP, KVM)).toBe('');
    const { lines, skipped } = comparableSerial(KVM);
    expect(lines).toContain('IOAPIC[0]: apic_id 1, version <irqchip>, address 0xfec00000, GSI 0-23');
    expect(lines).toContain('Memory: <reserved>/261748K available');
    expect(skipped.map((s) => s.reason)).toEqual(['hypervisor', 'hypervisor', 'cpu', 'hypervisor', 'nested', 'nested', 'nested', 'cpu', 'timing']);
  });

  it('reports hardware that differs, and lines only one side has', () => {
    const moreRam = KVM.replace('/261748K available', '/523892K available');
    expect(serialDifference(INTERP, moreRam)).toBe('- Memory: <reserved>/261748K available\n+ Memory: <reserved>/523892K available');
    const noDvd = KVM.replace(/^.*ATAPI: QEMU DVD-ROM.*\n/m, '');
    expect(serialDifference(INTERP, noDvd)).toBe('- ata2.00: ATAPI: QEMU DVD-ROM, 2.5+, max UDMA/100');
    // The old interpreter without a local APIC with one CPU: its MP table lines are not "timing".
    const mptable = INTERP.replace('VIREO-BOOT-OK', 'MPTABLE: no processors registered!\nVIREO-BOOT-OK');
    expect(serialDifference(mptable, KVM)).toBe('- MPTABLE: no processors registered!');
  });

  it('keeps a kernel warning that is not the nested host\'s XSAVE one', () => {
    const warn = KVM.replace('XSAVE consistency problem: size 2696 != kernel_size 576', 'WARNING: CPU: 0 PID: 1 at drivers/ata/libata-core.c:1 ata_foo');
    expect(serialDifference(INTERP, warn)).toContain('+ WARNING: CPU: 0 PID: 1 at drivers/ata/libata-core.c:1 ata_foo');
  });
});
