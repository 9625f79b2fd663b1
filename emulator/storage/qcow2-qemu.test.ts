/**
 * qcow2 interoperability with QEMU: images made by qemu-img are read and written by
 * Vireo, images made by Vireo satisfy qemu-img; `qemu-img check` and `qemu-img compare`
 * are the oracles.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDisk, openDisk } from '../host/open-disk.js';
import type { BlockBackend } from './block-backend.js';
import {
  fileHash, HAVE_QEMU_IMG, makeTempDir, pattern, qemuCheck, qemuCompare, qemuImgOk,
} from './test-support/qemu-img.js';

const tmp = makeTempDir('qcow2-qemu');
afterAll(() => tmp.remove());
const MiB = 1 << 20;

/** Writes `data` at `offset` both to the backend and to the expected raw image bytes. */
async function writeBoth(disk: BlockBackend, expected: Uint8Array, offset: number, data: Uint8Array): Promise<void> {
  await disk.write(offset, data);
  expected.set(data, offset);
}

async function readAll(disk: BlockBackend): Promise<Uint8Array> {
  const out = new Uint8Array(disk.sizeBytes);
  await disk.read(0, out);
  return out;
}

/** Writes a mix of partial, cluster-straddling and large writes. */
async function writeMix(disk: BlockBackend, expected: Uint8Array, seed: number): Promise<void> {
  const size = disk.sizeBytes;
  const spots = [0, 512, 4096 - 7, 65536 - 100, 3 * MiB + 12345, size - 4096, size / 2 - 1000];
  let s = seed;
  for (const at of spots) {
    const len = Math.min(9000 + (s % 5000), size - at);
    await writeBoth(disk, expected, at, pattern(s++, len));
  }
  await writeBoth(disk, expected, 5 * MiB, pattern(s++, 2 * MiB + 3333));
}

/**
 * Asserts qemu-img finds no corruption and (unless `leaksAllowed`) no leaks, and that
 * `img` equals `expected`.
 */
function expectCleanAndEqual(img: string, expected: Uint8Array, name: string, leaksAllowed = false): void {
  const check = qemuCheck(img);
  expect(check.raw, 'qemu-img check').toContain('"check-errors": 0');
  expect(check.corruptions, check.raw).toBe(0);
  if (leaksAllowed) expect([0, 3], check.raw).toContain(check.status);
  else expect({ status: check.status, leaks: check.leaks }, check.raw).toEqual({ status: 0, leaks: 0 });
  const rawPath = join(tmp.dir, `${name}.expected.raw`);
  writeFileSync(rawPath, expected);
  const cmp = qemuCompare(rawPath, img);
  expect(cmp.stdout + cmp.stderr).toContain('Images are identical');
  expect(cmp.status).toBe(0);
}

describe.skipIf(!HAVE_QEMU_IMG)('qcow2 images made by qemu-img', () => {
  for (const cluster of ['4K', '64K', '2M']) {
    it(`reads and writes a ${cluster}-cluster image with data`, async () => {
      const size = 16 * MiB;
      const src = pattern(7, size);
      src.fill(0, 2 * MiB, 4 * MiB); // a hole qemu-img leaves unallocated
      const rawPath = join(tmp.dir, `src-${cluster}.raw`);
      const img = join(tmp.dir, `img-${cluster}.qcow2`);
      writeFileSync(rawPath, src);
      qemuImgOk('convert', '-f', 'raw', '-O', 'qcow2', '-o', `cluster_size=${cluster}`, rawPath, img);
      const disk = await openDisk(img, { format: 'qcow2' });
      expect(disk.sizeBytes).toBe(size);
      expect(Buffer.from(await readAll(disk)).equals(Buffer.from(src))).toBe(true);
      const expected = src.slice();
      await writeMix(disk, expected, 100);
      await disk.flush();
      expect(Buffer.from(await readAll(disk)).equals(Buffer.from(expected))).toBe(true);
      await disk.close();
      expectCleanAndEqual(img, expected, `img-${cluster}`);
    });
  }

  it('writes into an empty image (L2 tables allocated on demand)', async () => {
    const img = join(tmp.dir, 'empty.qcow2');
    qemuImgOk('create', '-f', 'qcow2', img, '64M');
    const disk = await openDisk(img);
    expect(disk.format).toBe('qcow2');
    const expected = new Uint8Array(disk.sizeBytes);
    await writeMix(disk, expected, 200);
    await writeBoth(disk, expected, 60 * MiB, pattern(9, 70000));
    await disk.close();
    expectCleanAndEqual(img, expected, 'empty');
  });

  it('reads and writes through a qcow2 backing file, leaving the backing file untouched', async () => {
    const size = 8 * MiB;
    const base = pattern(11, size);
    const rawPath = join(tmp.dir, 'base.raw');
    const basePath = join(tmp.dir, 'base.qcow2');
    const overlay = join(tmp.dir, 'overlay.qcow2');
    writeFileSync(rawPath, base);
    qemuImgOk('convert', '-f', 'raw', '-O', 'qcow2', rawPath, basePath);
    qemuImgOk('create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', overlay); // relative name
    const before = fileHash(basePath);
    const disk = await openDisk(overlay);
    expect(Buffer.from(await readAll(disk)).equals(Buffer.from(base))).toBe(true);
    const expected = base.slice();
    await writeMix(disk, expected, 300);
    expect(Buffer.from(await readAll(disk)).equals(Buffer.from(expected))).toBe(true);
    await disk.close();
    expect(fileHash(basePath)).toBe(before);
    expectCleanAndEqual(overlay, expected, 'overlay');
  });

  it('reads through a raw backing file smaller than the overlay', async () => {
    const baseRaw = join(tmp.dir, 'small-base.raw');
    const overlay = join(tmp.dir, 'small-overlay.qcow2');
    const base = pattern(12, 1 * MiB);
    writeFileSync(baseRaw, base);
    qemuImgOk('create', '-f', 'qcow2', '-b', baseRaw, '-F', 'raw', overlay, '4M');
    const disk = await openDisk(overlay);
    const all = await readAll(disk);
    expect(Buffer.from(all.subarray(0, MiB)).equals(Buffer.from(base))).toBe(true);
    expect(all.subarray(MiB).every((b) => b === 0)).toBe(true);
    const expected = all.slice();
    await writeBoth(disk, expected, MiB - 1000, pattern(13, 5000));
    await disk.close();
    expectCleanAndEqual(overlay, expected, 'small-overlay');
  });

  it('reads compressed images made by qemu-img convert -c and rewrites compressed clusters', async () => {
    const size = 4 * MiB;
    const src = new Uint8Array(size);
    for (let i = 0; i < size; i++) src[i] = (i >> 9) % 7 === 0 ? (i * 31) & 0xff : (i >> 12) & 0xff; // compressible
    const rawPath = join(tmp.dir, 'comp.raw');
    const img = join(tmp.dir, 'comp.qcow2');
    writeFileSync(rawPath, src);
    qemuImgOk('convert', '-c', '-f', 'raw', '-O', 'qcow2', rawPath, img);
    const disk = await openDisk(img);
    expect(Buffer.from(await readAll(disk)).equals(Buffer.from(src))).toBe(true);
    const expected = src.slice();
    await writeBoth(disk, expected, 70000, pattern(14, 1000)); // partial write into a compressed cluster
    await writeBoth(disk, expected, 3 * MiB, pattern(15, 65536)); // whole cluster
    expect(Buffer.from(await readAll(disk)).equals(Buffer.from(expected))).toBe(true);
    await disk.close();
    expectCleanAndEqual(img, expected, 'comp');
  });

  it('reads and writes version 2 images (compat=0.10)', async () => {
    const size = 8 * MiB;
    const src = pattern(16, size);
    const rawPath = join(tmp.dir, 'v2.raw');
    const img = join(tmp.dir, 'v2.qcow2');
    writeFileSync(rawPath, src);
    qemuImgOk('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=0.10', rawPath, img);
    expect(readFileSync(img).readUInt32BE(4)).toBe(2);
    const disk = await openDisk(img);
    expect(Buffer.from(await readAll(disk)).equals(Buffer.from(src))).toBe(true);
    const expected = src.slice();
    await writeMix(disk, expected, 400);
    await disk.writeZeroes!(MiB, 100000);
    expected.fill(0, MiB, MiB + 100000);
    await disk.close();
    expectCleanAndEqual(img, expected, 'v2');
  });

  it('clears autoclear feature bits (persistent bitmaps) before writing', async () => {
    const img = join(tmp.dir, 'bitmap.qcow2');
    qemuImgOk('create', '-f', 'qcow2', img, '4M');
    qemuImgOk('bitmap', '--add', img, 'b0');
    expect(readFileSync(img).readBigUInt64BE(88) & 1n).toBe(1n);
    const ro = await openDisk(img, { readOnly: true });
    await ro.close();
    expect(readFileSync(img).readBigUInt64BE(88) & 1n).toBe(1n); // a read-only open writes nothing
    const disk = await openDisk(img);
    const expected = new Uint8Array(disk.sizeBytes);
    await writeBoth(disk, expected, 12345, pattern(31, 100000));
    await disk.close();
    expect(readFileSync(img).readBigUInt64BE(88)).toBe(0n);
    // QEMU now considers the bitmap stale; its clusters count as leaks, never corruption.
    expectCleanAndEqual(img, expected, 'bitmap', true);
  });

  it('grows refcount blocks and the refcount table of a qemu-img image (512-byte clusters, 64-bit refcounts)', async () => {
    const img = join(tmp.dir, 'grow-qemu.qcow2');
    qemuImgOk('create', '-f', 'qcow2', '-o', 'cluster_size=512,refcount_bits=64', img, '8M');
    const disk = await openDisk(img);
    const expected = new Uint8Array(disk.sizeBytes);
    for (let i = 0; i < 24; i++) await writeBoth(disk, expected, i * 300000, pattern(500 + i, 131072));
    await disk.close();
    const rtClusters = readFileSync(img).readUInt32BE(56);
    expect(rtClusters).toBeGreaterThan(1);
    expectCleanAndEqual(img, expected, 'grow-qemu');
  });
});

describe.skipIf(!HAVE_QEMU_IMG)('qcow2 images made by Vireo', () => {
  it('creates an image qemu-img accepts, with the right virtual size and format', async () => {
    const img = join(tmp.dir, 'vireo.qcow2');
    await createDisk(img, '20G', 'qcow2');
    const info = JSON.parse(qemuImgOk('info', '--output=json', img)) as Record<string, unknown>;
    expect(info['format']).toBe('qcow2');
    expect(info['virtual-size']).toBe(20 * 2 ** 30);
    expect(info['cluster-size']).toBe(65536);
    expect(qemuCheck(img).status).toBe(0);
  });

  it('writes across many clusters, growing L2 tables, refcount blocks and the refcount table', async () => {
    const img = join(tmp.dir, 'vireo-grow.qcow2');
    await createDisk(img, 8 * MiB, 'qcow2', { clusterBytes: 512, refcountBits: 32 });
    const disk = await openDisk(img);
    const expected = new Uint8Array(disk.sizeBytes);
    for (let i = 0; i < 60; i++) await writeBoth(disk, expected, ((i * 37) % 60) * 110000, pattern(600 + i, 100000 + i));
    await disk.writeZeroes!(2 * MiB + 100, 300000);
    expected.fill(0, 2 * MiB + 100, 2 * MiB + 300100);
    await disk.discard(0, 4096);
    expected.fill(0, 0, 4096);
    await disk.close();
    expect(readFileSync(img).readUInt32BE(56)).toBeGreaterThan(1); // table grew
    expectCleanAndEqual(img, expected, 'vireo-grow');
  });

  it('creates overlays with a backing file that qemu-img follows', async () => {
    const baseRaw = join(tmp.dir, 'ov-base.raw');
    const base = pattern(21, 2 * MiB);
    writeFileSync(baseRaw, base);
    const img = join(tmp.dir, 'ov.qcow2');
    await createDisk(img, 2 * MiB, 'qcow2', { backingFile: 'ov-base.raw', backingFormat: 'raw' });
    const info = JSON.parse(qemuImgOk('info', '--output=json', img)) as Record<string, unknown>;
    expect(info['backing-filename']).toBe('ov-base.raw');
    const disk = await openDisk(img);
    const expected = base.slice();
    await writeBoth(disk, expected, 1000, pattern(22, 70000));
    await disk.writeZeroes!(MiB, 65536 * 3);
    expected.fill(0, MiB, MiB + 65536 * 3);
    expect(Buffer.from(await readAll(disk)).equals(Buffer.from(expected))).toBe(true);
    await disk.close();
    expectCleanAndEqual(img, expected, 'ov');
  });

  it('creates sparse raw images', async () => {
    const img = join(tmp.dir, 'vireo.raw');
    await createDisk(img, '1G', 'raw');
    const info = JSON.parse(qemuImgOk('info', '--output=json', img)) as Record<string, unknown>;
    expect(info['format']).toBe('raw');
    expect(info['virtual-size']).toBe(2 ** 30);
    expect(info['actual-size']).toBeLessThan(MiB);
  });
});
