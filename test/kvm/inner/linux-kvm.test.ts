/**
 * The acceptance run of the KVM backend: `vireo run --backend kvm` (in-kernel irqchip, the
 * default) boots the Linux test ISO: SeaBIOS -> ISOLINUX -> the kernel's decompressor (which
 * seeds KASLR with RDRAND: on nested hosts KVM cannot emulate it and KvmCpu completes it) ->
 * Linux in APIC mode on KVM's IOAPIC/LAPIC -> the init script's VIREO-BOOT-OK, then
 * `poweroff -f` (ACPI S5) ends the run with status 0. The serial output must be the same as
 * when the interpreter boots the same ISO, modulo timing lines (test/kvm/serial-compare.ts
 * lists what is left out and why: timing, the CPU's identity and features, KVM's paravirtual
 * clock, the in-kernel IOAPIC's version): run-nested.sh records the interpreter's boot on the
 * host (test/kvm/kvm-fixtures.ts), since the interpreter inside nested TCG would take hours.
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
import { comparableSerial, serialDifference } from '../serial-compare.js';
import { kvmSkipNote, kvmUsable } from './kvm-env.js';

const tools = linuxGuestToolsAvailable();
const pvm = existsSync('/sys/module/kvm_pvm');
const skip = process.env['VIREO_KVM_LINUX'] !== '1' ? 'the Linux boots under KVM run in test/kvm/run-nested.sh unless VIREO_KVM_LINUX=0'
  : !kvmUsable ? 'KVM unusable'
  : pvm ? 'this host\'s /dev/kvm is PVM (kvm_pvm), which emulates 32-bit guest code in the kernel'
    : !tools.ok ? tools.reason : vireoCliUnavailable();

describe.skipIf(skip !== '')(`Linux test ISO on vireo run --backend kvm${kvmSkipNote || (skip ? ` (skipped: ${skip})` : '')}`, () => {
  it('boots to the marker with the same serial output as the interpreter (modulo timing lines), then powers off with status 0', async () => {
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
    // run-nested.sh names the reference it recorded (the checkout's commit may move on meanwhile).
    const refPath = process.env['VIREO_KVM_REF_FILE'] || interpReferencePath(iso, checkoutCommit(REPO_ROOT));
    if (process.env['VIREO_KVM_REFERENCE'] === '0' || (!process.env['VIREO_KVM_NESTED'] && !existsSync(refPath))) {
      console.log(`no interpreter reference (${refPath}): hardware view not compared`);
      return;
    }
    const reference = readFileSync(refPath, 'latin1');
    const compared = comparableSerial(reference);
    const skipped = comparableSerial(run.stdout).skipped;
    console.log(`serial output compared with the interpreter's: ${compared.lines.length} lines; left out under KVM: ` +
      ['timing', 'cpu', 'hypervisor', 'nested'].map((r) => `${skipped.filter((s) => s.reason === r).length} ${r}`).join(', '));
    expect(compared.lines.length).toBeGreaterThan(200);
    expect(compared.lines).toContain(BOOT_MARKER);
    expect(serialDifference(reference, run.stdout)).toBe('');
  }, 500_000);
});
