import { describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../fixtures/linux-guest.js';
import { qemuAvailable, runQemu } from '../support/qemu.js';

const tools = linuxGuestToolsAvailable();
const skipReason = !tools.ok ? tools.reason : !qemuAvailable() ? 'qemu-system-i386 is not installed (run scripts/setup.sh)' : '';

// The oracle check for the fixture itself: the ISO boots to its marker under QEMU TCG,
// loads the ATA driver and powers off. Vireo's own boot of the same ISO is compared to this.
describe.skipIf(skipReason !== '')(`Linux test ISO on QEMU${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('boots isolinux -> Linux -> busybox, runs the script and powers off', async () => {
    const iso = buildLinuxTestIso({ script: 'echo ARCH=$(uname -m); grep -c ata_piix /proc/modules' });
    const run = await runQemu(['-m', '256', '-cdrom', iso, '-boot', 'd'], 120_000);
    expect(run.timedOut).toBe(false);
    expect(run.serial).toContain(BOOT_MARKER);
    expect(run.serial).toMatch(/ARCH=i686/);
    expect(run.serial).toMatch(/reboot: Power down|Power down/);
  }, 180_000);
});
