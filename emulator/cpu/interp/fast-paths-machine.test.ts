/**
 * The interpreter's fast paths on the whole PC (PcMachine, deterministic mode): a SeaBIOS
 * boot to "No bootable device" (about 6 M instructions of real-mode and 32-bit code with
 * REP string copies, port and MMIO I/O, interrupts) gives the same debug output at the
 * same instruction count, with the same registers and RAM, with the decoded-instruction
 * cache and basic blocks on or off and the bulk REP MOVS/STOS paths on or off.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFirmware } from '../../host/firmware-files.js';
import { createNodeTiming } from '../../host/node-timing.js';
import { PcMachine } from '../../machine/pc-machine.js';
import { InterpCpu } from './cpu.js';

const haveSeabios = existsSync('/usr/share/seabios/bios-256k.bin') && existsSync('/usr/share/seabios/vgabios-stdvga.bin');
const MARKER = 'No bootable device';

interface BootResult { instructions: number; log: string; regs: unknown; ram: Buffer }

async function boot(cache: boolean, bulk: boolean): Promise<BootResult> {
  let log = '';
  let at = -1;
  const m: PcMachine = new PcMachine({
    memoryBytes: 32 * 1024 * 1024,
    bios: loadFirmware('bios-256k.bin').bytes,
    vgaBios: loadFirmware('vgabios-stdvga.bin').bytes,
    deterministic: true,
    timing: createNodeTiming(),
    rtcStart: new Date(Date.UTC(2026, 10, 24, 12, 0, 0)),
    debugconOut: (bytes) => {
      log += Buffer.from(bytes).toString('latin1');
      if (at < 0 && log.includes(MARKER)) {
        at = m.instructions; // exact: inside the guest's OUT instruction
        m.stop({ kind: 'requested', detail: 'marker' });
      }
    },
  });
  const cpu = m.smp?.cpu(0);
  if (!(cpu instanceof InterpCpu)) throw new Error('expected the interpreter');
  cpu.decodeCacheEnabled = cache;
  cpu.stringBulk = bulk;
  const timer = setTimeout(() => m.stop({ kind: 'requested', detail: 'test timeout' }), 120_000);
  const reason = await m.run();
  clearTimeout(timer);
  expect(reason).toEqual({ kind: 'requested', detail: 'marker' });
  return { instructions: at, log, regs: cpu.getRegs(), ram: Buffer.from(cpu.u8.subarray(0, 32 * 1024 * 1024)) };
}

describe.skipIf(!haveSeabios)(`interpreter fast paths on the PC${haveSeabios ? '' : ' (skipped: seabios is not installed)'}`, () => {
  it('leave a deterministic SeaBIOS boot unchanged (cache/blocks and bulk REP on and off)', async () => {
    const fast = await boot(true, true);
    expect(fast.instructions).toBeGreaterThan(1_000_000);
    for (const [cache, bulk] of [[false, true], [true, false]] as const) {
      const other = await boot(cache, bulk);
      const what = `cache ${cache} bulk ${bulk}`;
      expect(other.instructions, what).toBe(fast.instructions);
      expect(other.log, what).toBe(fast.log);
      expect(other.regs, what).toEqual(fast.regs);
      expect(other.ram.equals(fast.ram), what).toBe(true);
    }
  }, 300_000);
});
