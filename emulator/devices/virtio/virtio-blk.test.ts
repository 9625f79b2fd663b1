import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeImageFile } from '../../host/node-image-file.js';
import { RawBackend } from '../../storage/raw.js';
import { MemoryImageFile } from '../../storage/memory-image-file.js';
import { bringUp } from './test-support/pci-driver.js';
import {
  VIRTIO_BLK_F_RO, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_WRITE_ZEROES, VirtioBlk,
} from './virtio-blk.js';
import { VIRTIO_STATUS_DEVICE_NEEDS_RESET } from './virtio-constants.js';

function header(type: number, sector: number): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(8, sector, true);
  return h;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('VirtioBlk (virtio 1.2 §5.2)', () => {
  let dir = '';
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'vireo-vblk-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('writes, flushes and reads a raw image; checksums match on disk', async () => {
    const path = join(dir, 'disk.raw');
    await writeFile(path, new Uint8Array(64 * 1024));
    const backend = await RawBackend.open(await NodeImageFile.open(path));
    const blk = new VirtioBlk({ id: 'vda', backend, serial: 'VIREO-1' });
    const r = bringUp(blk);
    expect(blk.readConfig(0, 4)).toBe(128); // capacity in sectors
    expect(blk.readConfig(12, 4)).toBe(254); // seg_max
    const q = r.queues[0]!;
    const data = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
    // OUT at sector 8, split over two data buffers
    const w = q.post([{ data: header(VIRTIO_BLK_T_OUT, 8) }, { data: data.subarray(0, 1000) }, { data: data.subarray(1000) }, { writeLen: 1 }]);
    r.notify(0);
    await blk.drain();
    expect(q.takeUsed()).toEqual([{ id: w.head, len: 1 }]);
    expect(q.read(w.gpas[3]!, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    const f = q.post([{ data: header(VIRTIO_BLK_T_FLUSH, 0) }, { writeLen: 1 }]);
    r.notify(0);
    await blk.drain();
    expect(q.takeUsed()).toEqual([{ id: f.head, len: 1 }]);
    const onDisk = (await readFile(path)).subarray(8 * 512, 8 * 512 + 4096);
    expect(sha(onDisk)).toBe(sha(data));
    // IN through an indirect table
    const rd = q.post([{ data: header(VIRTIO_BLK_T_IN, 8) }, { writeLen: 4096 }, { writeLen: 1 }], { indirect: true });
    r.notify(0);
    await blk.drain();
    expect(q.takeUsed()).toEqual([{ id: rd.head, len: 4097 }]);
    expect(sha(q.read(rd.gpas[1]!, 4096))).toBe(sha(data));
    expect(r.irq.level).toBe(true);
    // GET_ID
    const id = q.post([{ data: header(VIRTIO_BLK_T_GET_ID, 0) }, { writeLen: 20 }, { writeLen: 1 }]);
    r.notify(0);
    expect(new TextDecoder().decode(q.read(id.gpas[1]!, 7))).toBe('VIREO-1');
    await backend.close();
  });

  it('validates requests: range, alignment, unknown types, read-only, malformed chains', async () => {
    const backend = await RawBackend.open(new MemoryImageFile('mem', new Uint8Array(8192)));
    const blk = new VirtioBlk({ id: 'vdb', backend });
    const r = bringUp(blk);
    const q = r.queues[0]!;
    const cases: Array<[Uint8Array, number, number]> = [
      [header(VIRTIO_BLK_T_IN, 16), 512, VIRTIO_BLK_S_IOERR], // beyond the 16-sector disk
      [header(VIRTIO_BLK_T_IN, 0), 100, VIRTIO_BLK_S_IOERR], // not a multiple of 512
      [header(99, 0), 0, VIRTIO_BLK_S_UNSUPP],
    ];
    for (const [h, len, status] of cases) {
      const p = q.post(len ? [{ data: h }, { writeLen: len }, { writeLen: 1 }] : [{ data: h }, { writeLen: 1 }]);
      r.notify(0);
      await blk.drain();
      expect(q.read(p.gpas.at(-1)!, 1)[0]).toBe(status);
    }
    expect(blk.guestErrors).toBe(3);
    // write-zeroes over sectors 1..2
    backend.write(512, new Uint8Array(1024).fill(9)).catch(() => undefined);
    await blk.drain();
    const seg = new Uint8Array(16);
    new DataView(seg.buffer).setUint32(0, 1, true);
    new DataView(seg.buffer).setUint32(8, 2, true);
    const wz = q.post([{ data: header(VIRTIO_BLK_T_WRITE_ZEROES, 0) }, { data: seg }, { writeLen: 1 }]);
    r.notify(0);
    await blk.drain();
    expect(q.read(wz.gpas[2]!, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    const back = new Uint8Array(1024);
    await backend.read(512, back);
    expect(back.every((b) => b === 0)).toBe(true);
    const dc = q.post([{ data: header(VIRTIO_BLK_T_DISCARD, 0) }, { data: seg }, { writeLen: 1 }]);
    r.notify(0);
    await blk.drain();
    expect(q.read(dc.gpas[2]!, 1)[0]).toBe(VIRTIO_BLK_S_OK);
    // header too short: malformed -> NEEDS_RESET
    q.post([{ data: new Uint8Array(8) }, { writeLen: 1 }]);
    r.notify(0);
    expect(r.pci.deviceStatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET).toBeTruthy();
  });

  it('read-only disks offer VIRTIO_BLK_F_RO and refuse writes', async () => {
    const backend = await RawBackend.open(new MemoryImageFile('mem', new Uint8Array(4096)), { readOnly: true });
    const blk = new VirtioBlk({ id: 'vdc', backend });
    expect(blk.deviceFeatures & VIRTIO_BLK_F_RO).toBe(VIRTIO_BLK_F_RO);
    const r = bringUp(blk);
    const q = r.queues[0]!;
    const p = q.post([{ data: header(VIRTIO_BLK_T_OUT, 0) }, { data: new Uint8Array(512) }, { writeLen: 1 }]);
    r.notify(0);
    await blk.drain();
    expect(q.read(p.gpas[2]!, 1)[0]).toBe(VIRTIO_BLK_S_IOERR);
  });

  it('drops completions that arrive after a device reset', async () => {
    const backend = await RawBackend.open(new MemoryImageFile('mem', new Uint8Array(4096)));
    const blk = new VirtioBlk({ id: 'vdd', backend });
    const r = bringUp(blk);
    const q = r.queues[0]!;
    const p = q.post([{ data: header(VIRTIO_BLK_T_IN, 0) }, { writeLen: 512 }, { writeLen: 1 }]);
    r.mem.bytes[p.gpas[2]!] = 0xee;
    r.notify(0);
    r.setCommon(0x14, 1, 0); // reset while the read is in flight
    await blk.drain();
    expect(q.usedIdx).toBe(0);
    expect(r.mem.bytes[p.gpas[2]!]).toBe(0xee);
  });
});
