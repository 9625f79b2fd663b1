import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadFirmware } from '../host/firmware-files.js';
import { createNodeTiming } from '../host/node-timing.js';
import { PcMachine } from './pc-machine.js';

const haveSeabios = existsSync('/usr/share/seabios/bios-256k.bin') && existsSync('/usr/share/seabios/vgabios-stdvga.bin');

/** Boots SeaBIOS until it prints `marker` on its debug port; returns where that happened. */
async function bootUntil(marker: string, deterministic: boolean): Promise<{ instructions: number; log: string; screen: string }> {
  let log = '';
  let at = -1;
  const m: PcMachine = new PcMachine({
    memoryBytes: 64 * 1024 * 1024,
    bios: loadFirmware('bios-256k.bin').bytes,
    vgaBios: loadFirmware('vgabios-stdvga.bin').bytes,
    deterministic,
    timing: createNodeTiming(),
    rtcStart: new Date(Date.UTC(2026, 10, 24, 12, 0, 0)),
    debugconOut: (bytes) => {
      log += Buffer.from(bytes).toString('latin1');
      if (at < 0 && log.includes(marker)) {
        at = m.instructions; // exact: we are inside the guest's OUT instruction
        m.stop({ kind: 'requested', detail: 'marker' });
      }
    },
  });
  const timer = setTimeout(() => m.stop({ kind: 'requested', detail: 'test timeout' }), 60_000);
  const reason = await m.run();
  clearTimeout(timer);
  expect(reason).toEqual({ kind: 'requested', detail: 'marker' });
  return { instructions: at, log, screen: m.screenText() };
}

describe.skipIf(!haveSeabios)(`PcMachine with SeaBIOS${haveSeabios ? '' : ' (skipped: Debian package seabios is not installed)'}`, () => {
  it('is reproducible in deterministic mode: same output at the same instruction count', async () => {
    const a = await bootUntil('No bootable device', true);
    const b = await bootUntil('No bootable device', true);
    expect(a.instructions).toBeGreaterThan(1_000_000);
    expect(b.instructions).toBe(a.instructions);
    expect(b.log).toBe(a.log);
    expect(a.screen).toMatch(/^SeaBIOS \(version/);
  }, 150_000);
});
