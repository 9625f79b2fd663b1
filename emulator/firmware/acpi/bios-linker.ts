/**
 * The fw_cfg "linker/loader" interface through which QEMU hands ACPI tables to SeaBIOS
 * and OVMF: the firmware allocates each named blob, patches pointers between them and
 * recomputes checksums by executing the commands in the `etc/table-loader` file.
 *
 * Follows: QEMU hw/acpi/bios-linker-loader.c (BiosLinkerLoaderEntry), SeaBIOS
 * src/fw/romfile_loader.c and OVMF QemuFwCfgAcpiPlatformDxe. Each command is 128 bytes,
 * little-endian:
 *   0   u32 command: 1 ALLOCATE, 2 ADD_POINTER, 3 ADD_CHECKSUM, 4 WRITE_POINTER
 *   ALLOCATE:     4 file[56], 60 u32 align, 64 u8 zone (1 HIGH = anywhere in 32-bit
 *                 memory, 2 FSEG = the 0xE0000-0xFFFFF BIOS segment)
 *   ADD_POINTER:  4 dest_file[56], 60 src_file[56], 116 u32 offset, 120 u8 size (1/2/4/8);
 *                 the little-endian value at dest+offset is incremented by src's address
 *   ADD_CHECKSUM: 4 file[56], 60 u32 result offset, 64 u32 start, 68 u32 length; the
 *                 byte at offset is decreased by the byte sum of [start, start+length)
 * File names are NUL-terminated within 56 bytes (FW_CFG_MAX_FILE_PATH).
 * Leaves out: WRITE_POINTER (vmgenid, not used here).
 */
/** fw_cfg file holding all tables but the RSDP, concatenated. */
export const ACPI_TABLES_FILE = 'etc/acpi/tables';
/** fw_cfg file holding the RSDP. */
export const ACPI_RSDP_FILE = 'etc/acpi/rsdp';
/** fw_cfg file holding the loader commands. */
export const TABLE_LOADER_FILE = 'etc/table-loader';

/** Size of one loader command. */
export const LOADER_ENTRY_SIZE = 128;
/** Size of a file name field (FW_CFG_MAX_FILE_PATH). */
export const LOADER_FILESZ = 56;

/** Loader command numbers. */
export const LoaderCommand = { Allocate: 1, AddPointer: 2, AddChecksum: 3, WritePointer: 4 } as const;
/** Allocation zones. */
export const AllocZone = { High: 1, FSeg: 2 } as const;

/** A decoded loader command. */
export type LoaderEntry =
  | { kind: 'allocate'; file: string; align: number; zone: number }
  | { kind: 'add-pointer'; destFile: string; srcFile: string; offset: number; size: number }
  | { kind: 'add-checksum'; file: string; resultOffset: number; start: number; length: number };

/** Collects loader commands (QEMU's BIOSLinker). */
export class BiosLinker {
  private readonly entries: LoaderEntry[] = [];

  /** Asks the firmware to allocate `file` with `align`, in the high zone or the F segment. */
  alloc(file: string, align: number, fseg: boolean): void {
    this.entries.push({ kind: 'allocate', file, align, zone: fseg ? AllocZone.FSeg : AllocZone.High });
  }

  /** Adds `srcFile`'s address to the `size`-byte pointer at `destFile`+`offset`. */
  addPointer(destFile: string, offset: number, size: 1 | 2 | 4 | 8, srcFile: string): void {
    this.entries.push({ kind: 'add-pointer', destFile, srcFile, offset, size });
  }

  /** Makes `file`[start, start+length) sum to 0 by adjusting the byte at `resultOffset`. */
  addChecksum(file: string, start: number, length: number, resultOffset: number): void {
    this.entries.push({ kind: 'add-checksum', file, resultOffset, start, length });
  }

  /** The commands recorded so far. */
  list(): readonly LoaderEntry[] {
    return this.entries;
  }

  /** The `etc/table-loader` blob. */
  encode(): Uint8Array {
    return encodeLoaderEntries(this.entries);
  }
}

function putName(out: Uint8Array, at: number, name: string): void {
  if (name.length >= LOADER_FILESZ || !/^[\x21-\x7e]+$/.test(name)) throw new Error(`table-loader: bad file name "${name}"`);
  for (let i = 0; i < name.length; i++) out[at + i] = name.charCodeAt(i);
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff; out[at + 1] = (v >>> 8) & 0xff; out[at + 2] = (v >>> 16) & 0xff; out[at + 3] = (v >>> 24) & 0xff;
}

/** Encodes commands as 128-byte entries. */
export function encodeLoaderEntries(entries: readonly LoaderEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * LOADER_ENTRY_SIZE);
  entries.forEach((e, i) => {
    const b = i * LOADER_ENTRY_SIZE;
    switch (e.kind) {
      case 'allocate':
        putU32(out, b, LoaderCommand.Allocate);
        putName(out, b + 4, e.file);
        putU32(out, b + 60, e.align);
        out[b + 64] = e.zone;
        break;
      case 'add-pointer':
        putU32(out, b, LoaderCommand.AddPointer);
        putName(out, b + 4, e.destFile);
        putName(out, b + 60, e.srcFile);
        putU32(out, b + 116, e.offset);
        out[b + 120] = e.size;
        break;
      case 'add-checksum':
        putU32(out, b, LoaderCommand.AddChecksum);
        putName(out, b + 4, e.file);
        putU32(out, b + 60, e.resultOffset);
        putU32(out, b + 64, e.start);
        putU32(out, b + 68, e.length);
        break;
    }
  });
  return out;
}

function getName(b: Uint8Array, at: number): string {
  let s = '';
  for (let i = 0; i < LOADER_FILESZ && b[at + i] !== 0; i++) s += String.fromCharCode(b[at + i]!);
  return s;
}

function getU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Decodes an `etc/table-loader` blob; unknown commands are skipped, as the firmware does. */
export function decodeLoaderEntries(blob: Uint8Array): LoaderEntry[] {
  const out: LoaderEntry[] = [];
  for (let b = 0; b + LOADER_ENTRY_SIZE <= blob.length; b += LOADER_ENTRY_SIZE) {
    switch (getU32(blob, b)) {
      case LoaderCommand.Allocate:
        out.push({ kind: 'allocate', file: getName(blob, b + 4), align: getU32(blob, b + 60), zone: blob[b + 64]! });
        break;
      case LoaderCommand.AddPointer:
        out.push({ kind: 'add-pointer', destFile: getName(blob, b + 4), srcFile: getName(blob, b + 60), offset: getU32(blob, b + 116), size: blob[b + 120]! });
        break;
      case LoaderCommand.AddChecksum:
        out.push({ kind: 'add-checksum', file: getName(blob, b + 4), resultOffset: getU32(blob, b + 60), start: getU32(blob, b + 64), length: getU32(blob, b + 68) });
        break;
      default:
        break;
    }
  }
  return out;
}

