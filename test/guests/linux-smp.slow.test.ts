/**
 * The platform issue's Linux acceptance with several CPUs: `vireo run --cpus 2` boots the
 * Linux test ISO in APIC mode (local APICs, the IO-APIC, the timer through IO-APIC pin 2,
 * which Linux checks at boot), Linux starts the second CPU with INIT-SIPI-SIPI, both CPUs
 * run userland, and `poweroff -f` ends the run with status 0 through ACPI S5.
 *
 * Deterministic mode (virtual time from executed instructions): in real-time mode on a
 * loaded host Linux's boot-time timer check in APIC mode still fails now and then (see
 * issue 5's notes), so the run is made reproducible instead of flaky.
 *
 * A Linux boot on the interpreter takes minutes: only in `npm run test:slow` (VIREO_SLOW=1).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BOOT_MARKER, buildLinuxTestIso, linuxGuestToolsAvailable } from '../fixtures/linux-guest.js';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const tools = linuxGuestToolsAvailable();
const skip = process.env['VIREO_SLOW'] !== '1' ? 'set VIREO_SLOW=1 (npm run test:slow)'
  : !tools.ok ? tools.reason : vireoCliUnavailable();
const TIMEOUT_S = 1800;

describe.skipIf(skip !== '')(`Linux on two CPUs${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('brings up both CPUs in APIC mode, runs on both, and powers off with status 0', async () => {
    // Each CPU runs a busy loop for a moment: both must show time spent in /proc/stat.
    const iso = buildLinuxTestIso({
      script: [
        'echo "CPUS $(grep -c ^processor /proc/cpuinfo)"',
        'for c in 0 1; do taskset -c $c sh -c \'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done\' && echo "RAN-ON $c"; done',
        'grep "^cpu[01] " /proc/stat',
        'echo "TIMER-IRQ $(grep -E "^ *0:" /proc/interrupts)"',
      ].join('\n'),
    });
    const run = await runVireo(['run', '--deterministic', '--cdrom', iso, '--cpus', '2', '--serial', 'stdio', '--memory', '256M', '--timeout', String(TIMEOUT_S)],
      { timeoutMs: (TIMEOUT_S + 60) * 1000, teeTo: path.join(REPO_ROOT, 'test-results', 'linux-smp-serial.txt') });
    const out = run.stdout.replace(/\r/g, '');
    expect(out).toContain('..TIMER: vector=0x30 apic1=0 pin1=2');
    expect(out).not.toContain('IO-APIC + timer doesn\'t work');
    expect(out).toMatch(/smpboot: Allowing 2 CPUs/);
    expect(out).toContain('smp: Brought up 1 node, 2 CPUs');
    expect(out).toContain(BOOT_MARKER);
    expect(out).toMatch(/^CPUS 2$/m);
    expect(out).toMatch(/^RAN-ON 0$/m);
    expect(out).toMatch(/^RAN-ON 1$/m);
    // The timer goes through the IO-APIC (edge) once Linux has switched to APIC mode.
    expect(out).toMatch(/^TIMER-IRQ +0:.*IO-APIC +2-edge +timer/m);
    expect(run.status).toBe(0);
  }, (TIMEOUT_S + 120) * 1000);
});
