/**
 * Probing, opening and creating images over in-memory files; parseSize; the raw and ISO
 * backends.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from './block-backend.js';
import { IsoBackend, validateIso9660 } from './iso.js';
import { MemoryImageFile } from './memory-image-file.js';
import { createImage, openImage, parseSize, probeImageFormat } from './open-image.js';

/** A minimal ISO 9660 image: PVD at sector 16, terminator at 17, `sectors` long. */
function fakeIso(sectors: number, volumeId = 'VIREO_TEST'): Uint8Array {
  const b = new Uint8Array(sectors * 2048);
  const pvd = 16 * 2048;
  b[pvd] = 1;
  b.set(new TextEncoder().encode('CD001'), pvd + 1);
  b[pvd + 6] = 1;
  b.set(new TextEncoder().encode(volumeId.padEnd(32, ' ')), pvd + 40);
  const v = new DataView(b.buffer);
  v.setUint32(pvd + 80, sectors, true);
  v.setUint32(pvd + 84, sectors, false);
  v.setUint16(pvd + 128, 2048, true);
  v.setUint16(pvd + 130, 2048, false);
  const term = 17 * 2048;
  b[term] = 255;
  b.set(new TextEncoder().encode('CD001'), term + 1);
  b[term + 6] = 1;
  return b;
}

describe('parseSize', () => {
  it('accepts qemu-img style sizes', () => {
    expect(parseSize('20G')).toBe(20 * 2 ** 30);
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('1T')).toBe(2 ** 40);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('10GiB')).toBe(10 * 2 ** 30);
    expect(parseSize('4096')).toBe(4096);
  });
  it('explains what is wrong', () => {
    expect(() => parseSize('20X')).toThrow(/disk size: "20X" is not a size: use a number with an optional K, M, G, T or P suffix/);
    expect(() => parseSize('')).toThrow(/is not a size/);
    expect(() => parseSize('-1G')).toThrow(/is not a size/);
    expect(() => parseSize('1000')).toThrow(/not a multiple of 512/);
    expect(() => parseSize('0')).toThrow(/is zero/);
    expect(() => parseSize('100000P')).toThrow(/too large/);
    expect(() => parseSize('1.5')).toThrow(/whole number of bytes/);
    try { parseSize('x'); } catch (e) { expect((e as StorageError).kind).toBe('invalid-argument'); }
  });
});

describe('probe and open', () => {
  it('probes qcow2, ISO and raw', async () => {
    const q = new MemoryImageFile('a.qcow2');
    await createImage(q, 1 << 20, 'qcow2');
    expect(await probeImageFormat(q)).toBe('qcow2');
    expect(await probeImageFormat(new MemoryImageFile('b.iso', fakeIso(32)))).toBe('iso');
    expect(await probeImageFormat(new MemoryImageFile('c.img', new Uint8Array(4096)))).toBe('raw');
    expect(await probeImageFormat(new MemoryImageFile('d.img'))).toBe('raw');
    expect((await openImage(q)).format).toBe('qcow2');
  });

  it('creates sparse raw images through truncate and refuses backing files for them', async () => {
    const r = new MemoryImageFile('r.img');
    await createImage(r, 1 << 20, 'raw');
    expect(await r.size()).toBe(1 << 20);
    expect(r.writeCount).toBe(0); // truncate only: a hole on a real file system
    expect(r.syncCount).toBe(1);
    await expect(createImage(new MemoryImageFile('x'), 1 << 20, 'raw', { backingFile: 'b' })).rejects.toThrow(/raw images cannot have a backing file/);
    await expect(createImage(new MemoryImageFile('x'), 100, 'raw')).rejects.toThrow(/x: disk size 100/);
  });
});

describe('RawBackend', () => {
  it('reads, writes, zeroes and flushes; discard keeps contents', async () => {
    const f = new MemoryImageFile('r.img', new Uint8Array(8192).fill(7));
    const disk = await openImage(f, { format: 'raw' });
    expect(disk.sizeBytes).toBe(8192);
    await disk.write(100, new Uint8Array([1, 2, 3]));
    await disk.writeZeroes!(4000, 200);
    await disk.discard(0, 50);
    await disk.flush();
    expect(f.syncCount).toBe(1);
    const buf = new Uint8Array(8192);
    await disk.read(0, buf);
    expect([...buf.subarray(99, 104)]).toEqual([7, 1, 2, 3, 7]);
    expect(buf.subarray(4000, 4200).every((x) => x === 0)).toBe(true);
    expect(buf[4200]).toBe(7);
    expect(buf[0]).toBe(7);
    await expect(disk.write(8190, new Uint8Array(4))).rejects.toThrow(/r.img: request at offset 8190 length 4 is outside/);
  });
  it('refuses writes when read-only', async () => {
    const disk = await openImage(new MemoryImageFile('r.img', new Uint8Array(512)), { format: 'raw', readOnly: true });
    await expect(disk.write(0, new Uint8Array(1))).rejects.toThrow(/r.img: cannot write: the image is open read-only/);
  });
});

describe('IsoBackend', () => {
  it('opens read-only and validates the primary volume descriptor', async () => {
    const iso = await IsoBackend.open(new MemoryImageFile('d.iso', fakeIso(40, 'DEBIAN 12')), { validate: true });
    expect(iso.readOnly).toBe(true);
    expect(iso.volume).toEqual({ volumeId: 'DEBIAN 12', volumeBytes: 40 * 2048 });
    const buf = new Uint8Array(6);
    await iso.read(16 * 2048, buf);
    expect(buf[1]).toBe(0x43);
    await expect(iso.write()).rejects.toThrow(/d.iso: cannot write: ISO images are read-only/);
  });
  it('skips a boot record before the primary descriptor', async () => {
    const b = fakeIso(40);
    const boot = fakeIso(40).subarray(16 * 2048, 17 * 2048);
    boot[0] = 0;
    b.copyWithin(17 * 2048, 16 * 2048, 17 * 2048); // PVD -> 17
    b.set(boot, 16 * 2048); // boot record at 16
    b[18 * 2048] = 255;
    b.set(new TextEncoder().encode('CD001'), 18 * 2048 + 1);
    expect((await validateIso9660(new MemoryImageFile('b.iso', b))).volumeBytes).toBe(40 * 2048);
  });
  it('refuses sizes that are not whole sectors, missing descriptors and truncated volumes', async () => {
    await expect(IsoBackend.open(new MemoryImageFile('odd.iso', new Uint8Array(2049)))).rejects.toThrow(/odd.iso: an ISO image must be a whole number of 2048-byte sectors/);
    await expect(IsoBackend.open(new MemoryImageFile('z.iso', new Uint8Array(40 * 2048)), { validate: true })).rejects.toThrow(/no "CD001" volume descriptor at sector 16/);
    const t = fakeIso(40).subarray(0, 30 * 2048);
    await expect(IsoBackend.open(new MemoryImageFile('t.iso', t), { validate: true })).rejects.toThrow(/t.iso: ISO image is truncated/);
  });
});
