/**
 * Input of the ACPI table builder for the i440FX/PIIX "pc" board, with QEMU pc's
 * defaults (hw/i386/acpi-build.c, hw/acpi/piix4.c).
 */

/** An inclusive address range. */
export interface AddressWindow {
  /** First address. */
  start: number | bigint;
  /** Last address (inclusive). */
  end: number | bigint;
}

/** What the board tells the ACPI builder. */
export interface AcpiConfig {
  /** Number of CPUs (1-255); APIC ids and ACPI processor ids are 0..cpus-1. */
  cpus: number;
  /** COM ports present: 1 = 0x3f8/IRQ4, 2 = 0x2f8/IRQ3. Default [1]. */
  comPorts?: ReadonlyArray<1 | 2>;
  /** HPET present at `hpetAddress`. */
  hpet: boolean;
  /** PIIX4 PM I/O base (PMBA). Default 0x600. */
  pmBase?: number;
  /** GPE0 block base and length. Default 0xafe0, 4 bytes (QEMU's PIIX4 GPE). */
  gpe0Base?: number;
  gpe0Length?: number;
  /** SCI interrupt (ISA IRQ / GSI). Default 9. */
  sciIrq?: number;
  /** SMI command port and the values written to it. Defaults 0xb2, 0xf1, 0xf0. */
  smiCmdPort?: number;
  acpiEnable?: number;
  acpiDisable?: number;
  /** Local APIC, IOAPIC and HPET MMIO bases. Defaults 0xFEE00000, 0xFEC00000, 0xFED00000. */
  lapicAddress?: number;
  ioapicAddress?: number;
  hpetAddress?: number;
  /**
   * IOAPIC id in the MADT; the board must give the IOAPIC device the same id. Default:
   * right after the CPUs (as SeaBIOS's MP table), or 0 when that does not fit in 4 bits
   * (QEMU's MADT always says 0).
   */
  ioapicId?: number;
  /** 32-bit PCI memory window (the "PCI hole"). Default 0xE0000000-0xFEBFFFFF. */
  pciHole32?: AddressWindow;
  /** 64-bit PCI memory window, if any. */
  pciHole64?: AddressWindow;
  /**
   * FADT revision: 3 (default; ACPI 2.0 layout with the reset register at 0xcf9) or 1
   * (QEMU pc's choice, "w2k requires FADT(rev1)"; no reset register).
   */
  fadtRevision?: 1 | 3;
  /** RSDP revision: 0 with an RSDT (default, as QEMU pc) or 2 with RSDT and XSDT. */
  rsdpRevision?: 0 | 2;
  /** Emit \_S3 / \_S4 packages (QEMU does unless disabled). Default false: S5 only. */
  s3?: boolean;
  s4?: boolean;
  /** CPU objects: Processor() ops as QEMU pc (default) or ACPI0007 Devices. */
  cpuObjects?: 'processor' | 'device';
}

/** AcpiConfig with every default applied. */
export interface ResolvedAcpiConfig {
  cpus: number;
  comPorts: ReadonlyArray<1 | 2>;
  hpet: boolean;
  pmBase: number;
  gpe0Base: number;
  gpe0Length: number;
  sciIrq: number;
  smiCmdPort: number;
  acpiEnable: number;
  acpiDisable: number;
  lapicAddress: number;
  ioapicAddress: number;
  hpetAddress: number;
  ioapicId: number;
  pciHole32: { start: number; end: number };
  pciHole64: { start: bigint; end: bigint } | null;
  fadtRevision: 1 | 3;
  rsdpRevision: 0 | 2;
  s3: boolean;
  s4: boolean;
  cpuObjects: 'processor' | 'device';
}

/** The PCI hole QEMU pc uses when RAM below 4G ends at 0xE0000000. */
export const DEFAULT_PCI_HOLE32 = { start: 0xe000_0000, end: 0xfebf_ffff } as const;

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`ACPI config: ${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

/** Applies defaults and validates (host-side input: throws on nonsense). */
export function resolveAcpiConfig(c: AcpiConfig): ResolvedAcpiConfig {
  const cpus = checkInt('cpus', c.cpus, 1, 255);
  const hole = c.pciHole32 ?? DEFAULT_PCI_HOLE32;
  const h32 = { start: Number(hole.start), end: Number(hole.end) };
  if (!(h32.start <= h32.end && h32.end <= 0xffff_ffff)) throw new Error('ACPI config: pciHole32 must be an ordered range below 4 GiB');
  let h64: { start: bigint; end: bigint } | null = null;
  if (c.pciHole64) {
    h64 = { start: BigInt(c.pciHole64.start), end: BigInt(c.pciHole64.end) };
    if (!(h64.start <= h64.end)) throw new Error('ACPI config: pciHole64 must be an ordered range');
  }
  const comPorts = c.comPorts ?? [1];
  for (const p of comPorts) if (p !== 1 && p !== 2) throw new Error('ACPI config: comPorts may hold 1 and 2 only');
  return {
    cpus,
    comPorts,
    hpet: c.hpet,
    pmBase: checkInt('pmBase', c.pmBase ?? 0x600, 0, 0xffc0),
    gpe0Base: checkInt('gpe0Base', c.gpe0Base ?? 0xafe0, 0, 0xffff),
    gpe0Length: checkInt('gpe0Length', c.gpe0Length ?? 4, 0, 255),
    sciIrq: checkInt('sciIrq', c.sciIrq ?? 9, 0, 15),
    smiCmdPort: checkInt('smiCmdPort', c.smiCmdPort ?? 0xb2, 0, 0xffff),
    acpiEnable: checkInt('acpiEnable', c.acpiEnable ?? 0xf1, 0, 255),
    acpiDisable: checkInt('acpiDisable', c.acpiDisable ?? 0xf0, 0, 255),
    lapicAddress: checkInt('lapicAddress', c.lapicAddress ?? 0xfee0_0000, 0, 0xffff_ffff),
    ioapicAddress: checkInt('ioapicAddress', c.ioapicAddress ?? 0xfec0_0000, 0, 0xffff_ffff),
    hpetAddress: checkInt('hpetAddress', c.hpetAddress ?? 0xfed0_0000, 0, 0xffff_ffff),
    ioapicId: checkInt('ioapicId', c.ioapicId ?? (cpus <= 15 ? cpus : 0), 0, 255),
    pciHole32: h32,
    pciHole64: h64,
    fadtRevision: c.fadtRevision ?? 3,
    rsdpRevision: c.rsdpRevision ?? 0,
    s3: c.s3 ?? false,
    s4: c.s4 ?? false,
    cpuObjects: c.cpuObjects ?? 'processor',
  };
}
