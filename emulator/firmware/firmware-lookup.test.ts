import { describe, expect, it } from 'vitest';
import {
  FirmwareNotFoundError, debianPackageFor, findFirmware, firmwareCandidates, type FirmwareFs,
} from './firmware-lookup.js';

function fakeFs(files: Record<string, number[]>): FirmwareFs & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    exists: (p) => p in files,
    read: (p) => { reads.push(p); return Uint8Array.from(files[p]!); },
  };
}

describe('firmware lookup', () => {
  it('searches explicit path, resources, then the Debian directories', () => {
    expect(firmwareCandidates('bios-256k.bin', { explicitPath: '/home/u/my.bin', resourcesDir: '/opt/vireo/res/' })).toEqual([
      '/home/u/my.bin',
      '/opt/vireo/res/bios-256k.bin',
      '/usr/share/seabios/bios-256k.bin',
      '/usr/share/qemu/bios-256k.bin',
      '/usr/share/OVMF/bios-256k.bin',
      '/usr/share/ovmf/bios-256k.bin',
    ]);
  });

  it('returns the first existing file and says where it came from', () => {
    const fs = fakeFs({ '/usr/share/qemu/bios-256k.bin': [1], '/usr/share/seabios/bios-256k.bin': [2], '/r/bios-256k.bin': [3] });
    const sys = findFirmware(fs, 'bios-256k.bin');
    expect(sys).toMatchObject({ path: '/usr/share/seabios/bios-256k.bin', source: 'system' });
    expect(Array.from(sys.bytes)).toEqual([2]);
    expect(findFirmware(fs, 'bios-256k.bin', { resourcesDir: '/r' }).source).toBe('resources');
    const explicit = findFirmware(fakeFs({ '/x/custom.bin': [9] }), 'bios-256k.bin', { explicitPath: '/x/custom.bin' });
    expect(explicit).toMatchObject({ path: '/x/custom.bin', source: 'explicit' });
  });

  it('explains a miss: every place looked and the package to install', () => {
    const fs = fakeFs({});
    let err: unknown;
    try { findFirmware(fs, 'OVMF_CODE_4M.fd', { resourcesDir: '/r' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(FirmwareNotFoundError);
    const e = err as FirmwareNotFoundError;
    expect(e.searched.length).toBe(5);
    expect(e.debianPackage).toBe('ovmf');
    for (const p of e.searched) expect(e.message).toContain(p);
    expect(e.message).toContain('apt install ovmf');
    expect(fs.reads).toEqual([]);
  });

  it('knows which Debian package ships a file', () => {
    expect(debianPackageFor('bios.bin')).toBe('seabios');
    expect(debianPackageFor('bios-256k.bin')).toBe('seabios');
    expect(debianPackageFor('vgabios-stdvga.bin')).toBe('seabios');
    expect(debianPackageFor('OVMF_CODE_4M.fd')).toBe('ovmf');
    expect(debianPackageFor('/usr/share/ovmf/OVMF.fd')).toBe('ovmf');
    expect(debianPackageFor('linuxboot_dma.bin')).toBe('qemu-system-data');
    expect(debianPackageFor('efi-virtio.rom')).toBe('ipxe-qemu');
    expect(debianPackageFor('mystery.bin')).toBeUndefined();
  });

  it('treats a name with a slash as a path and rejects empty names', () => {
    expect(firmwareCandidates('/srv/fw/bios.bin')).toEqual(['/srv/fw/bios.bin']);
    expect(() => firmwareCandidates('')).toThrow(RangeError);
  });
});
