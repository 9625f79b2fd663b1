import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const noSeabios = existsSync('/usr/share/seabios/bios-256k.bin') ? '' : 'Debian package seabios is not installed (run scripts/setup.sh)';
const skip = vireoCliUnavailable() || noSeabios;

// Issue 5: SeaBIOS starts the application processors with INIT-SIPI-SIPI, counts the ones
// that answer (handle_smp), and compares with fw_cfg's CPU count; the ACPI tables it loads
// from fw_cfg describe the same CPUs (MADT local APICs, DSDT processors).
describe.skipIf(skip !== '')(`vireo run --cpus${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('SeaBIOS finds 2 CPUs and loads the ACPI tables from fw_cfg', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-smp-'));
    const log = path.join(dir, 'debugcon.txt');
    const run = await runVireo(['run', '--cpus', '2', '--timeout', '60', '--debugcon', `file:${log}`, '--exit-on', 'No bootable device'],
      { timeoutMs: 90_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const debug = readFileSync(log, 'latin1');
    expect(debug).toMatch(/handle_smp: apic_id=0x1/);
    expect(debug).toMatch(/Found 2 cpu\(s\) max supported 2 cpu\(s\)/);
    expect(debug).toMatch(/table\(50434146\)=0x[0-9a-f]+ \(via rsdt\)/); // FACP through our RSDT
    expect(debug).toMatch(/ACPI: parse DSDT at/);
  }, 120_000);

  it('SeaBIOS counts 8 CPUs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-smp-'));
    const log = path.join(dir, 'debugcon.txt');
    const run = await runVireo(['run', '--cpus', '8', '--timeout', '60', '--debugcon', `file:${log}`, '--exit-on', 'No bootable device'],
      { timeoutMs: 90_000 });
    expect(run.status).toBe(0);
    expect(readFileSync(log, 'latin1')).toMatch(/Found 8 cpu\(s\) max supported 8 cpu\(s\)/);
  }, 120_000);

  it('refuses --backend kvm with several CPUs, and more than 8 CPUs, naming the limits', async () => {
    const kvm = await runVireo(['run', '--backend', 'kvm', '--cpus', '2', '--timeout', '5'], { timeoutMs: 30_000 });
    expect(kvm.status).toBe(1);
    expect(kvm.stderr).toMatch(/--backend kvm: the KVM backend runs a single vCPU; --cpus 2 needs the interpreter/);
    const many = await runVireo(['run', '--cpus', '9', '--timeout', '5'], { timeoutMs: 30_000 });
    expect(many.status).toBe(1);
    expect(many.stderr).toMatch(/--cpus: expected a whole number from 1 to 8, got "9"/);
  }, 60_000);
});
