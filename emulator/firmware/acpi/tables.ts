/**
 * ACPI tables of the i440FX/PIIX "pc" board, laid out and linked as QEMU pc does
 * (hw/i386/acpi-build.c acpi_build, hw/acpi/aml-build.c build_fadt/build_rsdp/...).
 *
 * Follows ACPI 6.5: 5.2.5 RSDP (revision 0 with an RSDT for SeaBIOS-era guests, as
 * QEMU pc; optionally revision 2 with an XSDT), 5.2.7 RSDT, 5.2.8 XSDT, 5.2.9 FADT
 * (revision 3 = the ACPI 2.0 layout, or 1 as QEMU pc), 5.2.10 FACS, 5.2.12 MADT
 * (Processor Local APIC, I/O APIC, Interrupt Source Override, Local APIC NMI), and the
 * IA-PC HPET spec 1.0a section 3.2.4 "ACPI table". The DSDT lives in dsdt.ts.
 * Blob order as QEMU: FACS first (64-byte aligned), DSDT, FADT, MADT, HPET, RSDT, XSDT.
 * Pointer fields hold offsets within `etc/acpi/tables`; the firmware adds the blob's
 * address (ADD_POINTER) and recomputes checksums (ADD_CHECKSUM), see bios-linker.ts.
 * Leaves out: SSDTs, SRAT/SLIT (NUMA), MCFG (no PCIe), WAET, TPM2, S3/S4 wake vectors.
 */
import { ACPI_RSDP_FILE, ACPI_TABLES_FILE, BiosLinker } from './bios-linker.js';
import { resolveAcpiConfig, type AcpiConfig, type ResolvedAcpiConfig } from './config.js';
import { buildDsdt } from './dsdt.js';
import { ByteWriter, finishTable, fixChecksum, GasSpace, SDT_CHECKSUM_OFFSET, VIREO_OEM, writeGas, writeHeader } from './sdt.js';

/** HPET Event Timer Block ID: vendor 0x8086, legacy capable, 64-bit, 3 timers, rev 1. */
export const HPET_EVENT_TIMER_BLOCK_ID = 0x8086a201;
/** ISA IRQs QEMU routes PCI links to, declared level/active-high in the MADT. */
export const PCI_LINK_ISA_IRQS = [5, 9, 10, 11] as const;

/** FADT flag bits (ACPI 6.5 table 5.10). */
export const FadtFlag = {
  WBINVD: 1 << 0,
  PROC_C1: 1 << 2,
  SLP_BUTTON: 1 << 5,
  RTC_S4: 1 << 7,
  TMR_VAL_EXT: 1 << 8,
  RESET_REG_SUP: 1 << 10,
  USE_PLATFORM_CLOCK: 1 << 15,
  FORCE_APIC_CLUSTER_MODEL: 1 << 18,
} as const;

/** IA-PC boot architecture flag: an 8042 keyboard controller is present. */
export const IAPC_BOOT_ARCH_8042 = 1 << 1;
/** PIIX3 reset control register, and the value that requests a hard reset. */
export const RESET_REG_PORT = 0xcf9;
export const RESET_VALUE = 0x06;
/** RTC CMOS index of the century byte. */
export const RTC_CENTURY_INDEX = 0x32;

/** FACS: 64 bytes, firmware fills nothing else (no S4BIOS, no global lock users). */
export function buildFacs(): Uint8Array {
  const w = new ByteWriter();
  w.ascii('FACS', 4).u32(64).zeros(56);
  return w.toBytes();
}

/** Offsets of the pointer fields inside the FADT. */
export const FADT_FIRMWARE_CTRL = 36;
export const FADT_DSDT = 40;
export const FADT_X_DSDT = 140;

/** FADT: fixed hardware of the PIIX4 PM function. Pointer fields hold blob offsets. */
export function buildFadt(c: ResolvedAcpiConfig, facsOffset: number, dsdtOffset: number): Uint8Array {
  const w = new ByteWriter();
  const rev = c.fadtRevision;
  writeHeader(w, 'FACP', rev, VIREO_OEM);
  let flags = FadtFlag.WBINVD | FadtFlag.PROC_C1 | FadtFlag.SLP_BUTTON | FadtFlag.RTC_S4 | FadtFlag.USE_PLATFORM_CLOCK;
  // The PIIX4 PM timer is 24 bits wide: TMR_VAL_EXT stays clear.
  if (c.cpus > 8) flags |= FadtFlag.FORCE_APIC_CLUSTER_MODEL;
  if (rev >= 3) flags |= FadtFlag.RESET_REG_SUP;
  w.u32(facsOffset).u32(dsdtOffset)
    .u8(1) // INT_MODEL (ACPI 1.0): multiple APIC; reserved since 2.0, QEMU still writes 1
    .u8(0) // Preferred_PM_Profile: unspecified
    .u16(c.sciIrq).u32(c.smiCmdPort).u8(c.acpiEnable).u8(c.acpiDisable)
    .u8(0).u8(0) // S4BIOS_REQ, PSTATE_CNT
    .u32(c.pmBase).u32(0) // PM1a/b_EVT_BLK
    .u32(c.pmBase + 4).u32(0) // PM1a/b_CNT_BLK
    .u32(0) // PM2_CNT_BLK
    .u32(c.pmBase + 8) // PM_TMR_BLK
    .u32(c.gpe0Base).u32(0) // GPE0/1_BLK
    .u8(4).u8(2).u8(0).u8(4) // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN
    .u8(c.gpe0Length).u8(0).u8(0) // GPE0_BLK_LEN, GPE1_BLK_LEN, GPE1_BASE
    .u8(0) // CST_CNT
    .u16(0x0fff).u16(0x0fff) // P_LVL2_LAT, P_LVL3_LAT: C2/C3 not supported
    .u16(0).u16(0).u8(0).u8(0) // FLUSH_SIZE, FLUSH_STRIDE, DUTY_OFFSET, DUTY_WIDTH
    .u8(0).u8(0).u8(RTC_CENTURY_INDEX) // DAY_ALRM, MON_ALRM, CENTURY
    .u16(IAPC_BOOT_ARCH_8042).u8(0)
    .u32(flags);
  if (rev >= 3) {
    writeGas(w, { space: GasSpace.SystemIO, bitWidth: 8, bitOffset: 0, accessSize: 0, address: RESET_REG_PORT });
    w.u8(RESET_VALUE).zeros(3);
    w.u64(0); // X_FIRMWARE_CTRL: 0, FIRMWARE_CTRL is used (as QEMU)
    w.u64(dsdtOffset); // X_DSDT
    // Absent blocks are all-zero GASes.
    const io = (address: number, bits: number): void => (address === 0
      ? writeGas(w, { space: 0, bitWidth: 0, bitOffset: 0, accessSize: 0, address: 0 })
      : writeGas(w, { space: GasSpace.SystemIO, bitWidth: bits, bitOffset: 0, accessSize: 0, address }));
    io(c.pmBase, 32); io(0, 0); // X_PM1a/b_EVT_BLK
    io(c.pmBase + 4, 16); io(0, 0); // X_PM1a/b_CNT_BLK
    io(0, 0); // X_PM2_CNT_BLK
    io(c.pmBase + 8, 32); // X_PM_TMR_BLK
    io(c.gpe0Base, c.gpe0Length * 8); io(0, 0); // X_GPE0/1_BLK
  }
  return finishTable(w);
}

/** MADT interrupt source override flags: active high (01), level triggered (11 << 2). */
export const MADT_ISO_LEVEL_HIGH = 0x000d;

/** MADT: one local APIC per CPU, the IOAPIC, QEMU pc's source overrides, LINT1 = NMI. */
export function buildMadt(c: ResolvedAcpiConfig): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, 'APIC', 1, VIREO_OEM);
  w.u32(c.lapicAddress).u32(1 /* PCAT_COMPAT: dual 8259s present */);
  for (let i = 0; i < c.cpus; i++) w.u8(0).u8(8).u8(i).u8(i).u32(1 /* enabled */);
  w.u8(1).u8(12).u8(c.ioapicId).u8(0).u32(c.ioapicAddress).u32(0 /* GSI base */);
  // IRQ0 (PIT) arrives on IOAPIC pin 2; flags 0 = conforming to the ISA bus (edge, high).
  w.u8(2).u8(10).u8(0).u8(0).u32(2).u16(0);
  for (const irq of PCI_LINK_ISA_IRQS) w.u8(2).u8(10).u8(0).u8(irq).u32(irq).u16(MADT_ISO_LEVEL_HIGH);
  w.u8(4).u8(6).u8(0xff /* all processors */).u16(0).u8(1 /* LINT1 */);
  return finishTable(w);
}

/** HPET description table (IA-PC HPET 1.0a 3.2.4). */
export function buildHpetTable(c: ResolvedAcpiConfig): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, 'HPET', 1, VIREO_OEM);
  w.u32(HPET_EVENT_TIMER_BLOCK_ID);
  writeGas(w, { space: GasSpace.SystemMemory, bitWidth: 0, bitOffset: 0, accessSize: 0, address: c.hpetAddress });
  w.u8(0) // HPET number
    .u16(0x0080) // main counter minimum clock tick in periodic mode
    .u8(0); // page protection: none
  return finishTable(w);
}

/** RSDT (32-bit entries) or XSDT (64-bit entries) over table offsets in the blob. */
export function buildRootTable(signature: 'RSDT' | 'XSDT', entryOffsets: readonly number[]): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, signature, 1, VIREO_OEM);
  for (const off of entryOffsets) w.uint(off, signature === 'RSDT' ? 4 : 8);
  return finishTable(w);
}

/** Offsets inside the RSDP. */
export const RSDP_RSDT_ADDRESS = 16;
export const RSDP_XSDT_ADDRESS = 24;
export const RSDP_CHECKSUM = 8;
export const RSDP_EXT_CHECKSUM = 32;

/** RSDP revision 0 (20 bytes) or 2 (36 bytes); address fields hold blob offsets. */
export function buildRsdp(revision: 0 | 2, rsdtOffset: number, xsdtOffset: number | null): Uint8Array {
  const w = new ByteWriter();
  w.ascii('RSD PTR ', 8).u8(0).ascii(VIREO_OEM.oemId, 6).u8(revision).u32(rsdtOffset);
  if (revision === 2) w.u32(36).u64(xsdtOffset ?? 0).u8(0).zeros(3);
  const b = w.toBytes();
  fixChecksum(b, 0, 20, RSDP_CHECKSUM);
  if (revision === 2) fixChecksum(b, 0, 36, RSDP_EXT_CHECKSUM);
  return b;
}

/** Where a table sits in `etc/acpi/tables`. */
export interface TablePlacement {
  signature: string;
  offset: number;
  length: number;
}

/** The result of building: the two blobs and the loader commands that link them. */
export interface AcpiBuild {
  config: ResolvedAcpiConfig;
  /** `etc/acpi/tables`. */
  tables: Uint8Array;
  /** `etc/acpi/rsdp`. */
  rsdp: Uint8Array;
  placements: TablePlacement[];
  linker: BiosLinker;
}

/** Builds every table for `config`, lays them out and records the loader commands. */
export function buildAcpiTables(config: AcpiConfig): AcpiBuild {
  const c = resolveAcpiConfig(config);
  const linker = new BiosLinker();
  const blob = new ByteWriter();
  const placements: TablePlacement[] = [];
  linker.alloc(ACPI_TABLES_FILE, 64, false);

  const place = (signature: string, bytes: Uint8Array): number => {
    const offset = blob.length;
    blob.bytes(bytes);
    placements.push({ signature, offset, length: bytes.length });
    return offset;
  };
  const checksum = (offset: number, length: number): void =>
    linker.addChecksum(ACPI_TABLES_FILE, offset, length, offset + SDT_CHECKSUM_OFFSET);

  const facs = place('FACS', buildFacs());
  const dsdtBytes = buildDsdt(c);
  const dsdt = place('DSDT', dsdtBytes);
  checksum(dsdt, dsdtBytes.length);

  const fadtBytes = buildFadt(c, facs, dsdt);
  const fadt = place('FACP', fadtBytes);
  linker.addPointer(ACPI_TABLES_FILE, fadt + FADT_FIRMWARE_CTRL, 4, ACPI_TABLES_FILE);
  linker.addPointer(ACPI_TABLES_FILE, fadt + FADT_DSDT, 4, ACPI_TABLES_FILE);
  if (c.fadtRevision >= 3) linker.addPointer(ACPI_TABLES_FILE, fadt + FADT_X_DSDT, 8, ACPI_TABLES_FILE);
  checksum(fadt, fadtBytes.length);

  const entries = [fadt];
  const madtBytes = buildMadt(c);
  const madt = place('APIC', madtBytes);
  checksum(madt, madtBytes.length);
  entries.push(madt);
  if (c.hpet) {
    const hpetBytes = buildHpetTable(c);
    const hpet = place('HPET', hpetBytes);
    checksum(hpet, hpetBytes.length);
    entries.push(hpet);
  }

  const rsdtBytes = buildRootTable('RSDT', entries);
  const rsdt = place('RSDT', rsdtBytes);
  entries.forEach((_, i) => linker.addPointer(ACPI_TABLES_FILE, rsdt + 36 + 4 * i, 4, ACPI_TABLES_FILE));
  checksum(rsdt, rsdtBytes.length);

  let xsdt: number | null = null;
  if (c.rsdpRevision === 2) {
    const xsdtBytes = buildRootTable('XSDT', entries);
    xsdt = place('XSDT', xsdtBytes);
    entries.forEach((_, i) => linker.addPointer(ACPI_TABLES_FILE, xsdt! + 36 + 8 * i, 8, ACPI_TABLES_FILE));
    checksum(xsdt, xsdtBytes.length);
  }

  const rsdp = buildRsdp(c.rsdpRevision, rsdt, xsdt);
  linker.alloc(ACPI_RSDP_FILE, 16, true);
  linker.addPointer(ACPI_RSDP_FILE, RSDP_RSDT_ADDRESS, 4, ACPI_TABLES_FILE);
  if (c.rsdpRevision === 2) linker.addPointer(ACPI_RSDP_FILE, RSDP_XSDT_ADDRESS, 8, ACPI_TABLES_FILE);
  linker.addChecksum(ACPI_RSDP_FILE, 0, 20, RSDP_CHECKSUM);
  if (c.rsdpRevision === 2) linker.addChecksum(ACPI_RSDP_FILE, 0, 36, RSDP_EXT_CHECKSUM);

  return { config: c, tables: blob.toBytes(), rsdp, placements, linker };
}
