/**
 * The acceptance run of the KVM backend: `vireo run --backend kvm` (in-kernel irqchip, the
 * default) boots the Linux test ISO: SeaBIOS -> ISOLINUX -> the kernel's decompressor (which
 * seeds KASLR with RDRAND: on nested hosts KVM cannot emulate it and KvmCpu completes it) ->
 * Linux in APIC mode on KVM's IOAPIC/LAPIC -> the init script's VIREO-BOOT-OK, then
 * `poweroff -f` (ACPI S5) ends the run with status 0. The hardware Linux reports (e820 map,
 * ACPI tables, PCI functions, serial port, ATA/ATAPI devices) must be the same as when the
 * interpreter boots the same ISO: run-nested.sh records that boot's serial output on the
 * host (test/kvm/kvm-fixtures.ts), since the interpreter inside nested TCG would take hours.
 * CPU lines differ by nature (KVM passes the host CPU's model and features through, and one
 * KVM CPU runs Linux in APIC mode where the interpreter's single CPU hides the APIC).
 *
 * About a minute under nested KVM on QEMU TCG (test/kvm/run-nested.sh), so part of
 * `npm run test:kvm`. Skipped on PVM hosts (kvm_pvm emulates 32-bit guest code in the host
 * kernel: a Linux i386 boot was seen still in its decompressor after 30 s).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../../fixtures/linux-guest.js';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../../support/vireo-cli.js';
import { LINUX_KVM_SCRIPT, checkoutCommit, interpReferencePath } from '../kvm-fixtures.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

const tools = linuxGuestToolsAvailable();
const pvm = existsSync('/sys/module/kvm_pvm');
const skip = process.env['VIREO_KVM_LINUX'] !== '1' ? 'the Linux boots under KVM run with VIREO_KVM_LINUX=1'
  : !kvmUsable ? 'KVM unusable'
  : pvm ? 'this host\'s /dev/kvm is PVM (kvm_pvm), which emulates 32-bit guest code in the kernel'
    : !tools.ok ? tools.reason : vireoCliUnavailable();

/** Lines that describe the machine rather than the CPU or timing, without the printk timestamp. */
export function hardwareView(serial: string): string[] {
  const keep = [
    /^BIOS-e820: /, /^ACPI: (RSDP|RSDT|FACP|DSDT|FACS|APIC|HPET) /, /^pci 0000:[0-9a-f:.]+: \[[0-9a-f]{4}:[0-9a-f]{4}\]/,
    /ttyS0 at I\/O 0x3f8/, /^ata\d(\.\d+)?: (PATA|ATAPI|found)/, /^scsi \d+:\d+:\d+:\d+: /, /^sr \d+:\d+:\d+:\d+: /,
    /^Loading \/boot\//, new RegExp(`^${BOOT_MARKER}$`),
  ];
  return serial.split(/\r?\n/).map((l) => l.replace(/^\[\s*\d+\.\d+\] /, '').trimEnd())
    .filter((l) => keep.some((k) => k.test(l))).sort();
}

describe.skipIf(skip !== '')(`Linux test ISO on vireo run --backend kvm${kvmSkipNote || (skip ? ` (skipped: ${skip})` : '')}`, () => {
  it('boots to the marker with the same hardware view as the interpreter, then powers off with status 0', async () => {
    const iso = buildLinuxTestIso({ script: LINUX_KVM_SCRIPT });
    const t0 = performance.now();
    // --timeout well inside run-nested.sh's own, so a stuck boot fails here with its serial output.
    const run = await runVireo(['run', '--backend', 'kvm', '--cdrom', iso, '--serial', 'stdio', '--memory', '256M', '--timeout', '420'],
      { timeoutMs: 480_000 });
    console.log(`Linux on KVM: status ${run.status} after ${((performance.now() - t0) / 1000).toFixed(1)} s\n--- stderr ---\n${run.stderr.slice(-2000)}` +
      (run.status === 0 ? '' : `\n--- serial (tail) ---\n${run.stdout.slice(-3000)}`));
    expect(run.stdout).toContain('Loading /boot/vmlinuz... ok');
    expect(run.stdout).toContain('Linux version');
    expect(run.stdout).toContain(BOOT_MARKER);
    expect(run.stderr).not.toContain('KVM_EXIT_INTERNAL_ERROR');
    expect(run.status).toBe(0);
    const refPath = interpReferencePath(iso, checkoutCommit(REPO_ROOT));
    if (process.env['VIREO_KVM_REFERENCE'] === '0' || (!process.env['VIREO_KVM_NESTED'] && !existsSync(refPath))) {
      console.log(`no interpreter reference (${refPath}): hardware view not compared`);
      return;
    }
    const reference = hardwareView(readFileSync(refPath, 'latin1'));
    expect(reference.length).toBeGreaterThan(20);
    expect(hardwareView(run.stdout)).toEqual(reference);
  }, 500_000);
});
