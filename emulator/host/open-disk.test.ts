/**
 * Node glue for disk images: NodeImageFile semantics and error messages, openDisk with
 * probing, real ISO images (xorriso), backing chains resolved against the overlay's
 * folder, loops, and createDisk never overwriting a file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from '../storage/block-backend.js';
import type { IsoBackend } from '../storage/iso.js';
import { fileHash, HAVE_QEMU_IMG, makeTempDir, pattern, qemuImgOk } from '../storage/test-support/qemu-img.js';
import { NodeImageFile } from './node-image-file.js';
import { createDisk, openDisk, probeDisk } from './open-disk.js';

const tmp = makeTempDir('open-disk');
afterAll(() => tmp.remove());
const HAVE_XORRISO = spawnSync('xorriso', ['-version']).status === 0;

describe('NodeImageFile', () => {
  it('does positional I/O with short reads at end of file, truncate and sync', async () => {
    const path = join(tmp.dir, 'f.bin');
    const f = await NodeImageFile.open(path, { create: true });
    await f.write(10, new Uint8Array([1, 2, 3]));
    expect(await f.size()).toBe(13);
    const buf = new Uint8Array(8);
    expect(await f.read(8, buf)).toBe(5);
    expect([...buf.subarray(0, 5)]).toEqual([0, 0, 1, 2, 3]);
    await f.truncate(1 << 20);
    expect(await f.size()).toBe(1 << 20);
    await f.sync();
    await f.close();
    const ro = await NodeImageFile.open(path, { readOnly: true });
    await expect(ro.write(0, new Uint8Array(1))).rejects.toThrow(/cannot write: the file is open read-only/);
    await ro.close();
  });

  it('reports missing files and refuses to create over an existing one', async () => {
    const missing = join(tmp.dir, 'missing.img');
    await expect(NodeImageFile.open(missing)).rejects.toThrow(`${missing}: cannot open the image: no such file`);
    const existing = join(tmp.dir, 'existing.img');
    writeFileSync(existing, 'precious');
    const err = await NodeImageFile.open(existing, { create: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toMatch(/already exists/);
    expect(readFileSync(existing, 'utf8')).toBe('precious');
  });
});

describe('createDisk', () => {
  it('creates qcow2 and raw images from size strings', async () => {
    const q = join(tmp.dir, 'new.qcow2');
    await createDisk(q, '512M', 'qcow2');
    expect(await probeDisk(q)).toBe('qcow2');
    const disk = await openDisk(q);
    expect(disk.sizeBytes).toBe(512 << 20);
    await disk.close();
  });

  it('never overwrites, and removes a half-created file on failure', async () => {
    const existing = join(tmp.dir, 'keep.qcow2');
    writeFileSync(existing, 'precious');
    await expect(createDisk(existing, '1G', 'qcow2')).rejects.toThrow(/already exists/);
    expect(readFileSync(existing, 'utf8')).toBe('precious');
    const bad = join(tmp.dir, 'bad.qcow2');
    await expect(createDisk(bad, '1G', 'qcow2', { clusterBytes: 1000 })).rejects.toThrow(/cluster size 1000/);
    expect(existsSync(bad)).toBe(false);
    await expect(createDisk(join(tmp.dir, 'x.img'), '12Q', 'raw')).rejects.toThrow(/"12Q" is not a size/);
  });
});

describe.skipIf(!HAVE_XORRISO)('ISO images made by xorriso', () => {
  it('probes and validates a real ISO 9660 image', async () => {
    const src = join(tmp.dir, 'iso-src');
    mkdirSync(src);
    writeFileSync(join(src, 'hello.txt'), 'hello from vireo\n');
    const iso = join(tmp.dir, 'test.iso');
    const r = spawnSync('xorriso', ['-as', 'mkisofs', '-V', 'VIREO_TEST', '-o', iso, src], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(await probeDisk(iso)).toBe('iso');
    const disk = await openDisk(iso, { validateIso: true }) as IsoBackend;
    expect(disk.format).toBe('iso');
    expect(disk.readOnly).toBe(true);
    expect(disk.volume?.volumeId).toBe('VIREO_TEST');
    const all = new Uint8Array(disk.sizeBytes);
    await disk.read(0, all);
    expect(Buffer.from(all).includes('hello from vireo')).toBe(true);
    await disk.close();
  });
});

describe.skipIf(!HAVE_QEMU_IMG)('backing chains', () => {
  it('resolves relative backing names against the overlay folder, through two levels', async () => {
    const dir = join(tmp.dir, 'chain');
    mkdirSync(join(dir, 'vms'), { recursive: true });
    const base = pattern(5, 1 << 20);
    writeFileSync(join(dir, 'base.raw'), base);
    qemuImgOk('create', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', join(dir, 'mid.qcow2'));
    const mid = await openDisk(join(dir, 'mid.qcow2'));
    await mid.write(0, new Uint8Array(4096).fill(0xaa));
    await mid.close();
    qemuImgOk('create', '-f', 'qcow2', '-b', '../mid.qcow2', '-F', 'qcow2', join(dir, 'vms', 'top.qcow2'));
    const before = fileHash(join(dir, 'mid.qcow2'));
    const top = await openDisk(join(dir, 'vms', 'top.qcow2'));
    const buf = new Uint8Array(8192);
    await top.read(0, buf);
    expect(buf.subarray(0, 4096).every((b) => b === 0xaa)).toBe(true);
    expect(Buffer.from(buf.subarray(4096)).equals(Buffer.from(base.subarray(4096, 8192)))).toBe(true);
    await top.write(100, new Uint8Array([1]));
    await top.close();
    expect(fileHash(join(dir, 'mid.qcow2'))).toBe(before);
  });

  it('names a missing backing file and detects loops', async () => {
    const dir = join(tmp.dir, 'loop');
    mkdirSync(dir);
    qemuImgOk('create', '-f', 'qcow2', join(dir, 'a.qcow2'), '1M');
    qemuImgOk('create', '-f', 'qcow2', '-b', 'a.qcow2', '-F', 'qcow2', join(dir, 'b.qcow2'));
    qemuImgOk('rebase', '-u', '-f', 'qcow2', '-b', 'b.qcow2', '-F', 'qcow2', join(dir, 'a.qcow2'));
    await expect(openDisk(join(dir, 'b.qcow2'))).rejects.toThrow(/backing file chain loops back/);
    qemuImgOk('rebase', '-u', '-f', 'qcow2', '-b', 'gone.qcow2', '-F', 'qcow2', join(dir, 'a.qcow2'));
    await expect(openDisk(join(dir, 'a.qcow2'))).rejects.toThrow(
      `${join(dir, 'a.qcow2')}: backing file "gone.qcow2": ${join(dir, 'gone.qcow2')}: cannot open the image: no such file`);
  });
});
