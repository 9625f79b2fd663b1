import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FirmwareNotFoundError } from '../firmware/firmware-lookup.js';
import { loadFirmware, nodeFirmwareFs } from './firmware-files.js';

const haveSeabios = existsSync('/usr/share/seabios/bios-256k.bin');

describe('firmware files on the host', () => {
  it.skipIf(!haveSeabios)('loads Debian SeaBIOS with its reset vector at the top', () => {
    const img = loadFirmware('bios-256k.bin');
    expect(img.path).toBe('/usr/share/seabios/bios-256k.bin');
    expect(img.bytes.length).toBe(256 * 1024);
    // The reset vector (FFFF0h) is a far jump, EA.
    expect(img.bytes[img.bytes.length - 16]).toBe(0xea);
  });

  it('does not treat directories as files and reports a clear miss', () => {
    expect(nodeFirmwareFs.exists('/usr/share')).toBe(false);
    expect(() => loadFirmware('no-such-firmware.bin', { systemDirs: ['/nonexistent-vireo-dir'] })).toThrow(FirmwareNotFoundError);
  });
});
