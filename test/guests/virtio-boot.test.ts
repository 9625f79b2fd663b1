import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runVireo, vireoCliUnavailable } from '../support/vireo-cli.js';

const nasm = spawnSync('sh', ['-c', 'command -v nasm'], { stdio: 'ignore' }).status === 0;
const skip = vireoCliUnavailable() || (existsSync('/usr/share/seabios/bios-256k.bin') ? '' : 'seabios is not installed')
  || (nasm ? '' : 'nasm is not installed (run scripts/setup.sh)');

/** A 16 MiB raw disk whose first sector is the boot-marker program. */
function bootDisk(dir: string): string {
  const bin = path.join(dir, 'boot.bin');
  execFileSync('nasm', ['-f', 'bin', '-o', bin, path.join(REPO_ROOT, 'test/guests/asm/boot-marker.asm')]);
  const disk = Buffer.alloc(16 * 1024 * 1024);
  readFileSync(bin).copy(disk, 0);
  const img = path.join(dir, 'disk.img');
  writeFileSync(img, disk);
  return img;
}

describe.skipIf(skip !== '')(`SeaBIOS boots from disks${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('boots a boot sector from a virtio-blk disk (1af4:1001)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-vblk-'));
    const run = await runVireo(['run', '--disk', `${bootDisk(dir)},format=raw,if=virtio`, '--debugcon', 'stdio', '--timeout', '60'], { timeoutMs: 90_000 });
    expect(run.stdout).toMatch(/found virtio-blk at 00:04\.0/i);
    expect(run.stdout).toContain('BOOT-SECTOR-RAN');
    expect(run.status).toBe(33);
  }, 120_000);

  it('boots a boot sector from a virtio-scsi disk (1af4:1004), found through the bootorder path', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-vscsi-'));
    const run = await runVireo(['run', '--disk', `${bootDisk(dir)},format=raw,if=scsi`, '--debugcon', 'stdio', '--timeout', '60'], { timeoutMs: 90_000 });
    expect(run.stdout).toMatch(/found virtio-scsi at 00:08\.0/i);
    expect(run.stdout).toContain("virtio-scsi vendor='QEMU' product='QEMU HARDDISK'");
    expect(run.stdout).toContain('virtio-scsi blksize=512 sectors=32768');
    expect(run.stdout).toContain('1: /pci@i0cf8/scsi@8/channel@0/disk@0,0');
    expect(run.stdout).toContain('BOOT-SECTOR-RAN');
    expect(run.status).toBe(33);
  }, 120_000);

  it('boots the same boot sector from an IDE disk', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vireo-ide-'));
    const run = await runVireo(['run', '--disk', `${bootDisk(dir)},format=raw`, '--debugcon', 'stdio', '--timeout', '60'], { timeoutMs: 90_000 });
    expect(run.stdout).toContain('BOOT-SECTOR-RAN');
    expect(run.status).toBe(33);
  }, 120_000);
});

const passt = spawnSync('sh', ['-c', 'command -v passt'], { stdio: 'ignore' }).status === 0;
describe.skipIf(skip !== '' || !passt)(`virtio devices on the PCI bus${skip || !passt ? ` (skipped: ${skip || 'passt is not installed'})` : ''}`, () => {
  it('shows the firmware virtio-net (with passt behind it), serial, rng and balloon with QEMU identities', async () => {
    const run = await runVireo(['run', '--net', 'user', '--device', 'virtio-serial', '--device', 'virtio-rng', '--device', 'virtio-balloon',
      '--debugcon', 'stdio', '--exit-on', 'No bootable device', '--timeout', '60'], { timeoutMs: 90_000 });
    expect(run.status).toBe(0);
    for (const [bdf, id] of [['03.0', '1af4:1000'], ['05.0', '1af4:1003'], ['06.0', '1af4:1005'], ['07.0', '1af4:1002']]) {
      expect(run.stdout).toContain(`PCI: init bdf=00:${bdf} id=${id}`);
    }
  }, 120_000);
});
