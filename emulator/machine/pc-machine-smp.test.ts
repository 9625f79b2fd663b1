import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assemble } from '../cpu/interp/test-support/guests.js';
import { loadFirmware } from '../host/firmware-files.js';
import { createNodeTiming } from '../host/node-timing.js';
import { PcMachine, type PcMachineOptions } from './pc-machine.js';

const haveNasm = spawnSync('nasm', ['-v'], { stdio: 'ignore' }).status === 0;
const haveSeabios = existsSync('/usr/share/seabios/bios-256k.bin') && existsSync('/usr/share/seabios/vgabios-stdvga.bin');
const GUEST = join(dirname(fileURLToPath(import.meta.url)), 'test-guests', 'smp-ipi.asm');

/** Runs a deterministic machine until it stops (or `limitMs` of host time); returns its debugcon text. */
async function runMachine(opts: Partial<PcMachineOptions> & Pick<PcMachineOptions, 'bios'>, limitMs: number, marker?: string) {
  let debug = '';
  const m: PcMachine = new PcMachine({
    memoryBytes: 32 * 1024 * 1024, vgaBios: null, deterministic: true, timing: createNodeTiming(),
    rtcStart: new Date(Date.UTC(2026, 10, 24, 12, 0, 0)),
    debugconOut: (b) => {
      debug += Buffer.from(b).toString('latin1');
      if (marker !== undefined && debug.includes(marker)) m.stop({ kind: 'requested', detail: 'marker' });
    },
    ...opts,
  });
  const timer = setTimeout(() => m.stop({ kind: 'requested', detail: 'test timeout' }), limitMs);
  const reason = await m.run();
  clearTimeout(timer);
  return { reason, debug, machine: m };
}

describe.skipIf(!haveNasm)(`two CPUs on the pc board (nasm guest)${haveNasm ? '' : ' (skipped: nasm is not installed)'}`, () => {
  it('INIT + STARTUP start the AP at the SIPI vector; each CPU sees its own relocated APIC; a fixed IPI wakes the BSP', async () => {
    const image = assemble(readFileSync(GUEST, 'utf8'), 'smp-ipi').image;
    const bios = new Uint8Array(128 * 1024); // the board wants >= 128 KiB: the guest is the top 64 KiB
    bios.set(image, bios.length - image.length);
    const { reason, debug, machine } = await runMachine({ bios, cpus: 2 }, 20_000);
    expect(reason).toEqual({ kind: 'debug-exit', code: 0x21 });
    expect(debug).toBe([
      'BSP id=00000000 apic=00000001 base=FEE00900 ',
      'AP id=00000001 base=FEE00800 01000000 ',
      'BSP ipi count=00000001 00000000 ',
      '',
    ].join('\n'));
    expect(machine.smp?.runState(1)).toBe('running');
    expect(machine.board.lapics[1]!.baseGpa).toBe(0x9_0000);
  }, 30_000);

  it('with one CPU the STARTUP IPI reaches nobody and the BSP sleeps forever', async () => {
    const image = assemble(readFileSync(GUEST, 'utf8'), 'smp-ipi').image;
    const bios = new Uint8Array(128 * 1024);
    bios.set(image, bios.length - image.length);
    const { reason, debug, machine } = await runMachine({ bios, cpus: 1 }, 500);
    expect(debug).toBe('BSP id=00000000 apic=00000001 base=FEE00900 \n'); // one CPU: CPUID offers the APIC, the MSR works
    expect(reason.kind).toBe('requested'); // sti; hlt with no timer armed: only the host could wake it
    expect(machine.board.router.unroutedCount).toBe(2);
  }, 30_000);
});

describe.skipIf(!haveSeabios)(`SeaBIOS on two CPUs${haveSeabios ? '' : ' (skipped: Debian package seabios is not installed)'}`, () => {
  it('counts both CPUs through INIT-SIPI-SIPI, reproducibly in deterministic mode', async () => {
    const boot = () => runMachine({
      bios: loadFirmware('bios-256k.bin').bytes, vgaBios: loadFirmware('vgabios-stdvga.bin').bytes, cpus: 2,
    }, 60_000, 'No bootable device');
    const a = await boot();
    expect(a.reason).toEqual({ kind: 'requested', detail: 'marker' });
    expect(a.debug).toMatch(/handle_smp: apic_id=0x1/);
    expect(a.debug).toMatch(/Found 2 cpu\(s\) max supported 2 cpu\(s\)/);
    const b = await boot();
    expect(b.debug).toBe(a.debug);
    expect(b.machine.instructions).toBe(a.machine.instructions);
  }, 150_000);

  it('refuses several CPUs with the KVM backend, naming the limitation', () => {
    expect(() => new PcMachine({
      memoryBytes: 32 * 1024 * 1024, bios: new Uint8Array(128 * 1024), vgaBios: null, deterministic: false,
      timing: createNodeTiming(), rtcStart: new Date(0), cpus: 2,
      createCpu: () => { throw new Error('not reached'); },
    })).toThrow(/KVM backend runs a single vCPU/);
  });
});
