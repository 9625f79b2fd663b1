/**
 * ScsiDisk (SBC-3) command by command on in-memory backends: unit attention, INQUIRY and
 * VPD pages, capacity, read/write round trips with checksums, range and field errors,
 * write protection, mode pages, cache control, UNMAP / WRITE SAME / VERIFY, backend
 * failures and state round trips.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { be16, be32, be64 } from './scsi-cdb.js';
import { ScsiDisk } from './scsi-disk.js';
import { SCSI_STATUS_CHECK_CONDITION, SCSI_STATUS_GOOD } from './scsi-result.js';
import { cdb10, cdb12, cdb16, clearAttention, GatedBackend, memoryBackend, pattern, run } from './test-support/scsi-harness.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ascii = (b: Uint8Array): string => new TextDecoder().decode(b);
const INVALID_OPCODE = [0x05, 0x20, 0x00];
const INVALID_FIELD = [0x05, 0x24, 0x00];
const LBA_RANGE = [0x05, 0x21, 0x00];
const WRITE_PROTECTED = [0x07, 0x27, 0x00];

async function disk(sizeBytes = 64 * 1024, readOnly = false) {
  const { backend, file } = await memoryBackend(sizeBytes, readOnly);
  const d = new ScsiDisk({ id: 'sd0', backend, serial: 'SER123' });
  await clearAttention(d);
  return { d, file, backend };
}

describe('ScsiDisk', () => {
  it('reports the power-on unit attention once; INQUIRY and REQUEST SENSE handle it as SPC-4', async () => {
    const { backend } = await memoryBackend(4096);
    const d = new ScsiDisk({ id: 'sd0', backend });
    expect((await run(d, [0x12, 0, 0, 0, 36])).status).toBe(SCSI_STATUS_GOOD); // INQUIRY leaves it pending
    const rs = await run(d, [0x03, 0, 0, 0, 18]);
    expect(rs.status).toBe(SCSI_STATUS_GOOD);
    expect([rs.data[0], rs.data[2], rs.data[7], rs.data[12], rs.data[13]]).toEqual([0x70, 0x06, 10, 0x29, 0x00]);
    expect((await run(d, [0x00])).status).toBe(SCSI_STATUS_GOOD);
    d.reset();
    const tur = await run(d, [0x00]);
    expect(tur.status).toBe(SCSI_STATUS_CHECK_CONDITION);
    expect(tur.sense).toEqual([0x06, 0x29, 0x00]);
    expect((await run(d, [0x00])).status).toBe(SCSI_STATUS_GOOD);
    const none = await run(d, [0x03, 0, 0, 0, 252]);
    expect(none.data.length).toBe(18);
    expect(none.data[2]).toBe(0);
    expect((await run(d, [0x03, 1, 0, 0, 18])).sense).toEqual(INVALID_FIELD); // DESC
  });

  it('answers INQUIRY standard data and VPD pages, truncated to the allocation length', async () => {
    const { d } = await disk();
    const std = await run(d, [0x12, 0, 0, 0, 96]);
    expect(std.data.length).toBe(36);
    expect([std.data[0], std.data[1], std.data[2], std.data[3] & 0x0f, std.data[4]]).toEqual([0x00, 0x00, 0x05, 0x02, 31]);
    expect(ascii(std.data.subarray(8, 16))).toBe('QEMU    ');
    expect(ascii(std.data.subarray(16, 32))).toBe('QEMU HARDDISK   ');
    expect((await run(d, [0x12, 0, 0, 0, 5])).data.length).toBe(5);
    expect((await run(d, [0x12, 0, 0, 0, 0])).data.length).toBe(0);
    const p0 = await run(d, [0x12, 1, 0x00, 0, 255]);
    expect([...p0.data.subarray(4)]).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
    const p80 = await run(d, [0x12, 1, 0x80, 0, 255]);
    expect(ascii(p80.data.subarray(4))).toBe('SER123');
    const p83 = await run(d, [0x12, 1, 0x83, 0, 255]);
    expect(be16(p83.data, 2)).toBe(p83.data.length - 4);
    expect(ascii(p83.data.subarray(8, 14))).toBe('SER123');
    const b0 = await run(d, [0x12, 1, 0xb0, 0, 255]);
    expect(be16(b0.data, 2)).toBe(0x3c);
    expect(be32(b0.data, 8)).toBe(0xffff); // maximum transfer length
    expect(be32(b0.data, 24)).toBe(255); // maximum unmap descriptors
    const b2 = await run(d, [0x12, 1, 0xb2, 0, 255]);
    expect(b2.data[5]! & 0xe0).toBe(0xe0); // LBPU, LBPWS, LBPWS10
    expect((await run(d, [0x12, 1, 0xb1, 0, 255])).data.length).toBe(0x40);
    expect((await run(d, [0x12, 1, 0xc0, 0, 255])).sense).toEqual(INVALID_FIELD);
    expect((await run(d, [0x12, 0, 0x80, 0, 255])).sense).toEqual(INVALID_FIELD); // page code without EVPD
    expect(d.guestErrors).toBe(2);
  });

  it('reports the capacity through READ CAPACITY(10) and (16)', async () => {
    const { d } = await disk(1024 * 1024);
    const rc10 = await run(d, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([be32(rc10.data, 0), be32(rc10.data, 4)]).toEqual([2047, 512]);
    const rc16 = await run(d, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]);
    expect(rc16.data.length).toBe(32);
    expect([be64(rc16.data, 0), be32(rc16.data, 8), rc16.data[14]! & 0x80]).toEqual([2047, 512, 0x80]);
    expect((await run(d, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0])).data.length).toBe(12);
    expect((await run(d, [0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])).sense).toEqual(INVALID_FIELD);
    expect((await run(d, [0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0])).sense).toEqual(INVALID_FIELD); // LBA without PMI
  });

  it('round-trips data through WRITE/READ (6, 10, 12, 16) with matching checksums', async () => {
    const { d, file } = await disk();
    const data = pattern(8 * 512, 3);
    expect((await run(d, cdb10(0x2a, 10, 8), data)).status).toBe(SCSI_STATUS_GOOD);
    expect(sha(file.bytes().subarray(10 * 512, 18 * 512))).toBe(sha(data));
    const r16 = await run(d, cdb16(0x88, 10, 8));
    expect(sha(r16.data)).toBe(sha(data));
    const r12 = await run(d, cdb12(0xa8, 12, 2));
    expect(sha(r12.data)).toBe(sha(data.subarray(1024, 2048)));
    const small = pattern(512, 9);
    expect((await run(d, [0x0a, 0, 0, 3, 1, 0], small)).status).toBe(SCSI_STATUS_GOOD); // WRITE(6) LBA 3
    expect(sha((await run(d, [0x08, 0, 0, 3, 1, 0])).data)).toBe(sha(small));
    expect((await run(d, cdb16(0x8a, 100, 4), pattern(2048, 5))).status).toBe(SCSI_STATUS_GOOD);
    expect(sha((await run(d, cdb10(0x28, 100, 4))).data)).toBe(sha(pattern(2048, 5)));
    expect((await run(d, cdb10(0x28, 0, 0))).data.length).toBe(0);
  });

  it('refuses out-of-range blocks, unknown opcodes, bad fields and oversized transfers', async () => {
    const { d } = await disk(64 * 1024); // 128 blocks
    expect((await run(d, cdb10(0x28, 127, 2))).sense).toEqual(LBA_RANGE);
    expect((await run(d, cdb16(0x88, 2 ** 60, 1))).sense).toEqual(LBA_RANGE);
    expect((await run(d, cdb10(0x2a, 128, 1), new Uint8Array(512))).sense).toEqual(LBA_RANGE);
    expect((await run(d, [0x2b, 0, 0, 0, 1, 0, 0, 0, 0, 0])).sense).toEqual(LBA_RANGE); // SEEK(10) LBA 256
    expect((await run(d, [0xc5])).sense).toEqual(INVALID_OPCODE);
    expect((await run(d, [0x4d, 0, 0, 0, 0, 0, 0, 0, 64, 0])).sense).toEqual(INVALID_OPCODE); // LOG SENSE
    expect((await run(d, [0x1a, 0, 0x3f, 0, 255, 0])).status).toBe(SCSI_STATUS_GOOD);
    expect((await run(d, [0x1a, 0, 0x1c, 0, 255, 0])).sense).toEqual(INVALID_FIELD);
    const huge = await run(d, cdb12(0xa8, 0, 0x10000)); // 32 MiB + 512: above the maximum transfer length
    expect(huge.sense).toEqual(INVALID_FIELD);
  });

  it('is write-protected when read-only: DATA PROTECT, WP in the mode header, no unmap offered', async () => {
    const { d } = await disk(8192, true);
    expect(d.readOnly).toBe(true);
    expect((await run(d, cdb10(0x2a, 0, 1), new Uint8Array(512))).sense).toEqual(WRITE_PROTECTED);
    expect((await run(d, [0x0a, 0, 0, 0, 1, 0], new Uint8Array(512))).sense).toEqual(WRITE_PROTECTED);
    expect((await run(d, cdb16(0x93, 0, 1, 0x08), new Uint8Array(512))).sense).toEqual(WRITE_PROTECTED);
    expect((await run(d, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], new Uint8Array(24))).sense).toEqual(WRITE_PROTECTED);
    const ms6 = await run(d, [0x1a, 0x08, 0x08, 0, 255, 0]);
    expect(ms6.data[2]! & 0x80).toBe(0x80);
    const ms10 = await run(d, [0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0]);
    expect(ms10.data[3]! & 0x80).toBe(0x80);
    expect((await run(d, [0x12, 1, 0xb2, 0, 255])).data[5]).toBe(0);
    expect((await run(d, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0])).data[14]).toBe(0);
    expect((await run(d, cdb10(0x28, 0, 1))).status).toBe(SCSI_STATUS_GOOD);
  });

  it('returns mode pages 01h, 08h (WCE) and 0Ah with or without block descriptors; MODE SELECT switches WCE', async () => {
    const { d, file } = await disk(64 * 1024);
    const all = await run(d, [0x1a, 0, 0x3f, 0, 255, 0]);
    expect(all.data[0]).toBe(all.data.length - 1);
    expect(all.data[3]).toBe(8); // block descriptor length
    expect([be32(all.data, 4), be32(all.data, 8) & 0xffffff]).toEqual([128, 512]);
    expect([all.data[12], all.data[24], all.data[44]]).toEqual([0x01, 0x08, 0x0a]);
    expect(all.data[26]! & 0x04).toBe(0x04); // WCE
    const dbd = await run(d, [0x5a, 0x08, 0x08, 0, 0, 0, 0, 0, 255, 0]);
    expect(be16(dbd.data, 6)).toBe(0);
    expect([dbd.data[8], dbd.data[9]]).toEqual([0x08, 18]);
    expect((await run(d, [0x1a, 0, 0x08, 0, 8, 0])).data.length).toBe(8); // truncated
    expect((await run(d, [0x1a, 0, 0xc8, 0, 255, 0])).sense).toEqual([0x05, 0x39, 0x00]); // saved values
    const changeable = await run(d, [0x1a, 0x08, 0x48, 0, 255, 0]);
    expect(changeable.data[6]).toBe(0x04);
    // MODE SELECT(6): header + caching page with WCE clear
    const list = new Uint8Array(4 + 20);
    list[4] = 0x08; list[5] = 18;
    expect((await run(d, [0x15, 0x10, 0, 0, list.length, 0], list)).status).toBe(SCSI_STATUS_GOOD);
    expect(d.writeCacheEnabled).toBe(false);
    const syncs = file.syncCount;
    await run(d, cdb10(0x2a, 0, 1), new Uint8Array(512));
    expect(file.syncCount).toBe(syncs + 1);
    expect((await run(d, [0x15, 0x10, 0, 0, 6, 0], Uint8Array.of(0, 0, 0, 0, 0x08, 18))).sense).toEqual([0x05, 0x1a, 0x00]);
    expect((await run(d, [0x15, 0x10, 0, 0, 8, 0], Uint8Array.of(0, 0, 0, 0, 0x1c, 2, 0, 0))).sense).toEqual([0x05, 0x26, 0x00]);
  });

  it('flushes on SYNCHRONIZE CACHE and FUA writes; START STOP, PREVENT ALLOW and RESERVE are accepted', async () => {
    const { d, file } = await disk();
    const s0 = file.syncCount;
    expect((await run(d, [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status).toBe(SCSI_STATUS_GOOD);
    expect((await run(d, [0x91])).status).toBe(SCSI_STATUS_GOOD);
    expect(file.syncCount).toBe(s0 + 2);
    await run(d, cdb10(0x2a, 0, 1, 0x08), new Uint8Array(512));
    expect(file.syncCount).toBe(s0 + 3);
    for (const c of [[0x1b, 0, 0, 0, 1, 0], [0x1e, 0, 0, 0, 1, 0], [0x16], [0x17]]) expect((await run(d, c)).status).toBe(SCSI_STATUS_GOOD);
  });

  it('UNMAPs, WRITE SAMEs (pattern, zeroes, UNMAP, NDOB) and VERIFYs with compare', async () => {
    const { d, file } = await disk(64 * 1024);
    await run(d, cdb10(0x2a, 0, 16), pattern(16 * 512, 2));
    const unmap = new Uint8Array(24);
    unmap[1] = 22; unmap[3] = 16;
    unmap[15] = 4; unmap[19] = 2; // LBA 4, 2 blocks
    expect((await run(d, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], unmap)).status).toBe(SCSI_STATUS_GOOD);
    const badRange = unmap.slice();
    badRange[15] = 127; badRange[19] = 2;
    expect((await run(d, [0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], badRange)).sense).toEqual(LBA_RANGE);
    expect((await run(d, [0x42, 0, 0, 0, 0, 0, 0, 0, 4, 0], unmap)).sense).toEqual([0x05, 0x1a, 0x00]);
    // WRITE SAME(16) with UNMAP of zeroes: blocks 0..3 read zero
    expect((await run(d, cdb16(0x93, 0, 4, 0x08), new Uint8Array(512))).status).toBe(SCSI_STATUS_GOOD);
    expect(file.bytes().subarray(0, 2048).every((b) => b === 0)).toBe(true);
    // WRITE SAME(10) of a pattern block over 8..11
    const block = pattern(512, 7);
    expect((await run(d, cdb10(0x41, 8, 4), block)).status).toBe(SCSI_STATUS_GOOD);
    for (let i = 8; i < 12; i++) expect(sha(file.bytes().subarray(i * 512, i * 512 + 512))).toBe(sha(block));
    // NDOB: no data-out, zeroes
    expect((await run(d, cdb16(0x93, 8, 1, 0x01))).status).toBe(SCSI_STATUS_GOOD);
    expect(file.bytes().subarray(8 * 512, 9 * 512).every((b) => b === 0)).toBe(true);
    expect((await run(d, cdb16(0x93, 0, 0), block)).sense).toEqual(INVALID_FIELD); // WSNZ
    // VERIFY: BYTCHK 0 range check, 01b compare, 11b single block compare, miscompare
    expect((await run(d, cdb10(0x2f, 0, 16))).status).toBe(SCSI_STATUS_GOOD);
    expect((await run(d, cdb10(0x2f, 120, 16))).sense).toEqual(LBA_RANGE);
    expect((await run(d, cdb10(0x2f, 9, 3, 0x02), file.bytes().subarray(9 * 512, 12 * 512))).status).toBe(SCSI_STATUS_GOOD);
    expect((await run(d, cdb10(0x2f, 9, 3, 0x06), block)).status).toBe(SCSI_STATUS_GOOD);
    expect((await run(d, cdb10(0x2f, 8, 2, 0x06), block)).sense).toEqual([0x0e, 0x1d, 0x00]);
  });

  it('turns backend failures into MEDIUM ERROR and reports them to the host', async () => {
    const errors: unknown[] = [];
    const backend = new GatedBackend(8192);
    const d = new ScsiDisk({ id: 'sd1', backend, onIoError: (e) => errors.push(e) });
    await clearAttention(d);
    const rd = run(d, cdb10(0x28, 0, 1));
    const wr = run(d, cdb10(0x2a, 0, 1), new Uint8Array(512));
    await Promise.resolve();
    expect(backend.waiting).toBe(2);
    backend.fail();
    expect((await rd).sense).toEqual([0x03, 0x11, 0x00]);
    expect((await wr).sense).toEqual([0x03, 0x0c, 0x00]);
    expect(errors).toHaveLength(2);
  });

  it('saves and restores its state; rejects malformed state without changes', async () => {
    const { d, backend } = await disk();
    const list = new Uint8Array(24);
    list[4] = 0x08; list[5] = 18;
    await run(d, [0x15, 0x10, 0, 0, 24, 0], list);
    const s = JSON.parse(JSON.stringify(d.saveState())) as unknown;
    const d2 = new ScsiDisk({ id: 'sd0', backend });
    d2.parseState(s)();
    expect(d2.saveState()).toEqual(s);
    expect(d2.writeCacheEnabled).toBe(false);
    expect(d2.pendingAttention).toBeNull();
    for (const bad of [null, { v: 2 }, { v: 1, attention: [1, 2], writeCache: true }, { v: 1, attention: null, writeCache: 1 }]) {
      expect(() => d2.parseState(bad)).toThrow();
    }
    expect(d2.saveState()).toEqual(s);
  });
});
