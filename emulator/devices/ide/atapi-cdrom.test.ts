/**
 * ATAPI CD-ROM on the secondary channel with an ISO built by xorriso at test time:
 * signature and IDENTIFY PACKET DEVICE, READ(10) of the PVD and of a file, READ TOC,
 * REQUEST SENSE after a bad command, media change (NOT READY, UNIT ATTENTION, ready),
 * GESN new-media events, prevent-removal, DMA reads, MODE SENSE and GET CONFIGURATION.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../storage/block-backend.js';
import { AtapiCdrom } from './atapi-cdrom.js';
import { BM_STATUS_INTERRUPT } from './bus-master.js';
import { ATA_CMD, ATA_SR_DRQ, ATA_SR_ERR } from './ide-constants.js';
import { getAtaString } from './identify.js';
import { Driver, HAVE_XORRISO, isoImage, makeRig, tempDir } from './test-support/ide-rig.js';

const tmp = tempDir('atapi');
const opened: BlockBackend[] = [];
const FILE_TEXT = 'Hello from the Vireo CD-ROM test.\n'.repeat(300);
let iso!: { path: string; backend: BlockBackend };
let iso2!: { path: string; backend: BlockBackend };

beforeAll(async () => {
  if (!HAVE_XORRISO) return;
  iso = await isoImage(tmp.dir, 'a.iso', { 'README.TXT': FILE_TEXT });
  iso2 = await isoImage(tmp.dir, 'b.iso', { 'DRIVERS.TXT': 'virtio' }, 'VIRTIO_WIN');
  opened.push(iso.backend, iso2.backend);
});
afterAll(async () => {
  for (const b of opened) await b.close().catch(() => undefined);
  tmp.remove();
});

function cdRig(medium: BlockBackend | null = iso.backend) {
  const rig = makeRig();
  const ejected: BlockBackend[] = [];
  const cd = new AtapiCdrom({ id: 'ide1-cd0', medium, onGuestEject: (m) => ejected.push(m) });
  rig.ide.attach(1, 0, cd);
  return { rig, cd, d: new Driver(rig, 1), ejected };
}

const read10 = (lba: number, n: number): number[] =>
  [0x28, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, n >> 8, n & 0xff];
const TUR = [0x00];
const REQUEST_SENSE = [0x03, 0, 0, 0, 18];

async function sense(d: Driver): Promise<[number, number, number]> {
  const r = await d.packetIn(0, REQUEST_SENSE);
  return [r.data[2]! & 0x0f, r.data[12]!, r.data[13]!];
}

describe.skipIf(!HAVE_XORRISO)('ATAPI CD-ROM', () => {
  it('has the ATAPI signature, aborts IDENTIFY DEVICE and answers IDENTIFY PACKET DEVICE', async () => {
    const { d } = cdRig();
    d.select(0, 0);
    expect([d.in(2), d.in(3), d.in(4), d.in(5)]).toEqual([1, 1, 0x14, 0xeb]);
    d.out(7, ATA_CMD.IDENTIFY_DEVICE);
    expect(d.alt() & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect([d.in(4), d.in(5)]).toEqual([0x14, 0xeb]);
    d.out(7, ATA_CMD.IDENTIFY_PACKET_DEVICE);
    expect((await d.notBusy()) & ATA_SR_DRQ).toBe(ATA_SR_DRQ);
    const raw = d.readWords(512);
    const w = new Uint16Array(256);
    for (let i = 0; i < 256; i++) w[i] = raw[2 * i]! | (raw[2 * i + 1]! << 8);
    expect(w[0]! >> 14).toBe(2);
    expect((w[0]! >> 8) & 0x1f).toBe(5);
    expect(getAtaString(w, 27, 20)).toBe('VIREO DVD-ROM');
  });

  it('READ(10) returns the ISO 9660 PVD at sector 16 and the file contents', async () => {
    const { d } = cdRig();
    const r = await d.packetIn(0, read10(16, 1));
    expect(r.status & ATA_SR_ERR).toBe(0);
    expect(d.in(2) & 3).toBe(3); // IO=1, CoD=1 at the end
    expect(r.data[0]).toBe(1);
    expect(String.fromCharCode(...r.data.subarray(1, 6))).toBe('CD001');
    expect(String.fromCharCode(...r.data.subarray(40, 50))).toBe('VIREO_TEST');
    // Find README.TXT: read the whole small image and look for the text.
    const sectors = Math.floor(iso.backend.sizeBytes / 2048);
    const all = await d.packetIn(0, read10(0, sectors), 0x8000);
    expect(all.blocks.every((n) => n <= 0x8000)).toBe(true);
    expect(Buffer.from(all.data).includes(Buffer.from(FILE_TEXT))).toBe(true);
  });

  it('READ CAPACITY and READ TOC (LBA and MSF, formats 0, 1, 2)', async () => {
    const { d } = cdRig();
    const sectors = Math.floor(iso.backend.sizeBytes / 2048);
    const cap = await d.packetIn(0, [0x25]);
    const dv = new DataView(cap.data.buffer);
    expect(dv.getUint32(0)).toBe(sectors - 1);
    expect(dv.getUint32(4)).toBe(2048);
    const toc = await d.packetIn(0, [0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24]);
    const t = new DataView(toc.data.buffer);
    expect(t.getUint16(0)).toBe(18);
    expect([toc.data[2], toc.data[3], toc.data[6], toc.data[14]]).toEqual([1, 1, 1, 0xaa]);
    expect(t.getUint32(16)).toBe(sectors);
    const msf = await d.packetIn(0, [0x43, 0x02, 0, 0, 0, 0, 0, 0x03, 0x24]);
    expect([...msf.data.subarray(8, 12)]).toEqual([0, 0, 2, 0]);
    const session = await d.packetIn(0, [0x43, 0, 1, 0, 0, 0, 0, 0, 12]);
    expect(session.data.length).toBe(12);
    const raw = await d.packetIn(0, [0x43, 0x02, 2, 0, 0, 0, 0, 0x03, 0x24]);
    expect(raw.data[7]).toBe(0xa0);
    expect(raw.data[4 + 11 * 3 + 3]).toBe(1);
  });

  it('REQUEST SENSE after an unknown command reports INVALID COMMAND OPERATION CODE', async () => {
    const { d } = cdRig();
    const r = await d.packetIn(0, [0xee]);
    expect(r.status & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(d.in(1) >> 4).toBe(5);
    expect(await sense(d)).toEqual([5, 0x20, 0]);
    expect(await sense(d)).toEqual([0, 0, 0]); // reported once
    await d.packetIn(0, read10(1 << 30, 1));
    expect(await sense(d)).toEqual([5, 0x21, 0]);
  });

  it('eject and insert: NOT READY, then UNIT ATTENTION once, then ready; GESN reports the events', async () => {
    const { d, cd } = cdRig();
    expect((await d.packetIn(0, TUR)).status & ATA_SR_ERR).toBe(0);
    expect(cd.eject()).toBe(true);
    expect((await d.packetIn(0, TUR)).status & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(await sense(d)).toEqual([2, 0x3a, 0]);
    const gesn = [0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8];
    let ev = await d.packetIn(0, gesn);
    expect([ev.data[2], ev.data[4], ev.data[5]! & 2]).toEqual([4, 3, 0]); // media removal, no medium
    cd.insert(iso2.backend);
    ev = await d.packetIn(0, gesn);
    expect([ev.data[4], ev.data[5]! & 2]).toEqual([2, 2]); // new media, present
    ev = await d.packetIn(0, gesn);
    expect(ev.data[4]).toBe(0);
    const ua = await d.packetIn(0, TUR);
    expect(ua.status & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(await sense(d)).toEqual([6, 0x28, 0]);
    expect((await d.packetIn(0, TUR)).status & ATA_SR_ERR).toBe(0);
    const pvd = await d.packetIn(0, read10(16, 1));
    expect(String.fromCharCode(...pvd.data.subarray(40, 50))).toBe('VIRTIO_WIN');
  });

  it('PREVENT ALLOW MEDIUM REMOVAL blocks guest and host ejects', async () => {
    const { d, cd, ejected } = cdRig();
    await d.packetIn(0, [0x1e, 0, 0, 0, 1]);
    const r = await d.packetIn(0, [0x1b, 0, 0, 0, 0x02]);
    expect(r.status & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(await sense(d)).toEqual([5, 0x53, 2]);
    expect(cd.eject()).toBe(false);
    const ev = await d.packetIn(0, [0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8]);
    expect(ev.data[4]).toBe(1); // eject request
    const caps = await d.packetIn(0, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 28]);
    expect(caps.data[8]).toBe(0x2a);
    expect(caps.data[14]! & 0x02).toBe(0x02); // locked
    await d.packetIn(0, [0x1e, 0, 0, 0, 0]);
    expect((await d.packetIn(0, [0x1b, 0, 0, 0, 0x02])).status & ATA_SR_ERR).toBe(0);
    expect(ejected).toHaveLength(1);
    expect(cd.currentMedium).toBeNull();
  });

  it('INQUIRY, GET CONFIGURATION, MODE SENSE, disc information and mechanism status', async () => {
    const { d } = cdRig();
    const inq = await d.packetIn(0, [0x12, 0, 0, 0, 36]);
    expect(inq.data[0]).toBe(5);
    expect(String.fromCharCode(...inq.data.subarray(8, 16))).toBe('VIREO   ');
    expect(String.fromCharCode(...inq.data.subarray(16, 22))).toBe('CD-ROM');
    const cfg = await d.packetIn(0, [0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    expect((cfg.data[6]! << 8) | cfg.data[7]!).toBe(0x0008); // small medium: CD-ROM current
    expect((cfg.data[8]! << 8) | cfg.data[9]!).toBe(0x0000); // profile list first
    const all = await d.packetIn(0, [0x5a, 0, 0x3f, 0, 0, 0, 0, 0x01, 0x00]);
    expect(all.data.length).toBe(8 + 8 + 8 + 16 + 20);
    expect((await d.packetIn(0, [0x5a, 0, 0xc1, 0, 0, 0, 0, 0, 255])).status & ATA_SR_ERR).toBe(ATA_SR_ERR);
    const di = await d.packetIn(0, [0x51, 0, 0, 0, 0, 0, 0, 0, 34]);
    expect(di.data[2]).toBe(0x0e);
    const ms = await d.packetIn(0, [0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8]);
    expect(ms.data.length).toBe(8);
  });

  it('reads through bus-master DMA when the PACKET Features DMA bit is set', async () => {
    const { d, rig } = cdRig();
    const bm = rig.ide.busMasterIo;
    rig.mem.prd(0x1000, [[0x40000, 4096]]);
    bm.write(8 + 4, 4, 0x1000);
    bm.write(8, 1, 0x09);
    await d.packet(0, read10(16, 2), 0, true);
    const st = await d.notBusy();
    expect(st & (ATA_SR_ERR | ATA_SR_DRQ)).toBe(0);
    expect(bm.read(8 + 2, 1) & BM_STATUS_INTERRUPT).toBe(BM_STATUS_INTERRUPT);
    expect(String.fromCharCode(...rig.mem.bytes.subarray(0x40001, 0x40006))).toBe('CD001');
  });

  it('empty drive: INQUIRY works, reads are NOT READY, GESN shows no medium', async () => {
    const { d } = cdRig(null);
    expect((await d.packetIn(0, [0x12, 0, 0, 0, 36])).status & ATA_SR_ERR).toBe(0);
    expect((await d.packetIn(0, read10(0, 1))).status & ATA_SR_ERR).toBe(ATA_SR_ERR);
    expect(await sense(d)).toEqual([2, 0x3a, 0]);
    const cfg = await d.packetIn(0, [0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    expect((cfg.data[6]! << 8) | cfg.data[7]!).toBe(0);
  });
});
