/**
 * A tiny executor of `etc/table-loader` commands, doing what SeaBIOS's
 * romfile_loader_execute does: allocate each file in its zone, add file addresses to
 * pointer fields, fix checksums. Used by tests and diagnostics to see the tables as the
 * guest will; not part of the boot path (the firmware runs the real one).
 *
 * Follows: SeaBIOS src/fw/romfile_loader.c (validation rules included: pointer sizes
 * 1/2/4/8 within the destination, checksum ranges within the file).
 */
import { AllocZone, decodeLoaderEntries } from './bios-linker.js';

/** Where each zone's allocations start. */
export interface LoaderZones {
  /** First address of the high (32-bit) zone. Default 0x07FE0000. */
  highBase?: number;
  /** First address of the F segment zone. Default 0xF5000. */
  fsegBase?: number;
}

/** A file placed in guest memory. */
export interface LoadedFile {
  address: number;
  bytes: Uint8Array;
}

/** Result of running the loader. */
export interface LoaderResult {
  files: Map<string, LoadedFile>;
  /** Problems a firmware would warn about (bad command, unknown file, out of range). */
  errors: string[];
  /** Reads `length` bytes at guest address `gpa` from the placed files (zeros elsewhere). */
  read(gpa: number, length: number): Uint8Array;
}

/** Runs `loader` over `blobs` (fw_cfg name -> bytes). Never throws on bad commands. */
export function runTableLoader(blobs: ReadonlyMap<string, Uint8Array>, loader: Uint8Array, zones: LoaderZones = {}): LoaderResult {
  const files = new Map<string, LoadedFile>();
  const errors: string[] = [];
  let high = zones.highBase ?? 0x07fe_0000;
  let fseg = zones.fsegBase ?? 0x000f_5000;
  for (const e of decodeLoaderEntries(loader)) {
    switch (e.kind) {
      case 'allocate': {
        const src = blobs.get(e.file);
        if (!src) { errors.push(`allocate: no file ${e.file}`); break; }
        const align = Math.max(16, e.align);
        if (align & (align - 1)) { errors.push(`allocate: alignment ${align} of ${e.file} is not a power of two`); break; }
        let address: number;
        if (e.zone === AllocZone.High) { address = Math.ceil(high / align) * align; high = address + src.length; }
        else if (e.zone === AllocZone.FSeg) { address = Math.ceil(fseg / align) * align; fseg = address + src.length; }
        else { errors.push(`allocate: bad zone ${e.zone}`); break; }
        files.set(e.file, { address, bytes: src.slice() });
        break;
      }
      case 'add-pointer': {
        const dest = files.get(e.destFile);
        const src = files.get(e.srcFile);
        if (!dest || !src || e.size < 1 || e.size > 8 || (e.size & (e.size - 1)) !== 0 || e.offset + e.size > dest.bytes.length) {
          errors.push(`add-pointer: invalid ${e.destFile}+${e.offset} <- ${e.srcFile}`);
          break;
        }
        let v = 0n;
        for (let i = e.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(dest.bytes[e.offset + i]!);
        v = (v + BigInt(src.address)) & ((1n << BigInt(8 * e.size)) - 1n);
        for (let i = 0; i < e.size; i++) { dest.bytes[e.offset + i] = Number(v & 0xffn); v >>= 8n; }
        break;
      }
      case 'add-checksum': {
        const f = files.get(e.file);
        if (!f || e.resultOffset >= f.bytes.length || e.start + e.length > f.bytes.length) {
          errors.push(`add-checksum: invalid range in ${e.file}`);
          break;
        }
        let sum = 0;
        for (let i = e.start; i < e.start + e.length; i++) sum = (sum + f.bytes[i]!) & 0xff;
        f.bytes[e.resultOffset] = (f.bytes[e.resultOffset]! - sum) & 0xff;
        break;
      }
    }
  }
  return {
    files,
    errors,
    read(gpa: number, length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (const f of files.values()) {
        const lo = Math.max(gpa, f.address);
        const hi = Math.min(gpa + length, f.address + f.bytes.length);
        for (let a = lo; a < hi; a++) out[a - gpa] = f.bytes[a - f.address]!;
      }
      return out;
    },
  };
}
