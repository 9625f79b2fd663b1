/**
 * The standard fw_cfg items of QEMU's x86 "pc" machine, and encoders for the small
 * files firmware reads, so the board can fill an FwCfg the way QEMU does.
 *
 * Follows QEMU hw/nvram/fw_cfg.c (fw_cfg_common_realize: UUID, NOGRAPHIC, BOOT_MENU;
 * fw_cfg_reboot: "etc/boot-fail-wait"; fw_cfg_bootsplash: "etc/boot-menu-wait";
 * get_boot_devices_list: the "bootorder" format), hw/acpi/core.c acpi_pm1_cnt_init
 * ("etc/system-states", which OVMF reads to decide whether S3 is supported) and
 * hw/i386/fw_cfg.c
 * (fw_cfg_arch_create: NB_CPUS, MAX_CPUS, RAM_SIZE, IRQ0_OVERRIDE, the reservation-only
 * legacy E820_TABLE and the NUMA array), which SeaBIOS src/fw/paravirt.c reads.
 * Left out: ACPI tables and SMBIOS (their builders own those files), HPET, kernel
 * loading (the direct-boot loader sets KERNEL_* / INITRD_* / CMDLINE_* / SETUP_*).
 */
import { FwCfgKey, type FwCfg } from './fw-cfg.js';

/** Machine facts the standard items carry. */
export interface PcFwCfgInfo {
  /** Total guest RAM in bytes (FW_CFG_RAM_SIZE, 64-bit). */
  readonly ramSizeBytes: number;
  /** CPUs present at boot (FW_CFG_NB_CPUS; SeaBIOS also reads CMOS 5Fh). */
  readonly cpus: number;
  /** Highest APIC id + 1 (FW_CFG_MAX_CPUS); defaults to `cpus`. */
  readonly maxCpus?: number;
  /** 16-byte SMBIOS/VM UUID; zero when absent (QEMU's default). */
  readonly uuid?: Uint8Array;
  /** No graphical console (FW_CFG_NOGRAPHIC). */
  readonly nographic?: boolean;
  /** Offer the boot menu (FW_CFG_BOOT_MENU, read by SeaBIOS as "etc/show-boot-menu"). */
  readonly bootMenu?: boolean;
  /** Boot menu wait in ms ("etc/boot-menu-wait"); only added when given. */
  readonly bootMenuWaitMs?: number;
  /** Retry delay in ms after no bootable device; -1 = never (QEMU default). */
  readonly bootFailWaitMs?: number;
  /** Sleep states advertised in "etc/system-states"; default S3 off, S4 on (value 2). */
  readonly sleepStates?: SleepStates;
}

/** Which sleep states the platform supports and their SLP_TYP values. */
export interface SleepStates {
  readonly s3: boolean;
  readonly s4: boolean;
  /** SLP_TYP of S4 (PIIX4 PM s4Value, QEMU default 2). */
  readonly s4Value?: number;
}

/**
 * "etc/system-states": 6 bytes, one per S-state; bit 7 = supported, bits 2:0 = SLP_TYP
 * (QEMU: S0 80h, S3 81h, S4 80h|s4_val, S5 80h). QEMU 7.2 default: 80 00 00 81 82 80.
 */
export function encodeSystemStates(states: SleepStates): Uint8Array {
  const s4Value = states.s4Value ?? 2;
  if (!Number.isInteger(s4Value) || s4Value < 0 || s4Value > 7) throw new RangeError(`system-states: S4 value ${s4Value} not in 0..7`);
  return Uint8Array.from([0x80, 0, 0, states.s3 ? 0x81 : 0, states.s4 ? 0x80 | s4Value : 0, 0x80]);
}

/** Little-endian 16-bit value as bytes. */
export function encodeU16LE(value: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value & 0xffff, true);
  return b;
}

/** Little-endian 32-bit value as bytes (negative values wrap, e.g. -1 = ffffffff). */
export function encodeU32LE(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  return b;
}

/**
 * The "bootorder" file: OpenFirmware device paths such as
 * `/pci@i0cf8/ide@1,1/drive@0/disk@0`, one per line, the last newline replaced by a
 * NUL (QEMU's get_boot_devices_list). An empty list gives an empty file.
 */
export function encodeBootOrder(paths: readonly string[]): Uint8Array {
  if (paths.length === 0) return new Uint8Array(0);
  for (const p of paths) {
    if (p.length === 0 || !/^[\x21-\x7e]+$/.test(p)) throw new RangeError(`bootorder: "${p}" is not a printable ASCII device path`);
  }
  const text = paths.join('\n');
  const out = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Adds QEMU pc's standard fixed items and small files to `fw`. */
export function addPcFwCfgItems(fw: FwCfg, info: PcFwCfgInfo): void {
  const maxCpus = info.maxCpus ?? info.cpus;
  if (!Number.isInteger(info.cpus) || info.cpus < 1 || !Number.isInteger(maxCpus) || maxCpus < info.cpus || maxCpus > 0xffff) {
    throw new RangeError(`fw_cfg: cpus ${info.cpus} / maxCpus ${maxCpus} invalid`);
  }
  if (info.uuid && info.uuid.length !== 16) throw new RangeError('fw_cfg: uuid must be 16 bytes');
  fw.setBytes(FwCfgKey.UUID, info.uuid ?? new Uint8Array(16));
  fw.setU16(FwCfgKey.NOGRAPHIC, info.nographic ? 1 : 0);
  fw.setU16(FwCfgKey.BOOT_MENU, info.bootMenu ? 1 : 0);
  fw.setU16(FwCfgKey.NB_CPUS, info.cpus);
  fw.setU16(FwCfgKey.MAX_CPUS, maxCpus);
  fw.setU64(FwCfgKey.RAM_SIZE, info.ramSizeBytes);
  fw.setU32(FwCfgKey.IRQ0_OVERRIDE, 1);
  // struct e820_table { u32 count; e820_entry entry[16]; }: reservations only, none here.
  fw.setBytes(FwCfgKey.E820_TABLE, new Uint8Array(4 + 16 * 20));
  // NUMA: u64 node count (0), then one u64 node id per possible APIC id.
  fw.setBytes(FwCfgKey.NUMA, new Uint8Array(8 * (1 + maxCpus)));
  fw.addFile('etc/boot-fail-wait', encodeU32LE(info.bootFailWaitMs ?? -1));
  fw.addFile('etc/system-states', encodeSystemStates(info.sleepStates ?? { s3: false, s4: true }));
  if (info.bootMenuWaitMs !== undefined) fw.addFile('etc/boot-menu-wait', encodeU16LE(info.bootMenuWaitMs));
}
