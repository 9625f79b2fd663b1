/**
 * ATA disk through the PIIX3 IDE ports, driven like a guest driver with real raw images:
 * IDENTIFY fields, PIO round trips checked against the file, LBA48, CHS, multiple mode,
 * bus-master DMA through a PRD table, FLUSH ordering, range and read-only errors, resets,
 * absent devices, nIEN.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../storage/block-backend.js';
import { AtaDisk } from './ata-disk.js';
import { BM_STATUS_ACTIVE, BM_STATUS_INTERRUPT } from './bus-master.js';
import {
  ATA_CMD, ATA_ER_ABRT, ATA_ER_IDNF, ATA_SR_DRDY, ATA_SR_DRQ, ATA_SR_ERR,
} from './ide-constants.js';
import { getAtaString } from './identify.js';
import { BM_BASE, diskPattern, Driver, fileSha, makeRig, rawDisk, tempDir } from './test-support/ide-rig.js';

const tmp = tempDir('ata');
const opened: BlockBackend[] = [];
afterAll(async () => {
  for (const b of opened) await b.close().catch(() => undefined);
  tmp.remove();
});

const MIB = 1 << 20;

async function diskRig(sizeBytes = 4 * MIB, readOnly = false) {
  const img = await rawDisk(tmp.dir, `d${Math.random().toString(36).slice(2)}.img`, sizeBytes, { readOnly });
  opened.push(img.backend);
  const rig = makeRig();
  const disk = new AtaDisk({ id: 'ide0-hd0', backend: img.backend });
  rig.ide.attach(0, 0, disk);
  return { rig, disk, img, d: new Driver(rig, 0) };
}

function words(b: Uint8Array): Uint16Array {
  const w = new Uint16Array(256);
  for (let i = 0; i < 256; i++) w[i] = b[2 * i]! | (b[2 * i + 1]! << 8);
  return w;
}

describe('IDENTIFY DEVICE', () => {
  it('reports model, geometry, LBA28/LBA48 capacity and features', async () => {
    const { d, rig } = await diskRig(10 * MIB);
    d.select(0);
    const rising = rig.irq14.rising;
    d.out(7, ATA_CMD.IDENTIFY_DEVICE);
    const st = await d.notBusy();
    expect(st & (ATA_SR_DRDY | ATA_SR_DRQ)).toBe(ATA_SR_DRDY | ATA_SR_DRQ);
    expect(rig.irq14.rising).toBe(rising + 1);
    expect(d.in(7) & ATA_SR_DRQ).toBe(ATA_SR_DRQ);
    expect(rig.irq14.level).toBe(false); // reading Status acknowledged the interrupt
    const raw = d.readWords(512);
    expect(d.alt() & ATA_SR_DRQ).toBe(0);
    const w = words(raw);
    const sectors = (10 * MIB) / 512;
    expect(getAtaString(w, 27, 20)).toBe('VIREO HARDDISK');
    // ATA strings put the first character in the high byte of each word.
    expect(String.fromCharCode(raw[55]!, raw[54]!)).toBe('VI');
    expect(w[0]).toBe(0x0040);
    expect([w[1], w[3], w[6]]).toEqual([Math.floor(sectors / 1008), 16, 63]);
    expect(w[60]! | (w[61]! << 16)).toBe(sectors);
    expect(w[100]! + w[101]! * 0x10000 + w[102]! * 2 ** 32 + w[103]! * 2 ** 48).toBe(sectors);
    expect(w[83]! & (1 << 10)).toBeTruthy(); // 48-bit
    expect(w[83]! & (1 << 12)).toBeTruthy(); // FLUSH CACHE
    expect(w[85]! & (1 << 5)).toBeTruthy(); // write cache on
    expect(w[88]! & 0x3f).toBe(0x3f);
    expect(w[47]! & 0xff).toBe(16);
    let sum = 0;
    for (const b of raw) sum += b;
    expect(w[255]! & 0xff).toBe(0xa5);
    expect(sum & 0xff).toBe(0);
  });

  it('caps cylinders at 16383 and LBA28 capacity at 0x0fffffff for a large sparse disk', async () => {
    const big = 200 * 1024 * MIB; // 200 GiB sparse, not written
    const rig = makeRig();
    const backend: BlockBackend = {
      format: 'raw', path: 'fake', sizeBytes: big, readOnly: true,
      read: async (_o, b) => { b.fill(0); }, write: async () => undefined, flush: async () => undefined,
      discard: async () => undefined, close: async () => undefined,
    };
    const disk = new AtaDisk({ id: 'big', backend });
    rig.ide.attach(0, 0, disk);
    const w = words(disk.identifyData());
    expect(w[1]).toBe(16383);
    expect(w[60]! | (w[61]! << 16)).toBe(0x0fffffff);
    expect(w[100]! + w[101]! * 0x10000 + w[102]! * 2 ** 32).toBe(big / 512);
  });

  it('SET FEATURES selects the UDMA mode and toggles the write cache', async () => {
    const { d, disk } = await diskRig();
    d.select(0);
    d.out(1, 0x03); d.out(2, 0x45); d.out(7, ATA_CMD.SET_FEATURES);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(0);
    expect(words(disk.identifyData())[88]).toBe(0x3f | (0x100 << 5));
    d.out(1, 0x82); d.out(7, ATA_CMD.SET_FEATURES);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(0);
    expect(words(disk.identifyData())[85]! & (1 << 5)).toBe(0);
    d.out(1, 0x03); d.out(2, 0x47); d.out(7, ATA_CMD.SET_FEATURES); // UDMA7: not supported
    expect(await d.notBusy() & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(d.in(1)).toBe(ATA_ER_ABRT);
  });
});

describe('PIO transfers', () => {
  it('READ SECTORS returns the file contents, one interrupt per sector', async () => {
    const { d, rig, img } = await diskRig();
    const file = readFileSync(img.path);
    const before = rig.irq14.rising;
    d.lba28(0, 100, 3, ATA_CMD.READ_SECTORS);
    const got: number[] = [];
    for (let s = 0; s < 3; s++) {
      const st = await d.notBusy();
      expect(st & ATA_SR_DRQ).toBe(ATA_SR_DRQ);
      d.in(7);
      got.push(...d.readWords(512));
    }
    expect(d.alt() & (ATA_SR_DRQ | ATA_SR_ERR)).toBe(0);
    expect(rig.irq14.rising - before).toBe(3);
    expect(Buffer.from(got).equals(file.subarray(100 * 512, 103 * 512))).toBe(true);
    // The task file points after the last sector.
    expect(d.in(3)).toBe(103);
    expect(rig.wakes.n).toBeGreaterThan(0);
  });

  it('WRITE SECTORS lands in the file; FLUSH CACHE completes only after the backend flush', async () => {
    const { d, img, disk } = await diskRig();
    const data = diskPattern(1024, 99);
    d.lba28(0, 7, 2, ATA_CMD.WRITE_SECTORS);
    expect(d.alt() & ATA_SR_DRQ).toBe(ATA_SR_DRQ); // first block: DRQ without an interrupt
    d.writeWords(data.subarray(0, 512));
    expect((await d.notBusy()) & ATA_SR_DRQ).toBe(ATA_SR_DRQ);
    d.in(7);
    d.writeWords(data.subarray(512));
    const st = await d.notBusy();
    expect(st & (ATA_SR_DRQ | ATA_SR_ERR)).toBe(0);
    await disk.settled();
    expect(readFileSync(img.path).subarray(7 * 512, 9 * 512).equals(Buffer.from(data))).toBe(true);

    // FLUSH: hold the backend flush and check the command stays busy until it resolves.
    let release!: () => void;
    const orig = img.backend.flush.bind(img.backend);
    let flushed = false;
    img.backend.flush = () => new Promise<void>((r) => { release = () => { flushed = true; r(); }; }).then(orig);
    d.out(7, ATA_CMD.FLUSH_CACHE);
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    expect(d.alt() & 0x80).toBe(0x80);
    expect(flushed).toBe(false);
    release();
    const fst = await d.notBusy();
    expect(flushed).toBe(true);
    expect(fst & ATA_SR_ERR).toBe(0);
  });

  it('READ/WRITE SECTORS EXT use 48-bit addresses and counts', async () => {
    const { d, img } = await diskRig(4 * MIB);
    const data = diskPattern(512 * 3, 7);
    d.lba48(0, 8000, 3, ATA_CMD.WRITE_SECTORS_EXT);
    for (let s = 0; s < 3; s++) {
      if (s > 0) await d.notBusy();
      d.writeWords(data.subarray(s * 512, (s + 1) * 512));
    }
    expect(await d.notBusy() & ATA_SR_ERR).toBe(0);
    d.lba48(0, 8000, 3, ATA_CMD.READ_SECTORS_EXT);
    const got: number[] = [];
    for (let s = 0; s < 3; s++) { await d.notBusy(); got.push(...d.readWords(512)); }
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
    expect(readFileSync(img.path).subarray(8000 * 512, 8003 * 512).equals(Buffer.from(data))).toBe(true);
    // LBA beyond 2^28 but inside no disk: IDNF.
    d.lba48(0, 0x1000_0000, 1, ATA_CMD.READ_SECTORS_EXT);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(d.in(1) & ATA_ER_IDNF).toBe(ATA_ER_IDNF);
  });

  it('READ MULTIPLE moves blocks of the SET MULTIPLE size', async () => {
    const { d, rig, img } = await diskRig();
    d.select(0);
    d.out(2, 4); d.out(7, ATA_CMD.SET_MULTIPLE_MODE);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(0);
    const before = rig.irq14.rising;
    d.lba28(0, 20, 10, ATA_CMD.READ_MULTIPLE);
    const got: number[] = [];
    for (const n of [4, 4, 2]) { await d.notBusy(); d.in(7); got.push(...d.readWords(n * 512)); }
    expect(rig.irq14.rising - before).toBe(3);
    expect(d.alt() & ATA_SR_DRQ).toBe(0);
    expect(Buffer.from(got).equals(readFileSync(img.path).subarray(20 * 512, 30 * 512))).toBe(true);
    d.out(2, 3); d.out(7, ATA_CMD.SET_MULTIPLE_MODE); // not a power of two
    expect(await d.notBusy() & ATA_SR_ERR).toBe(ATA_SR_ERR);
  });

  it('CHS addressing uses 16 heads and 63 sectors per track', async () => {
    const { d, img } = await diskRig();
    // C=1 H=2 S=3 -> LBA (1*16 + 2)*63 + 2 = 1136
    d.out(6, 0xa0 | 2); d.out(2, 1); d.out(3, 3); d.out(4, 1); d.out(5, 0);
    d.out(7, ATA_CMD.READ_SECTORS);
    await d.notBusy();
    const got = d.readWords(512);
    expect(Buffer.from(got).equals(readFileSync(img.path).subarray(1136 * 512, 1137 * 512))).toBe(true);
  });

  it('out-of-range requests fail with IDNF; read-only images abort writes and stay untouched', async () => {
    const { d } = await diskRig(1 * MIB);
    d.lba28(0, 2047, 2, ATA_CMD.READ_SECTORS);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(d.in(1)).toBe(ATA_ER_IDNF);

    const ro = await diskRig(1 * MIB, true);
    const hash = fileSha(ro.img.path);
    ro.d.lba28(0, 0, 1, ATA_CMD.WRITE_SECTORS);
    expect(ro.d.alt() & (ATA_SR_ERR | ATA_SR_DRQ)).toBe(ATA_SR_ERR);
    expect(ro.d.in(1)).toBe(ATA_ER_ABRT);
    ro.d.lba28(0, 0, 1, ATA_CMD.WRITE_DMA);
    expect(ro.d.alt() & ATA_SR_ERR).toBe(ATA_SR_ERR);
    await ro.disk.settled();
    expect(fileSha(ro.img.path)).toBe(hash);
  });

  it('reports backend read errors as UNC without throwing', async () => {
    const { d, img, rig } = await diskRig();
    img.backend.read = () => Promise.reject(new Error('disk on fire'));
    d.lba28(0, 0, 1, ATA_CMD.READ_SECTORS);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(d.in(1)).toBe(0x40);
    expect(rig.logs.some((l) => l.includes('disk on fire'))).toBe(true);
  });
});

describe('bus-master DMA', () => {
  it('READ DMA scatters into the PRD regions and sets the Interrupt bit', async () => {
    const { d, rig, img } = await diskRig();
    const bm = rig.ide.busMasterIo;
    rig.mem.prd(0x1000, [[0x10000, 1024], [0x20000, 512]]);
    bm.write(4, 4, 0x1000);
    d.lba28(0, 50, 3, ATA_CMD.READ_DMA);
    bm.write(0, 1, 0x09); // start, write to memory
    const st = await d.notBusy();
    expect(st & (ATA_SR_ERR | ATA_SR_DRQ)).toBe(0);
    const bst = bm.read(2, 1);
    expect(bst & BM_STATUS_INTERRUPT).toBe(BM_STATUS_INTERRUPT);
    expect(bst & BM_STATUS_ACTIVE).toBe(0); // table exhausted exactly
    const file = readFileSync(img.path);
    expect(Buffer.from(rig.mem.bytes.subarray(0x10000, 0x10400)).equals(file.subarray(50 * 512, 52 * 512))).toBe(true);
    expect(Buffer.from(rig.mem.bytes.subarray(0x20000, 0x20200)).equals(file.subarray(52 * 512, 53 * 512))).toBe(true);
    bm.write(0, 1, 0x00);
    bm.write(2, 1, BM_STATUS_INTERRUPT);
    expect(bm.read(2, 1) & BM_STATUS_INTERRUPT).toBe(0);
    expect(rig.bar4.address).toBe(BM_BASE);
  });

  it('WRITE DMA gathers from memory when the engine starts after the command', async () => {
    const { d, rig, img, disk } = await diskRig();
    const bm = rig.ide.busMasterIo;
    const data = diskPattern(2048, 5);
    rig.mem.bytes.set(data, 0x30000);
    rig.mem.prd(0x2000, [[0x30000, 0]]); // 64 KiB region, larger than the transfer
    bm.write(4, 4, 0x2000);
    d.lba28(0, 300, 4, ATA_CMD.WRITE_DMA);
    await new Promise((r) => setImmediate(r));
    expect(d.alt() & 0x80).toBe(0x80); // parked until Start
    bm.write(0, 1, 0x01);
    expect(await d.notBusy() & ATA_SR_ERR).toBe(0);
    await disk.settled();
    expect(bm.read(2, 1) & (BM_STATUS_INTERRUPT | BM_STATUS_ACTIVE)).toBe(BM_STATUS_INTERRUPT | BM_STATUS_ACTIVE);
    expect(readFileSync(img.path).subarray(300 * 512, 304 * 512).equals(Buffer.from(data))).toBe(true);
  });

  it('a PRD table shorter than the transfer stops without an interrupt', async () => {
    const { d, rig } = await diskRig();
    const bm = rig.ide.busMasterIo;
    rig.mem.prd(0x1000, [[0x10000, 512]]);
    bm.write(4, 4, 0x1000);
    d.lba48(0, 0, 4, ATA_CMD.READ_DMA_EXT);
    bm.write(0, 1, 0x09);
    await d.notBusy();
    expect(bm.read(2, 1) & (BM_STATUS_INTERRUPT | BM_STATUS_ACTIVE)).toBe(0);
  });
});

describe('channel behaviour', () => {
  it('SRST loads the ATA signature; absent slave reads 0; nIEN masks INTRQ', async () => {
    const { d, rig } = await diskRig();
    d.devctl(0x04);
    expect(d.alt() & 0x80).toBe(0x80);
    d.devctl(0x00);
    expect([d.in(2), d.in(3), d.in(4), d.in(5)]).toEqual([1, 1, 0, 0]);
    expect(d.in(7)).toBe(0x50);
    d.select(1);
    expect(d.in(7)).toBe(0);
    expect(d.alt()).toBe(0);
    d.out(7, ATA_CMD.IDENTIFY_DEVICE); // to the absent slave: ignored
    expect(d.alt()).toBe(0);
    d.select(0);
    d.devctl(0x02);
    const before = rig.irq14.rising;
    d.out(7, ATA_CMD.IDENTIFY_DEVICE);
    await d.notBusy();
    expect(rig.irq14.rising).toBe(before);
    d.devctl(0x00); // pending interrupt shows once nIEN is cleared
    expect(rig.irq14.level).toBe(true);
    d.in(7);
    expect(rig.irq14.level).toBe(false);
  });

  it('an empty channel reads 0 everywhere', () => {
    const rig = makeRig();
    const d = new Driver(rig, 1);
    for (let r = 1; r < 8; r++) expect(d.in(r)).toBe(0);
    expect(d.alt()).toBe(0);
  });

  it('requests completing after SRST are dropped', async () => {
    const { d, disk } = await diskRig();
    d.lba28(0, 0, 1, ATA_CMD.READ_SECTORS);
    d.devctl(0x04);
    d.devctl(0x00);
    await disk.settled();
    expect(d.alt() & ATA_SR_DRQ).toBe(0);
    expect(d.in(4)).toBe(0);
  });
});
