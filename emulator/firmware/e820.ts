/**
 * E820 memory maps and CMOS memory-size bytes for QEMU's "pc" (i440FX) machine.
 *
 * Follows QEMU hw/i386/pc_piix.c (the split of RAM into below_4g_mem_size and
 * above_4g_mem_size: everything below 4 GiB up to 3.5 GiB, else 3 GiB below and the
 * rest from 4 GiB, "gigabyte_align"), hw/i386/pc.c pc_memory_init (the "etc/e820"
 * fw_cfg file: one RAM entry for the low part from 0, one from 4 GiB) and pc_cmos_init
 * (CMOS 15h/16h base memory in KiB, 17h/18h and 30h/31h extended memory in KiB capped
 * at 65535, 34h/35h memory above 16 MiB in 64 KiB units, 5Bh-5Dh memory above 4 GiB in
 * 64 KiB units, 5Fh CPU count - 1) which SeaBIOS qemu_preinit reads before fw_cfg.
 * The e820 entry layout is the BIOS INT 15h/E820h one (ACPI 3.0 section 14): u64 base,
 * u64 length, u32 type, little-endian, 20 bytes.
 *
 * `guestE820` also builds the classic OS-facing map (640 KiB base memory with the
 * EBDA reserved, the BIOS area, the 256 KiB flash at the top of 4 GiB) for direct
 * kernel boot, where no firmware builds one.
 */

/** Address range types (ACPI 3.0 table 14-1). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;

/** One address range; addresses are exact up to 2^53. */
export interface E820Entry {
  readonly gpa: number;
  readonly lengthBytes: number;
  readonly type: number;
}

/** How guest RAM is split around the 32-bit PCI hole. */
export interface PcRamLayout {
  /** RAM mapped from 0 up to this size (below the PCI hole). */
  readonly below4gBytes: number;
  /** RAM mapped from 4 GiB. */
  readonly above4gBytes: number;
}

/** Options of the split. */
export interface PcRamLayoutOptions {
  /** QEMU's max-ram-below-4g; default 0xE0000000 (3.5 GiB). */
  readonly maxRamBelow4g?: number;
  /** Move the split down to 3 GiB when RAM has to be split (QEMU >= 1.7 machine types). */
  readonly gigabyteAlign?: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const FOUR_GIB = 4 * GiB;

/** Splits `ramBytes` as QEMU's pc_init1 does (i440FX). */
export function pcRamLayout(ramBytes: number, opts: PcRamLayoutOptions = {}): PcRamLayout {
  if (!Number.isSafeInteger(ramBytes) || ramBytes <= 0 || ramBytes % (4 * KiB) !== 0) {
    throw new RangeError(`e820: RAM size ${ramBytes} must be a positive multiple of 4 KiB`);
  }
  const maxBelow = opts.maxRamBelow4g ?? 0xe000_0000;
  if (maxBelow <= 0 || maxBelow > FOUR_GIB) throw new RangeError(`e820: maxRamBelow4g ${maxBelow} out of range`);
  let lowmem = maxBelow;
  if (ramBytes >= maxBelow && (opts.gigabyteAlign ?? true) && lowmem > 0xc000_0000) lowmem = 0xc000_0000;
  if (ramBytes >= lowmem) return { below4gBytes: lowmem, above4gBytes: ramBytes - lowmem };
  return { below4gBytes: ramBytes, above4gBytes: 0 };
}

/** Start and size of the AMD HyperTransport range QEMU >= 7.1 reserves for AMD CPUs. */
export const AMD_HT_HOLE_GPA = 0xfd_0000_0000;
export const AMD_HT_HOLE_BYTES = 0x3_0000_0000;

/** Options of the firmware map. */
export interface FirmwareE820Options {
  /**
   * Reserve 0xFD_0000_0000 + 12 GiB first, as QEMU 7.2 pc_memory_init does when the
   * guest CPU vendor is AMD. Leave off for an Intel CPU model.
   */
  readonly reserveAmdHtHole?: boolean;
}

/**
 * The contents QEMU puts in fw_cfg "etc/e820": RAM from 0, and RAM from 4 GiB
 * (SeaBIOS adds the legacy holes itself, OVMF builds its own map from these).
 */
export function firmwareE820(layout: PcRamLayout, opts: FirmwareE820Options = {}): E820Entry[] {
  const out: E820Entry[] = [];
  if (opts.reserveAmdHtHole) out.push({ gpa: AMD_HT_HOLE_GPA, lengthBytes: AMD_HT_HOLE_BYTES, type: E820_RESERVED });
  out.push({ gpa: 0, lengthBytes: layout.below4gBytes, type: E820_RAM });
  if (layout.above4gBytes > 0) out.push({ gpa: FOUR_GIB, lengthBytes: layout.above4gBytes, type: E820_RAM });
  return out;
}

/** Options of the OS-facing map. */
export interface GuestE820Options {
  /** Start of the EBDA (end of usable base memory); default 9FC00h. */
  readonly ebdaGpa?: number;
}

/**
 * The classic OS-facing map: base memory below the EBDA, EBDA to 640 KiB reserved,
 * F0000h-FFFFFh reserved (the BIOS, as SeaBIOS reports it), RAM from 1 MiB to the PCI hole, the 256 KiB
 * BIOS flash below 4 GiB reserved, RAM above 4 GiB. Entries are sorted and disjoint.
 */
export function guestE820(layout: PcRamLayout, opts: GuestE820Options = {}): E820Entry[] {
  const ebda = opts.ebdaGpa ?? 0x9fc00;
  if (layout.below4gBytes < 2 * MiB) throw new RangeError('e820: need at least 2 MiB of RAM below 4 GiB');
  const out: E820Entry[] = [
    { gpa: 0, lengthBytes: ebda, type: E820_RAM },
    { gpa: ebda, lengthBytes: 0xa0000 - ebda, type: E820_RESERVED },
    { gpa: 0xf0000, lengthBytes: 0x10000, type: E820_RESERVED },
    { gpa: MiB, lengthBytes: layout.below4gBytes - MiB, type: E820_RAM },
    { gpa: FOUR_GIB - 256 * KiB, lengthBytes: 256 * KiB, type: E820_RESERVED },
  ];
  if (layout.above4gBytes > 0) out.push({ gpa: FOUR_GIB, lengthBytes: layout.above4gBytes, type: E820_RAM });
  return out;
}

/** Size of one encoded entry. */
export const E820_ENTRY_SIZE = 20;

/** Encodes entries back to back, 20 bytes each, little-endian (the "etc/e820" format). */
export function encodeE820(entries: readonly E820Entry[]): Uint8Array {
  const out = new Uint8Array(entries.length * E820_ENTRY_SIZE);
  const dv = new DataView(out.buffer);
  entries.forEach((e, i) => {
    if (!Number.isSafeInteger(e.gpa) || e.gpa < 0 || !Number.isSafeInteger(e.lengthBytes) || e.lengthBytes < 0) {
      throw new RangeError(`e820: entry ${i} has an invalid range`);
    }
    const at = i * E820_ENTRY_SIZE;
    dv.setBigUint64(at, BigInt(e.gpa), true);
    dv.setBigUint64(at + 8, BigInt(e.lengthBytes), true);
    dv.setUint32(at + 16, e.type >>> 0, true);
  });
  return out;
}

/** Decodes an "etc/e820" blob (the inverse of `encodeE820`). */
export function decodeE820(bytes: Uint8Array): E820Entry[] {
  if (bytes.length % E820_ENTRY_SIZE !== 0) throw new RangeError(`e820: ${bytes.length} bytes is not a whole number of entries`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: E820Entry[] = [];
  for (let at = 0; at < bytes.length; at += E820_ENTRY_SIZE) {
    out.push({
      gpa: Number(dv.getBigUint64(at, true)),
      lengthBytes: Number(dv.getBigUint64(at + 8, true)),
      type: dv.getUint32(at + 16, true),
    });
  }
  return out;
}

/** One CMOS byte to preset. */
export interface CmosByte {
  readonly index: number;
  readonly value: number;
}

/** The CMOS memory-size bytes (and CPU count) QEMU's pc_cmos_init writes. */
export function cmosMemoryBytes(layout: PcRamLayout, cpus = 1): CmosByte[] {
  const below = layout.below4gBytes;
  const base = Math.min(Math.floor(below / KiB), 640);
  const ext = below > MiB ? Math.min(Math.floor((below - MiB) / KiB), 0xffff) : 0;
  const above16 = below > 16 * MiB ? Math.min(Math.floor((below - 16 * MiB) / (64 * KiB)), 0xffff) : 0;
  const high = Math.floor(layout.above4gBytes / (64 * KiB));
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) throw new RangeError(`cmos: cpu count ${cpus} out of range`);
  return [
    { index: 0x15, value: base & 0xff },
    { index: 0x16, value: (base >> 8) & 0xff },
    { index: 0x17, value: ext & 0xff },
    { index: 0x18, value: (ext >> 8) & 0xff },
    { index: 0x30, value: ext & 0xff },
    { index: 0x31, value: (ext >> 8) & 0xff },
    { index: 0x34, value: above16 & 0xff },
    { index: 0x35, value: (above16 >> 8) & 0xff },
    { index: 0x5b, value: high & 0xff },
    { index: 0x5c, value: Math.floor(high / 0x100) & 0xff },
    { index: 0x5d, value: Math.floor(high / 0x10000) & 0xff },
    { index: 0x5f, value: cpus - 1 },
  ];
}
