import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VirtualClock } from '../../time/clock.js';
import { FakeIrqLine } from '../../test-support/fakes.js';
import { Apm } from '../apm/apm.js';
import {
  PM1_CNT_SCI_EN, PM1_PWRBTN, PM1_TMR, PM_TIMER_FREQ_HZ, Piix4Pm, type Piix4PmOptions,
} from './piix4-pm.js';

function make(extra: Partial<Piix4PmOptions> = {}) {
  const clock = new VirtualClock();
  const sci = new FakeIrqLine();
  const bases: Array<number | null> = [];
  const events: string[] = [];
  const pm = new Piix4Pm({
    clock, scheduler: clock, sci,
    onPmIoChange: (b) => bases.push(b),
    onPowerOff: () => events.push('off'),
    onSleep: (t) => events.push(`sleep${t}`),
    onSmi: () => events.push('smi'),
    smbusBase: 0xb100,
    ...extra,
  });
  return { clock, sci, bases, events, pm };
}

/** SeaBIOS piix4_pm_setup: PM base B000h, enable, SMBus. */
function enable(pm: Piix4Pm, base = 0xb000): void {
  pm.configWrite(0x40, 4, base | 1);
  pm.configWrite(0x80, 1, 0x01);
}

const NS_PER_TICK = 1e9 / PM_TIMER_FREQ_HZ;

describe('Piix4Pm configuration', () => {
  it('is 8086:7113 rev 03 with QEMU power-on values', () => {
    const { pm } = make();
    expect(pm.configRead(0, 4)).toBe(0x71138086);
    expect(pm.configRead(0x08, 4)).toBe(0x06800003);
    expect(pm.configRead(0x06, 2)).toBe(0x0280);
    expect(pm.configRead(0x3d, 1)).toBe(1);
    expect(pm.configRead(0x40, 4)).toBe(1);
    expect(pm.configRead(0x58, 4)).toBe(0x02000000); // APMC_EN preset: no SMM
    expect(pm.configRead(0x90, 4)).toBe(0xb101);
    expect(pm.configRead(0xd2, 1)).toBe(0x09);
    expect(make({ smmEnabled: true }).pm.configRead(0x58, 4)).toBe(0);
  });

  it('maps the PM block at PMBA once PMIOSE is set', () => {
    const { pm, bases } = make();
    pm.configWrite(0x40, 4, 0xb00f);
    expect(pm.configRead(0x40, 4)).toBe(0xb001);
    expect(bases).toEqual([]);
    pm.configWrite(0x80, 1, 1);
    expect(bases).toEqual([0xb000]);
    expect(pm.pmIoBase).toBe(0xb000);
    pm.configWrite(0x40, 2, 0x0601);
    pm.configWrite(0x80, 1, 0);
    expect(bases).toEqual([0xb000, 0x0600, null]);
    pm.configWrite(0x80, 1, 1);
    pm.reset('hard');
    expect(bases.slice(3)).toEqual([0x0600, null]);
  });
});

describe('Piix4Pm ACPI registers', () => {
  it('counts the PM timer at 3.579545 MHz and wraps at 24 bits', () => {
    const { pm, clock } = make();
    expect(pm.pmIo.read(8, 4)).toBe(0);
    clock.advanceTo(1e9);
    expect(pm.pmIo.read(8, 4)).toBe(PM_TIMER_FREQ_HZ);
    clock.advanceTo(Math.ceil(0x1000000 * NS_PER_TICK) + 1);
    expect(pm.pmIo.read(8, 4)).toBeLessThan(10);
    clock.advanceTo(3600e9);
    expect(pm.pmTimer()).toBe((3600 * PM_TIMER_FREQ_HZ) % 0x1000000);
    expect(pm.pmIo.read(8, 2)).toBe(pm.pmTimer() & 0xffff);
    expect(pm.pmIo.read(10, 1)).toBe(pm.pmTimer() >> 16);
  });

  it('offers a 32-bit timer', () => {
    const { pm, clock } = make({ timer32Bit: true });
    clock.advanceTo(10e9);
    expect(pm.pmIo.read(8, 4)).toBe(10 * PM_TIMER_FREQ_HZ);
    clock.advanceTo(3600e9);
    expect(pm.pmIo.read(8, 4)).toBe((3600 * PM_TIMER_FREQ_HZ) % 2 ** 32);
  });

  it('sets TMR_STS when bit 23 toggles and raises SCI when enabled', () => {
    const { pm, clock, sci } = make();
    expect(pm.pmIo.read(0, 2) & PM1_TMR).toBe(0);
    pm.pmIo.write(2, 2, PM1_TMR);
    expect(sci.level).toBe(false);
    clock.advanceTo(Math.floor(0x800000 * NS_PER_TICK) - 1000);
    expect(sci.level).toBe(false);
    clock.advanceTo(Math.ceil(0x800000 * NS_PER_TICK) + 1);
    expect(sci.level).toBe(true);
    expect(pm.pmIo.read(0, 2) & PM1_TMR).toBe(PM1_TMR);
    pm.pmIo.write(0, 2, PM1_TMR);
    expect(sci.level).toBe(false);
    expect(pm.pmIo.read(0, 2) & PM1_TMR).toBe(0);
    clock.advanceTo(Math.ceil(0x1000000 * NS_PER_TICK) + 1);
    expect(sci.level).toBe(true);
  });

  it('power button: status only when enabled, write-1-to-clear', () => {
    const { pm, sci } = make();
    expect(pm.pressPowerButton()).toBe(false);
    expect(pm.pmIo.read(0, 2) & PM1_PWRBTN).toBe(0);
    pm.pmIo.write(2, 2, PM1_PWRBTN);
    expect(pm.pmIo.read(2, 2)).toBe(PM1_PWRBTN);
    expect(pm.pressPowerButton()).toBe(true);
    expect(pm.pmIo.read(0, 2) & PM1_PWRBTN).toBe(PM1_PWRBTN);
    expect(sci.level).toBe(true);
    pm.pmIo.write(0, 2, 0);
    expect(sci.level).toBe(true);
    pm.pmIo.write(1, 1, PM1_PWRBTN >> 8);
    expect(pm.pmIo.read(0, 2) & PM1_PWRBTN).toBe(0);
    expect(sci.level).toBe(false);
  });

  it('SLP_TYP 0 + SLP_EN powers off; S3 goes to onSleep; SLP_EN reads 0', () => {
    const { pm, events } = make();
    pm.pmIo.write(4, 2, (1 << 10) | 0x2000 | PM1_CNT_SCI_EN);
    expect(events).toEqual(['sleep1']);
    expect(pm.pmIo.read(4, 2)).toBe((1 << 10) | PM1_CNT_SCI_EN);
    pm.pmIo.write(4, 2, 0x2000);
    expect(events).toEqual(['sleep1', 'off']);
    pm.pmIo.write(5, 1, (2 << 2) | 0x20); // S4 via a byte write to the high half
    expect(events).toEqual(['sleep1', 'off', 'off']);
    const quiet = make({ onSleep: undefined });
    quiet.pm.pmIo.write(4, 2, (5 << 10) | 0x2000);
    expect(quiet.pm.guestErrors).toBe(1);
  });

  it('ACPI enable/disable arrive through the APM control port', () => {
    const { pm, events } = make();
    const apm = new Apm({ onControlWrite: (v) => pm.apmCommand(v) });
    apm.io.write(0, 1, 0xf1);
    expect(pm.acpiEnabled).toBe(true);
    expect(pm.pmIo.read(4, 2) & PM1_CNT_SCI_EN).toBe(1);
    apm.io.write(0, 1, 0xf0);
    expect(pm.acpiEnabled).toBe(false);
    expect(events).toEqual([]);
    apm.io.write(0, 1, 0x00);
    expect(events).toEqual(['smi']);
    apm.io.write(1, 1, 0x5a);
    expect(apm.io.read(0, 1)).toBe(0x00);
    expect(apm.io.read(1, 1)).toBe(0x5a);
  });

  it('GPE0: status W1C, enable R/W, SCI when both set', () => {
    const { pm, sci } = make();
    pm.raiseGpe(0x0002);
    expect(pm.gpe0.read(0, 1)).toBe(0x02);
    expect(sci.level).toBe(false);
    pm.gpe0.write(2, 1, 0x02);
    expect(sci.level).toBe(true);
    expect(pm.gpe0.read(0, 4)).toBe(0x00020002);
    pm.gpe0.write(0, 1, 0x02);
    expect(sci.level).toBe(false);
    expect(pm.gpe0.read(0, 4)).toBe(0x00020000);
  });

  it('round-trips its state and re-arms the timer', () => {
    const { pm, clock } = make();
    enable(pm);
    pm.pmIo.write(2, 2, PM1_TMR | PM1_PWRBTN);
    pm.pressPowerButton();
    pm.apmCommand(0xf1);
    pm.gpe0.write(2, 2, 0x0004);
    pm.pmIo.write(0, 2, PM1_PWRBTN);
    clock.advanceTo(1e9);
    const saved = JSON.parse(JSON.stringify(pm.saveState())) as unknown;
    const other = make();
    other.clock.advanceTo(1e9);
    other.pm.loadState(saved);
    expect(other.pm.saveState()).toEqual(pm.saveState());
    expect(other.bases).toEqual([0xb000]);
    other.clock.advanceTo(Math.ceil(0x800000 * NS_PER_TICK) + 1);
    expect(other.sci.level).toBe(true);
    expect(() => other.pm.loadState({ ...(saved as object), pm1En: 0x8000 })).toThrow();
    expect(() => other.pm.loadState({ ...(saved as object), overflowTick: -1 })).toThrow();
  });

  it('never throws on random PM/GPE accesses and keeps SCI consistent', () => {
    const op = fc.record({
      block: fc.constantFrom('pm' as const, 'gpe' as const, 'time' as const, 'button' as const),
      write: fc.boolean(),
      offset: fc.integer({ min: 0, max: 63 }),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const),
      value: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
      const { pm, clock, sci } = make();
      for (const o of ops) {
        if (o.block === 'time') { clock.step(o.value * 1000); continue; }
        if (o.block === 'button') { pm.pressPowerButton(); continue; }
        const h = o.block === 'pm' ? pm.pmIo : pm.gpe0;
        const limit = o.block === 'pm' ? 64 : 4;
        const off = Math.min(o.offset, limit - o.size);
        if (o.write) {
          // Never request sleep here: power-off is a legitimate guest action.
          const v = off <= 5 && off + o.size > 5 ? o.value & ~(0x20 << (8 * (5 - off))) : o.value;
          h.write(off, o.size, v >>> 0);
        } else {
          h.read(off, o.size);
        }
      }
      const sts = pm.pmIo.read(0, 2);
      const en = pm.pmIo.read(2, 2);
      const gpe = pm.gpe0.read(0, 4);
      const want = (sts & en & 0x0721) !== 0 || ((gpe & 0xffff) & (gpe >>> 16)) !== 0;
      expect(sci.level).toBe(want);
    }), { numRuns: 100 });
  });
});
