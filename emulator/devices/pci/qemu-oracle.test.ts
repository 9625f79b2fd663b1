/**
 * Power-on configuration space of the pc machine's chipset functions, compared byte for
 * byte with qemu-system-x86_64 7.2 (Debian), dumped with `-machine pc -S -nodefaults
 * -m 128 -qtest stdio` through ports CF8h/CFCh (non-zero bytes only).
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../time/clock.js';
import { FakeIrqLine } from '../../test-support/fakes.js';
import { PciBus } from './pci-bus.js';
import { I440fx } from './i440fx.js';
import { Piix3, piix3SlotToPirq } from './piix3.js';
import { Piix4Pm } from './piix4-pm.js';
import type { PciConfigTarget } from './pci-bus.js';

const QEMU_72: Record<string, string> = {
  '00.0': '00:86 01:80 02:37 03:12 08:02 0b:06 2c:f4 2d:1a 2f:11 57:10 72:02',
  '01.0': '00:86 01:80 03:70 07:02 0a:01 0b:06 0e:80 2c:f4 2d:1a 2f:11 4c:4d 4e:03 60:80 61:80 62:80 63:80 69:02 70:80 76:0c 77:0c 78:02 a0:08 a8:0f',
  '01.3': '00:86 01:80 02:13 03:71 06:80 07:02 08:03 0a:80 0b:06 2c:f4 2d:1a 2f:11 3d:01 40:01 5f:10 63:60 90:01 91:b1 d2:09',
};

function dump(t: PciConfigTarget): string {
  const out: string[] = [];
  for (let r = 0; r < 256; r++) {
    const v = t.configRead(r, 1);
    if (v !== 0) out.push(`${r.toString(16).padStart(2, '0')}:${v.toString(16).padStart(2, '0')}`);
  }
  return out.join(' ');
}

describe('chipset power-on config space vs QEMU 7.2', () => {
  it('matches byte for byte', () => {
    const clock = new VirtualClock();
    const bus = new PciBus({ mapIntx: piix3SlotToPirq });
    const hb = new I440fx({ ramSizeBytes: 128 * 1024 * 1024 });
    const isa = new Piix3({ setIsaIrq: () => undefined });
    // QEMU 7.2 on TCG enables SMM, so APMC_EN is not preset there; -nodefaults: no COM/LPT.
    const pm = new Piix4Pm({ clock, scheduler: clock, sci: new FakeIrqLine(), smbusBase: 0xb100, smmEnabled: true, isaPorts: {} });
    bus.add(0, 0, hb);
    bus.add(1, 0, isa);
    bus.add(1, 3, pm);
    for (const d of [hb, isa, pm]) d.reset('power-on');
    expect(dump(hb)).toBe(QEMU_72['00.0']);
    expect(dump(isa)).toBe(QEMU_72['01.0']);
    expect(dump(pm)).toBe(QEMU_72['01.3']);
  });

  it('reports COM1 in DEVRESB and presets APMC_EN without SMM by default', () => {
    const clock = new VirtualClock();
    const pm = new Piix4Pm({ clock, scheduler: clock, sci: new FakeIrqLine() });
    expect(pm.configRead(0x67, 1)).toBe(0x08);
    expect(pm.configRead(0x5b, 1)).toBe(0x02);
    const all = new Piix4Pm({ clock, scheduler: clock, sci: new FakeIrqLine(), isaPorts: { com1: true, com2: true, lpt: true } });
    expect(all.configRead(0x67, 1)).toBe(0x98);
    expect(all.configRead(0x5f, 1)).toBe(0x90);
  });
});
