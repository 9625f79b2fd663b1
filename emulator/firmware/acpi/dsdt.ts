/**
 * The DSDT of the i440FX/PIIX "pc" board, in AML, laid out like QEMU pc's
 * (hw/i386/acpi-build.c: build_dsdt, build_piix4_pci0_int, build_isa_devices_aml,
 * build_hpet_aml, hw/acpi/cpu.c with acpi_1_compatible processors).
 *
 * Follows: ACPI 6.5 5.2.11.1 (DSDT), 6.1 (_HID/_UID/_ADR), 6.2 (_CRS/_PRS/_SRS/_DIS/
 * _PRT/_STA), 7.4.2 (\_Sx sleep packages), 8.4 (processors), 19.6 (ASL operators),
 * PCI Firmware spec 3.x (PNP0A03 host bridge, PNP0C0F link devices over the PIIX3
 * PIRQ route control registers 0x60-0x63 of device 00:01.0).
 * Leaves out: PCI/CPU/memory hotplug, FDC and LPT (not on our board), _S3/_S4 unless
 * asked, the debug console region, the PIIX4 PM (00:01.3) PCI config region.
 */
import * as a from './aml.js';
import type { ResolvedAcpiConfig } from './config.js';
import { ByteWriter, finishTable, writeHeader, VIREO_OEM } from './sdt.js';

/** PIRQ link devices in _PRT order, indexed by (slot + pin - 1) & 3 as PIIX3 routes them. */
export const LINK_NAMES = ['LNKA', 'LNKB', 'LNKC', 'LNKD'] as const;
/** IRQs a PIRQ link may be routed to (QEMU pc: 5, 10, 11). */
export const LINK_IRQS = [5, 10, 11] as const;

/** The name of CPU `i`'s object: "C" + 3 hex digits, as QEMU ("C000", "C001", ...). */
export function cpuObjectName(i: number): string {
  return `C${i.toString(16).toUpperCase().padStart(3, '0')}`;
}

/** PCI INTx pin (0 = INTA) of `slot` -> link index (PIIX3 / QEMU pci_slot_get_pirq). */
export function pirqLinkIndex(slot: number, pin: number): number {
  return (slot + pin - 1) & 3;
}

const LEVEL_HIGH_SHARED: a.IrqFlags = { edge: false, activeLow: false, shared: true };

function pciCrs(c: ResolvedAcpiConfig): a.Aml {
  const producer = { consumer: false, minFixed: true, maxFixed: true };
  const parts: a.Aml[] = [
    a.resWordBusNumber(producer, { granularity: 0, min: 0, max: 0xff, translation: 0, length: 0x100 }),
    a.resIo(0x0cf8, 0x0cf8, 0x01, 0x08),
    a.resWordIo(producer, { granularity: 0, min: 0x0000, max: 0x0cf7, translation: 0, length: 0x0cf8 }),
    a.resWordIo(producer, { granularity: 0, min: 0x0d00, max: 0xffff, translation: 0, length: 0xf300 }),
    a.resDWordMemory({ ...producer, cacheable: 1, readWrite: true },
      { granularity: 0, min: 0x000a_0000, max: 0x000b_ffff, translation: 0, length: 0x0002_0000 }),
    a.resDWordMemory({ ...producer, cacheable: 0, readWrite: true },
      { granularity: 0, min: c.pciHole32.start, max: c.pciHole32.end, translation: 0, length: c.pciHole32.end - c.pciHole32.start + 1 }),
  ];
  if (c.pciHole64) {
    parts.push(a.resQWordMemory({ ...producer, cacheable: 1, readWrite: true },
      { granularity: 0, min: c.pciHole64.start, max: c.pciHole64.end, translation: 0, length: c.pciHole64.end - c.pciHole64.start + 1n }));
  }
  return a.resourceTemplate(...parts);
}

/** _PRT for slots 1-31 x INTA-D; slot 1 INTA (the PIIX4 PM function) goes to LNKS as in QEMU. */
function pciPrt(): a.Aml {
  const entries: a.Aml[] = [];
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 0; pin < 4; pin++) {
      const link = slot === 1 && pin === 0 ? 'LNKS' : LINK_NAMES[pirqLinkIndex(slot, pin)]!;
      entries.push(a.pkgOf(a.int(((slot << 16) | 0xffff) >>> 0), a.int(pin), a.ref(link), a.int(0)));
    }
  }
  // 124 entries fit a plain Package (<= 255).
  return a.name('_PRT', a.pkgOf(...entries));
}

function isaDevices(c: ResolvedAcpiConfig): a.Aml[] {
  const devs: a.Aml[] = [
    a.device('RTC',
      a.name('_HID', a.eisaId('PNP0B00')),
      a.name('_CRS', a.resourceTemplate(a.resIo(0x70, 0x70, 0x01, 0x02), a.resIrqNoFlags(8)))),
    a.device('KBD',
      a.name('_HID', a.eisaId('PNP0303')),
      a.name('_STA', a.int(0x0f)),
      a.name('_CRS', a.resourceTemplate(a.resIo(0x60, 0x60, 0x01, 0x01), a.resIo(0x64, 0x64, 0x01, 0x01), a.resIrqNoFlags(1)))),
    a.device('MOU',
      a.name('_HID', a.eisaId('PNP0F13')),
      a.name('_STA', a.int(0x0f)),
      a.name('_CRS', a.resourceTemplate(a.resIrqNoFlags(12)))),
  ];
  const com = [{ n: 1, port: 0x3f8, irq: 4 }, { n: 2, port: 0x2f8, irq: 3 }] as const;
  for (const p of com) {
    if (!c.comPorts.includes(p.n)) continue;
    devs.push(a.device(`COM${p.n}`,
      a.name('_HID', a.eisaId('PNP0501')),
      a.name('_UID', a.int(p.n)),
      a.name('_STA', a.int(0x0f)),
      a.name('_CRS', a.resourceTemplate(a.resIo(p.port, p.port, 0x00, 0x08), a.resIrqNoFlags(p.irq)))));
  }
  return devs;
}

/** \_SB.PCI0 with its _CRS, _PRT and the ISA bridge (00:01.0) holding the PIRQ region. */
function pci0(c: ResolvedAcpiConfig): a.Aml {
  return a.device('PCI0',
    a.name('_HID', a.eisaId('PNP0A03')),
    // No _ADR beside _HID (ACPI 6.5 6.1: one or the other); QEMU has both.
    a.name('_UID', a.int(0)),
    a.name('_CRS', pciCrs(c)),
    pciPrt(),
    a.device('ISA',
      a.name('_ADR', a.int(0x0001_0000)),
      // PIIX3 PIRQRC[A:D]: bit 7 disables routing, bits 3:0 the ISA IRQ.
      a.opRegion('P40C', a.RegionSpace.PCI_Config, 0x60, 0x04),
      ...isaDevices(c)));
}

/** Field over the PIRQ registers plus the helper methods QEMU's links call. */
function linkHelpers(): a.Aml[] {
  return [
    a.field('PCI0.ISA.P40C', { access: a.AccessType.Byte, lock: false, update: a.UpdateRule.Preserve },
      [{ name: 'PRQ0', bits: 8 }, { name: 'PRQ1', bits: 8 }, { name: 'PRQ2', bits: 8 }, { name: 'PRQ3', bits: 8 }]),
    // IQST(pirq): 0x09 (present, disabled) when bit 7 is set, else 0x0B (present, enabled).
    a.method('IQST', { args: 1 },
      a.ifThen(a.and(a.int(0x80), a.arg(0)), a.ret(a.int(0x09))),
      a.ret(a.int(0x0b))),
    // IQCR(pirq): the current resource, an Interrupt() holding the routed IRQ (0 when off).
    a.method('IQCR', { args: 1, serialized: true },
      a.name('PRR0', a.resourceTemplate(a.resInterrupt(LEVEL_HIGH_SHARED, 0))),
      a.createDWordField(a.ref('PRR0'), 5, 'PRRI'),
      a.ifThen(a.lLess(a.arg(0), a.int(0x80)), a.and(a.arg(0), a.int(0x0f), a.ref('PRRI'))),
      a.ret(a.ref('PRR0'))),
  ];
}

function linkDevice(i: number): a.Aml {
  const reg = `PRQ${i}`;
  return a.device(LINK_NAMES[i]!,
    a.name('_HID', a.eisaId('PNP0C0F')),
    a.name('_UID', a.int(i)),
    a.name('_PRS', a.resourceTemplate(a.resInterrupt(LEVEL_HIGH_SHARED, ...LINK_IRQS))),
    a.method('_STA', {}, a.ret(a.call('IQST', a.ref(reg)))),
    a.method('_DIS', {}, a.or(a.ref(reg), a.int(0x80), a.ref(reg))),
    a.method('_CRS', {}, a.ret(a.call('IQCR', a.ref(reg)))),
    a.method('_SRS', { args: 1 },
      a.createDWordField(a.arg(0), 5, 'PRRI'),
      a.store(a.ref('PRRI'), a.ref(reg))));
}

/** LNKS: the fixed SCI link (GSI 9), as QEMU. */
function sciLink(c: ResolvedAcpiConfig): a.Aml {
  return a.device('LNKS',
    a.name('_HID', a.eisaId('PNP0C0F')),
    a.name('_UID', a.int(4)),
    a.name('_PRS', a.resourceTemplate(a.resInterrupt(LEVEL_HIGH_SHARED, c.sciIrq))),
    a.method('_STA', {}, a.ret(a.int(0x0b))),
    a.method('_SRS', { args: 1 }),
    a.method('_DIS', {}),
    a.method('_CRS', {}, a.ret(a.ref('_PRS'))));
}

function hpetDevice(c: ResolvedAcpiConfig): a.Aml {
  return a.device('HPET',
    a.name('_HID', a.eisaId('PNP0103')),
    a.name('_UID', a.int(0)),
    a.name('_STA', a.int(0x0f)),
    a.name('_CRS', a.resourceTemplate(a.resMemory32Fixed(false, c.hpetAddress, 0x400))));
}

function cpuObjects(c: ResolvedAcpiConfig): a.Aml[] {
  const out: a.Aml[] = [];
  for (let i = 0; i < c.cpus; i++) {
    const n = cpuObjectName(i);
    out.push(c.cpuObjects === 'processor'
      ? a.processor(n, i, 0, 0, a.method('_STA', {}, a.ret(a.int(0x0f))))
      : a.device(n, a.name('_HID', a.str('ACPI0007')), a.name('_UID', a.int(i)), a.method('_STA', {}, a.ret(a.int(0x0f)))));
  }
  return out;
}

function sleepPackage(slpTyp: number): a.Aml {
  return a.pkgOf(a.int(slpTyp), a.int(slpTyp), a.int(0), a.int(0));
}

/** The DSDT's AML body (everything after the header). */
export function buildDsdtAml(c: ResolvedAcpiConfig): a.Aml {
  const sb: a.Aml[] = [pci0(c), ...linkHelpers(), ...[0, 1, 2, 3].map(linkDevice), sciLink(c)];
  if (c.hpet) sb.push(hpetDevice(c));
  sb.push(...cpuObjects(c));
  const root: a.Aml[] = [
    a.scope('\\_SB', ...sb),
    a.scope('\\_GPE', a.name('_HID', a.str('ACPI0006'))),
  ];
  // PIIX4 PM1_CNT SLP_TYP values as QEMU: S3 = 1, S4 = 2, S5 = 0.
  if (c.s3) root.push(a.name('\\_S3', sleepPackage(1)));
  if (c.s4) root.push(a.name('\\_S4', sleepPackage(2)));
  root.push(a.name('\\_S5', sleepPackage(0)));
  return a.concat(...root);
}

/** The complete DSDT (revision 1: 32-bit integers, as QEMU pc), checksummed. */
export function buildDsdt(c: ResolvedAcpiConfig): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, 'DSDT', 1, VIREO_OEM);
  w.bytes(buildDsdtAml(c));
  return finishTable(w);
}
