/**
 * `vireo run --backend kvm` boots the Linux test ISO: SeaBIOS -> ISOLINUX (loads the kernel
 * and initrd, then its protected-mode shuffle) -> the kernel's decompressor (which seeds
 * KASLR with RDRAND: on nested hosts KVM cannot emulate it and KvmCpu completes it) ->
 * Linux -> the init script's VIREO-BOOT-OK, then `poweroff -f` (ACPI S5 through the PIIX4
 * PM block) ends the run with status 0. The board's own PIC/PIT/serial run in userspace
 * (irqchip 'userspace': timer interrupts through KVM_INTERRUPT, HLT with interrupts).
 *
 * Billions of guest instructions: under nested KVM on QEMU TCG (test/kvm/run-nested.sh and
 * similar hosts) the guest runs at a few MIPS, so this is gated like the interpreter's
 * Linux boot (VIREO_SLOW=1, npm run test:slow).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../../fixtures/linux-guest.js';
import { runVireo, vireoCliUnavailable } from '../../support/vireo-cli.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

const tools = linuxGuestToolsAvailable();
// PVM (the kvm_pvm module, "Pagetable-based Virtual Machine") runs 64-bit guest code natively
// but emulates 32-bit code in the host kernel: far too slow for a Linux i386 boot (seen here:
// the kernel decompressor still running after 30 s, all of it system time).
const pvm = existsSync('/sys/module/kvm_pvm');
const skip = !kvmUsable ? 'KVM unusable'
  : pvm ? 'this host\'s /dev/kvm is PVM (kvm_pvm), which emulates 32-bit guest code in the kernel'
  : process.env['VIREO_SLOW'] !== '1' ? 'set VIREO_SLOW=1 (npm run test:slow)'
    : !tools.ok ? tools.reason : vireoCliUnavailable();

describe.skipIf(skip !== '')(`Linux test ISO on vireo run --backend kvm${kvmSkipNote || (skip ? ` (skipped: ${skip})` : '')}`, () => {
  it('gets through ISOLINUX to the kernel and the boot marker, then powers off with status 0', async () => {
    const iso = buildLinuxTestIso({ script: 'sleep 1; poweroff -f' });
    const run = await runVireo(['run', '--backend', 'kvm', '--cdrom', iso, '--serial', 'stdio', '--memory', '256M', '--timeout', '3000'],
      { timeoutMs: 3_100_000 });
    expect(run.stdout).toContain('Loading /boot/vmlinuz... ok');
    expect(run.stdout).toContain('Loading /boot/initrd.gz...ok');
    expect(run.stdout).toContain('Linux version');
    expect(run.stdout).toContain(BOOT_MARKER);
    expect(run.stderr).not.toContain('KVM_EXIT_INTERNAL_ERROR');
    expect(run.status).toBe(0);
  }, 3_200_000);
});
