/**
 * Broken and unsupported qcow2 images: each is refused with a StorageError that names
 * the file and the problem, and the file's bytes are unchanged afterwards (SHA-256).
 */
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDisk } from '../host/open-disk.js';
import { StorageError, type StorageErrorKind } from './block-backend.js';
import { fileHash, HAVE_QEMU_IMG, makeTempDir, pattern, qemuImg, qemuImgOk } from './test-support/qemu-img.js';

const tmp = makeTempDir('qcow2-corrupt');
afterAll(() => tmp.remove());
let counter = 0;

/** A 4 MiB qcow2 image with data in its first 1 MiB; returns its path. */
function makeImage(): string {
  const n = counter++;
  const raw = join(tmp.dir, `src${n}.raw`);
  const img = join(tmp.dir, `img${n}.qcow2`);
  const data = new Uint8Array(4 << 20);
  data.set(pattern(n, 1 << 20));
  writeFileSync(raw, data);
  qemuImgOk('convert', '-f', 'raw', '-O', 'qcow2', raw, img);
  return img;
}

/** Applies `mutate` to the image bytes in place. */
function patch(img: string, mutate: (b: Buffer) => void): void {
  const b = readFileSync(img);
  mutate(b);
  writeFileSync(img, b);
}

/** Opens and reads the whole disk; returns the error it fails with. */
async function failure(img: string, readOnly = false): Promise<StorageError> {
  try {
    const disk = await openDisk(img, { format: 'qcow2', readOnly });
    try {
      const buf = new Uint8Array(disk.sizeBytes);
      await disk.read(0, buf);
      if (!readOnly) await disk.write(0, new Uint8Array(512));
    } finally {
      await disk.close();
    }
  } catch (e) {
    expect(e).toBeInstanceOf(StorageError);
    return e as StorageError;
  }
  throw new Error('expected the image to be refused');
}

/** Asserts the image is refused with `kind` and a message matching `text`, unchanged. */
async function expectRefused(img: string, kind: StorageErrorKind, text: RegExp, readOnly = false): Promise<void> {
  const before = fileHash(img);
  const err = await failure(img, readOnly);
  expect(err.kind).toBe(kind);
  expect(err.message.startsWith(`${img}: `)).toBe(true);
  expect(err.message).toMatch(text);
  expect(fileHash(img)).toBe(before);
}

/** Offset of the first L2 table (from L1 entry 0). */
function firstL2(b: Buffer): number {
  const l1 = Number(b.readBigUInt64BE(40));
  return Number(b.readBigUInt64BE(l1) & 0x00fffffffffffe00n);
}

describe.skipIf(!HAVE_QEMU_IMG)('corrupt or unsupported qcow2 images', () => {
  it('wrong magic', async () => {
    const img = makeImage();
    patch(img, (b) => { b[3] = 0; });
    await expectRefused(img, 'bad-format', /not a qcow2 image.*magic/);
  });

  it('truncated header', async () => {
    const img = makeImage();
    truncateSync(img, 50);
    await expectRefused(img, 'bad-format', /truncated qcow2 header/);
  });

  it('L1 table offset beyond the end of the file', async () => {
    const img = makeImage();
    patch(img, (b) => { b.writeBigUInt64BE(1n << 30n, 40); });
    await expectRefused(img, 'corrupt', /L1 table at offset 1073741824 .* beyond the end of the file/);
  });

  it('L1 entry pointing at an L2 table beyond the end of the file', async () => {
    const img = makeImage();
    patch(img, (b) => { b.writeBigUInt64BE((1n << 63n) | (1n << 32n), Number(b.readBigUInt64BE(40))); });
    await expectRefused(img, 'corrupt', /L1 entry 0 points at an L2 table at offset 4294967296, beyond the end of the file/);
  });

  it('L2 entry pointing at a data cluster beyond the end of the file (also read-only)', async () => {
    const img = makeImage();
    patch(img, (b) => { b.writeBigUInt64BE((1n << 63n) | (1n << 34n), firstL2(b)); });
    await expectRefused(img, 'corrupt', /data cluster for guest offset 0 is at offset 17179869184, beyond the end of the file/, true);
    await expectRefused(img, 'corrupt', /beyond the end of the file/);
  });

  it('encryption (crypt_method set)', async () => {
    const img = makeImage();
    patch(img, (b) => { b.writeUInt32BE(1, 32); });
    await expectRefused(img, 'unsupported', /encryption \(AES\)/);
    await expectRefused(img, 'unsupported', /encryption/, true);
  });

  it('AES and LUKS encryption made by qemu-img', async () => {
    const aes = join(tmp.dir, 'aes.qcow2');
    qemuImgOk('create', '-f', 'qcow2', '--object', 'secret,id=sec0,data=vireo',
      '-o', 'encrypt.format=aes,encrypt.key-secret=sec0', aes, '1M');
    await expectRefused(aes, 'unsupported', /encryption \(AES\)/);
    // qemu-img calibrates LUKS key stretching against CPU time, which can fail on a busy
    // machine ("Unable to get accurate CPU usage"): retry with longer calibration.
    const luks = join(tmp.dir, 'luks.qcow2');
    let r = qemuImg('--version');
    for (const iterMs of [100, 500, 2000]) {
      rmSync(luks, { force: true });
      r = qemuImg('create', '-f', 'qcow2', '--object', 'secret,id=sec1,data=vireo',
        '-o', `encrypt.format=luks,encrypt.key-secret=sec1,encrypt.iter-time=${iterMs}`, luks, '1M');
      if (r.status === 0) break;
    }
    expect(r.status, r.stderr).toBe(0);
    await expectRefused(luks, 'unsupported', /encryption \(LUKS\)/);
  });

  it('unknown incompatible feature bit', async () => {
    const img = makeImage();
    patch(img, (b) => { b[79]! |= 0x20; });
    await expectRefused(img, 'unsupported', /unknown incompatible feature bit 5/);
    await expectRefused(img, 'unsupported', /bit 5/, true);
  });

  it('external data file bit', async () => {
    const img = makeImage();
    patch(img, (b) => { b[79]! |= 0x04; });
    await expectRefused(img, 'unsupported', /external data file/);
  });

  it('zstd compression type', async () => {
    const img = makeImage();
    patch(img, (b) => { b[79]! |= 0x08; });
    await expectRefused(img, 'unsupported', /compression .* not supported/);
  });

  it('dirty bit: refused for writing, readable read-only', async () => {
    const img = makeImage();
    patch(img, (b) => { b[79]! |= 0x01; });
    await expectRefused(img, 'needs-repair', /marked dirty.*qemu-img check -r all/);
    const before = fileHash(img);
    const disk = await openDisk(img, { readOnly: true });
    const buf = new Uint8Array(1 << 20);
    await disk.read(0, buf);
    expect(Buffer.from(buf).equals(Buffer.from(pattern(counter - 1, 1 << 20)))).toBe(true);
    await disk.close();
    expect(fileHash(img)).toBe(before);
  });

  it('corrupt bit: refused for writing', async () => {
    const img = makeImage();
    patch(img, (b) => { b[79]! |= 0x02; });
    await expectRefused(img, 'needs-repair', /marked corrupt/);
  });

  it('absurd cluster size and virtual size', async () => {
    const a = makeImage();
    patch(a, (b) => { b.writeUInt32BE(30, 20); });
    await expectRefused(a, 'corrupt', /cluster_bits 30/);
    const c = makeImage();
    patch(c, (b) => { b.writeBigUInt64BE(1n << 60n, 24); });
    await expectRefused(c, 'corrupt', /absurd/);
    const d = makeImage();
    patch(d, (b) => { b.writeUInt32BE(0x7fffffff, 36); });
    await expectRefused(d, 'corrupt', /L1 table .* absurdly large/);
  });

  it('qcow version 1', async () => {
    const img = makeImage();
    patch(img, (b) => { b.writeUInt32BE(1, 4); });
    await expectRefused(img, 'unsupported', /version 1/);
  });

  it('images with internal snapshots open read-only only', async () => {
    const img = makeImage();
    qemuImgOk('snapshot', '-c', 'snap1', img);
    await expectRefused(img, 'unsupported', /internal snapshot/);
    const disk = await openDisk(img, { readOnly: true });
    const buf = new Uint8Array(512);
    await disk.read(0, buf);
    await disk.close();
  });
});
