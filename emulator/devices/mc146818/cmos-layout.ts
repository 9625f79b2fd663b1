/**
 * The PC CMOS RAM layout the firmware reads: memory sizes, equipment byte and the
 * QEMU/SeaBIOS boot-order bytes. Pure functions over a byte setter, used by the board.
 *
 * Follows: IBM PC/AT Technical Reference CMOS map (0x10 floppy types, 0x14 equipment,
 * 0x15/0x16 base memory, 0x17/0x18 and 0x30/0x31 extended memory); QEMU hw/i386/pc.c
 * pc_cmos_init and set_boot_dev (0x34/0x35 memory above 16 MiB in 64 KiB units,
 * 0x5b-0x5d memory above 4 GiB in 64 KiB units, 0x3d/0x38 boot devices), which is what
 * SeaBIOS src/boot.c and src/fw/paravirt.c read.
 * Leaves out: the 0x2e/0x2f checksum (neither QEMU nor SeaBIOS use it), hard-disk type
 * bytes 0x12/0x19/0x1a (SeaBIOS probes ATA itself).
 */

/** CMOS offset: floppy drive types (high nibble A:, low nibble B:). */
export const CMOS_FLOPPY_TYPES = 0x10;
/** CMOS offset: equipment byte. */
export const CMOS_EQUIPMENT = 0x14;
/** CMOS offset: base memory in KiB, low byte (0x16 high). */
export const CMOS_BASE_MEM_LO = 0x15;
/** CMOS offset: extended memory in KiB above 1 MiB, low byte (0x18 high). */
export const CMOS_EXT_MEM_LO = 0x17;
/** CMOS offset: copy of the extended memory size (POST), low byte (0x31 high). */
export const CMOS_EXT_MEM2_LO = 0x30;
/** CMOS offset: memory between 16 MiB and 4 GiB in 64 KiB units, low byte (0x35 high). */
export const CMOS_MEM_ABOVE_16M_LO = 0x34;
/** CMOS offset: boot devices 3 (high nibble) and floppy signature check disable (bit 0). */
export const CMOS_BOOT_DEV3 = 0x38;
/** CMOS offset: boot devices 1 (low nibble) and 2 (high nibble). */
export const CMOS_BOOT_DEV12 = 0x3d;
/** CMOS offset: memory above 4 GiB in 64 KiB units, 3 bytes little-endian (0x5b-0x5d). */
export const CMOS_MEM_ABOVE_4G = 0x5b;

/** Something that stores CMOS bytes (the MC146818). */
export interface CmosWriter {
  setByte(index: number, value: number): void;
}

/** RAM layout as the board splits it around the PCI hole. */
export interface MemoryLayout {
  /** RAM mapped below 4 GiB, bytes (including the first MiB). */
  belowFourGiB: number;
  /** RAM mapped from 4 GiB up, bytes. */
  aboveFourGiB: number;
}

/** Writes the memory-size bytes exactly as QEMU's pc_cmos_init does. */
export function setMemorySize(cmos: CmosWriter, mem: MemoryLayout): void {
  if (mem.belowFourGiB < 0 || mem.aboveFourGiB < 0) throw new RangeError('cmos: memory sizes must be non-negative');
  const word = (at: number, v: number) => { cmos.setByte(at, v & 0xff); cmos.setByte(at + 1, (v >> 8) & 0xff); };
  word(CMOS_BASE_MEM_LO, 640);
  const extKiB = Math.min(Math.max(Math.floor(mem.belowFourGiB / 1024) - 1024, 0), 0xffff);
  word(CMOS_EXT_MEM_LO, extKiB);
  word(CMOS_EXT_MEM2_LO, extKiB);
  const above16 = mem.belowFourGiB > 16 * 1024 * 1024 ? Math.min(Math.floor((mem.belowFourGiB - 16 * 1024 * 1024) / 65536), 0xffff) : 0;
  word(CMOS_MEM_ABOVE_16M_LO, above16);
  const above4g = Math.floor(mem.aboveFourGiB / 65536);
  cmos.setByte(CMOS_MEM_ABOVE_4G, above4g & 0xff);
  cmos.setByte(CMOS_MEM_ABOVE_4G + 1, Math.floor(above4g / 0x100) & 0xff);
  cmos.setByte(CMOS_MEM_ABOVE_4G + 2, Math.floor(above4g / 0x10000) & 0xff);
}

/** Equipment the firmware should report (INT 11h). */
export interface Equipment {
  /** Number of floppy drives, 0-2. */
  floppies: number;
  /** Floppy drive type nibbles for A: and B: (4 = 1.44 MB), default 4 for present drives. */
  floppyTypes?: [number, number];
  /** Math coprocessor present (default true). */
  fpu?: boolean;
}

/** Writes the equipment byte (0x14) and floppy types (0x10) like QEMU's pc_cmos_init_floppy. */
export function setEquipment(cmos: CmosWriter, eq: Equipment): void {
  if (!Number.isInteger(eq.floppies) || eq.floppies < 0 || eq.floppies > 2) throw new RangeError('cmos: floppies must be 0-2');
  const types = eq.floppyTypes ?? [eq.floppies > 0 ? 4 : 0, eq.floppies > 1 ? 4 : 0];
  cmos.setByte(CMOS_FLOPPY_TYPES, ((types[0] & 0xf) << 4) | (types[1] & 0xf));
  let v = 0;
  if (eq.floppies > 0) v |= 0x01 | ((eq.floppies - 1) << 6);
  if (eq.fpu ?? true) v |= 0x02;
  // Bits 4-5 = 00: EGA/VGA (an option ROM drives the display).
  cmos.setByte(CMOS_EQUIPMENT, v);
}

/** Boot devices as QEMU's -boot letters a, c, d, n. */
export type BootDevice = 'floppy' | 'disk' | 'cdrom' | 'network';

const BOOT_CODE: Record<BootDevice, number> = { floppy: 1, disk: 2, cdrom: 3, network: 4 };

/**
 * Writes the boot order (up to three devices) like QEMU's set_boot_dev:
 * 0x3d = dev1 | dev2 << 4; 0x38 = dev3 << 4 | (floppy signature check ? 0 : 1).
 */
export function setBootOrder(cmos: CmosWriter, order: readonly BootDevice[], floppySignatureCheck = true): void {
  if (order.length > 3) throw new RangeError('cmos: at most three boot devices');
  const code = (i: number) => (order[i] === undefined ? 0 : BOOT_CODE[order[i]]);
  cmos.setByte(CMOS_BOOT_DEV12, code(0) | (code(1) << 4));
  cmos.setByte(CMOS_BOOT_DEV3, (code(2) << 4) | (floppySignatureCheck ? 0 : 1));
}
