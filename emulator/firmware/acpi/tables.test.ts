import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AcpiConfig } from './config.js';
import { runTableLoader, type LoaderResult } from './loader-interpreter.js';
import { byteSum } from './sdt.js';
import {
  ACPI_RSDP_FILE, ACPI_TABLES_FILE, buildAcpiFwCfgFiles, decodeLoaderEntries, LOADER_ENTRY_SIZE, TABLE_LOADER_FILE,
} from './table-loader.js';
import { HPET_EVENT_TIMER_BLOCK_ID } from './tables.js';

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const u64 = (b: Uint8Array, o: number): number => u32(b, o) + u32(b, o + 4) * 2 ** 32;
const sig = (b: Uint8Array, o = 0): string => String.fromCharCode(...b.subarray(o, o + 4));

interface Loaded {
  mem: LoaderResult;
  rsdpAddress: number;
  /** Guest address of each table reached from the RSDP, by signature. */
  tables: Map<string, { address: number; bytes: Uint8Array }>;
}

/** Builds, runs the loader like SeaBIOS would, then walks RSDP -> RSDT/XSDT -> FADT -> FACS/DSDT. */
function load(config: AcpiConfig): Loaded {
  const { files } = buildAcpiFwCfgFiles(config);
  const blobs = new Map(files.map((f) => [f.name, f.bytes]));
  const mem = runTableLoader(blobs, blobs.get(TABLE_LOADER_FILE)!);
  expect(mem.errors).toEqual([]);
  const rsdp = mem.files.get(ACPI_RSDP_FILE)!;
  expect(rsdp.address).toBeGreaterThanOrEqual(0xe0000);
  expect(rsdp.address).toBeLessThan(0x100000);
  expect(rsdp.address % 16).toBe(0);
  const tables = new Map<string, { address: number; bytes: Uint8Array }>();
  const grab = (address: number): Uint8Array => {
    const len = u32(mem.read(address + 4, 4), 0);
    const bytes = mem.read(address, len);
    tables.set(sig(bytes), { address, bytes });
    return bytes;
  };
  const rsdt = grab(u32(rsdp.bytes, 16));
  for (let o = 36; o < rsdt.length; o += 4) grab(u32(rsdt, o));
  if (rsdp.bytes[15] === 2) {
    const xsdt = grab(u64(rsdp.bytes, 24));
    for (let o = 36; o < xsdt.length; o += 8) expect(tables.get(sig(mem.read(u64(xsdt, o), 4)))!.address).toBe(u64(xsdt, o));
  }
  const fadt = tables.get('FACP')!.bytes;
  const facsAddr = u32(fadt, 36);
  tables.set('FACS', { address: facsAddr, bytes: mem.read(facsAddr, 64) });
  grab(u32(fadt, 40));
  return { mem, rsdpAddress: rsdp.address, tables };
}

const BASE: AcpiConfig = { cpus: 2, hpet: true, comPorts: [1, 2] };

describe('ACPI tables through the fw_cfg table loader', () => {
  it('produces the three fw_cfg files QEMU does, with 128-byte loader commands', () => {
    const { files } = buildAcpiFwCfgFiles(BASE);
    expect(files.map((f) => f.name)).toEqual([ACPI_TABLES_FILE, ACPI_RSDP_FILE, TABLE_LOADER_FILE]);
    const loader = files[2]!.bytes;
    expect(loader.length % LOADER_ENTRY_SIZE).toBe(0);
    const cmds = decodeLoaderEntries(loader);
    expect(cmds[0]).toEqual({ kind: 'allocate', file: ACPI_TABLES_FILE, align: 64, zone: 1 });
    expect(cmds.find((c) => c.kind === 'allocate' && c.file === ACPI_RSDP_FILE)).toEqual({ kind: 'allocate', file: ACPI_RSDP_FILE, align: 16, zone: 2 });
  });

  it('links every pointer and leaves every checksum valid after loading', () => {
    const { mem, tables } = load(BASE);
    const rsdp = mem.files.get(ACPI_RSDP_FILE)!.bytes;
    expect(String.fromCharCode(...rsdp.subarray(0, 8))).toBe('RSD PTR ');
    expect(rsdp.length).toBe(20);
    expect(rsdp[15]).toBe(0);
    expect(byteSum(rsdp, 0, 20)).toBe(0);
    expect([...tables.keys()].sort()).toEqual(['APIC', 'DSDT', 'FACP', 'FACS', 'HPET', 'RSDT']);
    for (const [name, t] of tables) {
      if (name !== 'FACS') expect(byteSum(t.bytes), `${name} checksum`).toBe(0);
    }
    const facs = tables.get('FACS')!;
    expect(sig(facs.bytes)).toBe('FACS');
    expect(facs.address % 64).toBe(0);
    const fadt = tables.get('FACP')!.bytes;
    expect(u64(fadt, 140)).toBe(tables.get('DSDT')!.address); // X_DSDT
    expect(u64(fadt, 132)).toBe(0); // X_FIRMWARE_CTRL unused, as QEMU
  });

  it('describes the PIIX4 PM block, SCI, SMI and reset register in the FADT', () => {
    const fadt = load(BASE).tables.get('FACP')!.bytes;
    expect(fadt[8]).toBe(3);
    expect(fadt.length).toBe(244);
    expect(u16(fadt, 46)).toBe(9);
    expect(u32(fadt, 48)).toBe(0xb2);
    expect([fadt[52], fadt[53]]).toEqual([0xf1, 0xf0]);
    expect([u32(fadt, 56), u32(fadt, 64), u32(fadt, 76), u32(fadt, 80)]).toEqual([0x600, 0x604, 0x608, 0xafe0]);
    expect([fadt[88], fadt[89], fadt[91], fadt[92]]).toEqual([4, 2, 4, 4]);
    expect(fadt[108]).toBe(0x32);
    const flags = u32(fadt, 112);
    expect(flags & 0x1).toBe(1); // WBINVD
    expect(flags & 0x4).toBe(4); // PROC_C1
    expect(flags & 0x20).toBe(0x20); // SLP_BUTTON
    expect(flags & 0x100).toBe(0); // 24-bit PM timer
    expect(flags & 0x400).toBe(0x400); // RESET_REG_SUP
    expect([fadt[116], fadt[117], u64(fadt, 120), fadt[128]]).toEqual([1, 8, 0xcf9, 0x06]);
  });

  it('builds the MADT as QEMU pc does', () => {
    const madt = load({ ...BASE, cpus: 3 }).tables.get('APIC')!.bytes;
    expect(u32(madt, 36)).toBe(0xfee00000);
    expect(u32(madt, 40)).toBe(1);
    const entries: number[][] = [];
    for (let o = 44; o < madt.length; o += madt[o + 1]!) entries.push([...madt.subarray(o, o + madt[o + 1]!)]);
    const lapics = entries.filter((e) => e[0] === 0);
    expect(lapics.map((e) => [e[2], e[3], e[4]])).toEqual([[0, 0, 1], [1, 1, 1], [2, 2, 1]]);
    const ioapic = entries.find((e) => e[0] === 1)!;
    expect(ioapic[2]).toBe(3); // id right after the CPUs
    expect(u32(Uint8Array.from(ioapic), 4)).toBe(0xfec00000);
    expect(u32(Uint8Array.from(ioapic), 8)).toBe(0);
    const isos = entries.filter((e) => e[0] === 2).map((e) => { const b = Uint8Array.from(e); return [b[3], u32(b, 4), u16(b, 8)]; });
    expect(isos).toEqual([[0, 2, 0], [5, 5, 0xd], [9, 9, 0xd], [10, 10, 0xd], [11, 11, 0xd]]);
    expect(entries.filter((e) => e[0] === 4)).toEqual([[4, 6, 0xff, 0, 0, 1]]);
  });

  it('describes the HPET block', () => {
    const hpet = load(BASE).tables.get('HPET')!.bytes;
    expect(hpet.length).toBe(56);
    expect(u32(hpet, 36)).toBe(HPET_EVENT_TIMER_BLOCK_ID);
    expect(hpet[40]).toBe(0);
    expect(u64(hpet, 44)).toBe(0xfed00000);
  });

  it('supports RSDP revision 2 with an XSDT, FADT revision 1, no HPET', () => {
    const { mem, tables } = load({ cpus: 1, hpet: false, rsdpRevision: 2, fadtRevision: 1 });
    const rsdp = mem.files.get(ACPI_RSDP_FILE)!.bytes;
    expect(rsdp.length).toBe(36);
    expect(byteSum(rsdp, 0, 20)).toBe(0);
    expect(byteSum(rsdp, 0, 36)).toBe(0);
    expect(tables.has('XSDT')).toBe(true);
    expect(tables.has('HPET')).toBe(false);
    expect(tables.get('FACP')!.bytes.length).toBe(116);
    for (const [name, t] of tables) if (name !== 'FACS') expect(byteSum(t.bytes), name).toBe(0);
  });

  it('rejects nonsense configuration (host bug)', () => {
    expect(() => buildAcpiFwCfgFiles({ cpus: 0, hpet: true })).toThrow(/cpus/);
    expect(() => buildAcpiFwCfgFiles({ cpus: 1, hpet: true, pciHole32: { start: 0xf0000000, end: 0xe0000000 } })).toThrow(/pciHole32/);
  });
});

const IASL = ['/usr/bin/iasl', '/usr/local/bin/iasl'].find((p) => existsSync(p));
if (!IASL) console.warn('tables.test: iasl (Debian acpica-tools) not found; skipping the decompiler checks');

describe.skipIf(!IASL)('iasl decompiles the loaded tables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vireo-acpi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const iasl = (...args: string[]): string => execFileSync(IASL!, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('disassembles every table without errors and the DSDT has the expected devices', () => {
    const { tables } = load({ ...BASE, cpus: 4, pciHole64: { start: 0x8_0000_0000n, end: 0xf_ffff_ffffn }, s3: true, s4: true });
    for (const [name, t] of tables) {
      const file = join(dir, `${name}.dat`);
      writeFileSync(file, t.bytes);
      const out = iasl('-d', file);
      expect(out, name).not.toMatch(/\bError\b/);
      expect(existsSync(join(dir, `${name}.dsl`)), name).toBe(true);
    }
    const dsl = readFileSync(join(dir, 'DSDT.dsl'), 'utf8');
    for (const needle of [
      'Device (PCI0)', 'EisaId ("PNP0A03")', 'Name (_PRT, Package (0x7C)', 'Device (LNKA)', 'Device (LNKD)', 'Device (LNKS)',
      'EisaId ("PNP0C0F")', 'OperationRegion (P40C, PCI_Config, 0x60, 0x04)', 'Device (ISA)',
      'Device (RTC)', 'EisaId ("PNP0B00")', 'Device (KBD)', 'EisaId ("PNP0303")', 'Device (MOU)', 'EisaId ("PNP0F13")',
      'Device (COM1)', 'Device (COM2)', 'EisaId ("PNP0501")', 'Device (HPET)', 'EisaId ("PNP0103")', '0xFED00000',
      'Processor (C000, 0x00', 'Processor (C003, 0x03', 'Name (\\_S5, Package', 'Name (\\_S3, Package', 'QWordMemory',
    ]) expect(dsl, needle).toContain(needle);
    const madt = readFileSync(join(dir, 'APIC.dsl'), 'utf8');
    expect(madt).toContain('Interrupt Source Override');
    const fadt = readFileSync(join(dir, 'FACP.dsl'), 'utf8');
    expect(fadt).toMatch(/Reset Register Supported \(V2\) : 1/);
  });

  it('recompiling the disassembled DSDT gives back our exact AML', () => {
    const { tables } = load({ cpus: 2, hpet: true, cpuObjects: 'device' });
    const dsdt = tables.get('DSDT')!.bytes;
    writeFileSync(join(dir, 'rt.dat'), dsdt);
    iasl('-d', join(dir, 'rt.dat'));
    iasl('-oa', '-p', join(dir, 'rt2'), join(dir, 'rt.dsl'));
    const again = readFileSync(join(dir, 'rt2.aml'));
    expect(Buffer.from(again.subarray(36)).equals(Buffer.from(dsdt.subarray(36)))).toBe(true);
  });
});
