/**
 * Node file-system adapter for firmware lookup (emulator/firmware/firmware-lookup.ts
 * stays pure; node:fs is allowed only under emulator/host/).
 */
import { readFileSync, statSync } from 'node:fs';
import {
  type FirmwareFs, type FirmwareImage, type FirmwareSearchOptions, findFirmware,
} from '../firmware/firmware-lookup.js';

/** FirmwareFs over node:fs (synchronous: images are read once at machine build). */
export const nodeFirmwareFs: FirmwareFs = {
  exists(path: string): boolean {
    try {
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
  read(path: string): Uint8Array {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  },
};

/** Finds and reads firmware `fileName` from the host file system (see findFirmware). */
export function loadFirmware(fileName: string, opts: FirmwareSearchOptions = {}): FirmwareImage {
  return findFirmware(nodeFirmwareFs, fileName, opts);
}
