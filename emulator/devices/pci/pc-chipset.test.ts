/**
 * The pc chipset wired the way board/pc.ts is expected to wire it (ports, callbacks,
 * IRQs), driven through a PioBus with the port sequences SeaBIOS and an ACPI OS use.
 */
import { describe, expect, it } from 'vitest';
import { PioBus } from '../../memory/pio-bus.js';
import { VirtualClock } from '../../time/clock.js';
import { FakeIrqLine } from '../../test-support/fakes.js';
import { Apm } from '../apm/apm.js';
import { FwCfg, FwCfgKey } from '../fw-cfg/fw-cfg.js';
import { PciBus } from './pci-bus.js';
import { PciHost } from './pci-host.js';
import { PciFunction } from './pci-function.js';
import { I440fx } from './i440fx.js';
import { Piix3, piix3SlotToPirq } from './piix3.js';
import { Piix4Pm, PM_TIMER_FREQ_HZ } from './piix4-pm.js';

function buildPc() {
  const clock = new VirtualClock();
  const pio = new PioBus();
  const isaIrq = new Map<number, boolean>();
  const events: string[] = [];
  const pam: Array<[number, boolean, boolean]> = [];
  const sci = new FakeIrqLine();

  const isa = new Piix3({
    setIsaIrq: (irq, level) => isaIrq.set(irq, level),
    onResetRequest: (hard) => events.push(hard ? 'hard-reset' : 'cpu-reset'),
  });
  const bus = new PciBus({ mapIntx: piix3SlotToPirq, onPirqLevel: (p, l) => isa.setPirqLevel(p, l) });
  const host = new PciHost(bus, { resetControl: isa.resetControl });
  const hb = new I440fx({ ramSizeBytes: 128 << 20, onPamChange: (i, r, w) => pam.push([i, r, w]) });
  let pmBase: number | null = null;
  const pm = new Piix4Pm({
    clock, scheduler: clock, sci, smbusBase: 0xb100,
    onPmIoChange: (base) => {
      if (pmBase !== null) pio.unregister(pmBase);
      pmBase = base;
      if (base !== null) pio.register(base, 64, 'piix4-pm', pm.pmIo);
    },
    onPowerOff: () => events.push('power-off'),
  });
  const apm = new Apm({ onControlWrite: (v) => pm.apmCommand(v) });
  const fw = new FwCfg();
  fw.setU16(FwCfgKey.NB_CPUS, 1);

  bus.add(0, 0, hb);
  bus.add(1, 0, isa);
  bus.add(1, 3, pm);
  const nic = new PciFunction({
    id: 'nic', vendorId: 0x1af4, deviceId: 0x1000, revision: 0, classCode: 0x020000,
    interruptPin: 1, irq: bus.intxLine(3, 0, 1), bars: [{ kind: 'io', sizeBytes: 32 }],
    onBarChange: (i, kind, a) => events.push(`bar${i}-${kind}-${a === null ? 'off' : a.toString(16)}`),
  });
  bus.add(3, 0, nic);

  pio.register(0xcf8, 4, 'pci-conf-addr', host.addressPort);
  pio.register(0xcfc, 4, 'pci-conf-data', host.dataPort);
  pio.register(0xb2, 2, 'apm', apm.io);
  pio.register(0x510, 2, 'fw_cfg', fw.ioPort);
  pio.register(0x514, 8, 'fw_cfg_dma', fw.dmaPort);
  pio.register(0xafe0, 4, 'acpi-gpe0', pm.gpe0);
  return { clock, pio, isaIrq, events, pam, sci, nic, pm };
}

const cfgAddr = (dev: number, fn: number, reg: number): number => (0x80000000 | (dev << 11) | (fn << 8) | reg) >>> 0;

describe('pc chipset wiring', () => {
  it('lets firmware enumerate bus 0 like SeaBIOS pci_probe_devices', () => {
    const { pio } = buildPc();
    const found: string[] = [];
    for (let dev = 0; dev < 32; dev++) {
      for (let fn = 0; fn < 8; fn++) {
        pio.write(0xcf8, 4, cfgAddr(dev, fn, 0));
        const id = pio.read(0xcfc, 4);
        if (id === 0xffffffff) { if (fn === 0) break; continue; }
        found.push(`${dev}.${fn}=${id.toString(16)}`);
        pio.write(0xcf8, 4, cfgAddr(dev, fn, 0x0c));
        if (fn === 0 && !(pio.read(0xcfe, 1) & 0x80)) break;
      }
    }
    expect(found).toEqual(['0.0=12378086', '1.0=70008086', '1.3=71138086', '3.0=10001af4']);
  });

  it('shadows the BIOS through PAM, maps the PM block and the NIC BAR', () => {
    const { pio, pam, events, clock } = buildPc();
    pio.write(0xcf8, 4, cfgAddr(0, 0, 0x58));
    pio.write(0xcfd, 1, 0x30); // PAM0 = 30h: F0000h read/write RAM
    expect(pam).toEqual([[0, true, true]]);
    // piix4_pm_setup
    pio.write(0xcf8, 4, cfgAddr(1, 3, 0x40));
    pio.write(0xcfc, 4, 0xb001);
    pio.write(0xcf8, 4, cfgAddr(1, 3, 0x80));
    pio.write(0xcfc, 1, 0x01);
    clock.advanceTo(1e9);
    expect(pio.read(0xb008, 4)).toBe(PM_TIMER_FREQ_HZ);
    // BAR sizing and assignment
    pio.write(0xcf8, 4, cfgAddr(3, 0, 0x10));
    pio.write(0xcfc, 4, 0xffffffff);
    expect(pio.read(0xcfc, 4)).toBe(0xffffffe1);
    pio.write(0xcfc, 4, 0xc000);
    pio.write(0xcf8, 4, cfgAddr(3, 0, 0x04));
    pio.write(0xcfc, 2, 0x0001);
    expect(events).toEqual(['bar0-io-c000']);
  });

  it('routes the NIC INTA# through PIRQC to ISA IRQ 11', () => {
    const { pio, isaIrq, nic } = buildPc();
    pio.write(0xcf8, 4, cfgAddr(1, 0, 0x60));
    pio.write(0xcfc, 4, 0x0b0b0a0a);
    nic.setIntx(true);
    expect(isaIrq.get(11)).toBe(true);
    nic.setIntx(false);
    expect(isaIrq.get(11)).toBe(false);
  });

  it('runs the ACPI enable, power button and S5 sequence of an OS', () => {
    const { pio, sci, events, pm } = buildPc();
    pio.write(0xcf8, 4, cfgAddr(1, 3, 0x40));
    pio.write(0xcfc, 4, 0x0601);
    pio.write(0xcf8, 4, cfgAddr(1, 3, 0x80));
    pio.write(0xcfc, 1, 0x01);
    pio.write(0xb2, 1, 0xf1); // FADT SMI_CMD / ACPI_ENABLE
    expect(pio.read(0x604, 2) & 1).toBe(1);
    pio.write(0x602, 2, 0x0100); // PWRBTN_EN
    expect(pm.pressPowerButton()).toBe(true);
    expect(sci.level).toBe(true);
    pio.write(0x600, 2, 0x0100);
    expect(sci.level).toBe(false);
    pio.write(0x604, 2, (0 << 10) | 0x2000 | 1); // _S5 = {0, 0}
    expect(events).toEqual(['power-off']);
  });

  it('resets through the PIIX3 RCR at 0CF9h', () => {
    const { pio, events } = buildPc();
    pio.write(0xcf9, 1, 0x02);
    pio.write(0xcf9, 1, 0x06);
    expect(events).toEqual(['hard-reset']);
  });
});
