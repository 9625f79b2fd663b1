/**
 * ScsiCdrom (MMC-6) on an in-memory read-only medium: INQUIRY, capacity, READ(10/12)
 * and READ CD with checksums, write protection, TOC, mode pages, GET CONFIGURATION,
 * media changes (UNIT ATTENTION, NOT READY), events, locking and guest eject, state.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlockBackend } from '../../storage/block-backend.js';
import { be16, be32 } from './scsi-cdb.js';
import { ScsiCdrom } from './scsi-cdrom.js';
import { SCSI_STATUS_GOOD } from './scsi-result.js';
import { cdb10, cdb12, clearAttention, memoryBackend, pattern, run } from './test-support/scsi-harness.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const SECTORS = 40;
const NO_MEDIUM = [0x02, 0x3a, 0x00];

async function iso(seed = 1): Promise<{ backend: BlockBackend; bytes: Uint8Array }> {
  const bytes = pattern(SECTORS * 2048, seed);
  return { backend: (await memoryBackend(bytes, true)).backend, bytes };
}

const TUR = [0x00];
const GESN = [0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0];

describe('ScsiCdrom', () => {
  it('identifies as a removable MMC device and reads 2048-byte blocks', async () => {
    const { backend, bytes } = await iso();
    const cd = new ScsiCdrom({ id: 'cd0', medium: backend });
    await clearAttention(cd);
    const inq = await run(cd, [0x12, 0, 0, 0, 36]);
    expect([inq.data[0], inq.data[1], inq.data[2]]).toEqual([0x05, 0x80, 0x05]);
    expect(new TextDecoder().decode(inq.data.subarray(16, 32))).toBe('QEMU CD-ROM     ');
    expect([...(await run(cd, [0x12, 1, 0, 0, 255])).data.subarray(4)]).toEqual([0x00, 0x80, 0x83]);
    const cap = await run(cd, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect([be32(cap.data, 0), be32(cap.data, 4)]).toEqual([SECTORS - 1, 2048]);
    const r10 = await run(cd, cdb10(0x28, 16, 2));
    expect(sha(r10.data)).toBe(sha(bytes.subarray(16 * 2048, 18 * 2048)));
    const r12 = await run(cd, cdb12(0xa8, 0, 1));
    expect(sha(r12.data)).toBe(sha(bytes.subarray(0, 2048)));
    const readCd = await run(cd, [0xbe, 0, 0, 0, 0, 5, 0, 0, 1, 0x10, 0, 0]);
    expect(sha(readCd.data)).toBe(sha(bytes.subarray(5 * 2048, 6 * 2048)));
    expect((await run(cd, cdb10(0x28, SECTORS - 1, 2))).sense).toEqual([0x05, 0x21, 0x00]);
    expect((await run(cd, cdb10(0x2a, 0, 1), new Uint8Array(2048))).sense).toEqual([0x07, 0x27, 0x00]);
    expect((await run(cd, [0xff])).sense).toEqual([0x05, 0x20, 0x00]);
  });

  it('answers READ TOC, MODE SENSE(6/10), GET CONFIGURATION, READ DISC INFORMATION and MECHANISM STATUS', async () => {
    const { backend } = await iso();
    const cd = new ScsiCdrom({ id: 'cd0', medium: backend });
    await clearAttention(cd);
    const toc = await run(cd, [0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0]);
    expect([toc.data[2], toc.data[3], toc.data[6], toc.data[14]]).toEqual([1, 1, 1, 0xaa]);
    expect(be32(toc.data, 16)).toBe(SECTORS);
    const ms10 = await run(cd, [0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 255, 0]);
    expect(ms10.data[8]).toBe(0x2a);
    const ms6 = await run(cd, [0x1a, 0, 0x2a, 0, 255, 0]);
    expect([ms6.data[0], ms6.data[4]]).toEqual([ms6.data.length - 1, 0x2a]);
    expect((await run(cd, [0x5a, 0, 0x05, 0, 0, 0, 0, 0, 255, 0])).sense).toEqual([0x05, 0x24, 0x00]);
    const conf = await run(cd, [0x46, 0, 0, 0, 0, 0, 0, 0x01, 0, 0]);
    expect(be16(conf.data, 6)).toBe(0x0008); // current profile CD-ROM
    let at = 8;
    while (be16(conf.data, at) !== 0x0001) at += 4 + conf.data[at + 3]!;
    expect(be32(conf.data, at + 4)).toBe(1); // Core feature: SCSI physical interface
    expect((await run(cd, [0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0])).data.length).toBe(34);
    expect((await run(cd, [0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0])).data.length).toBe(8);
    expect((await run(cd, [0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8, 0])).sense).toEqual([0x05, 0x24, 0x00]); // not polled
  });

  it('reports NOT READY without a medium and UNIT ATTENTION on medium changes', async () => {
    const cd = new ScsiCdrom({ id: 'cd0', medium: null });
    await clearAttention(cd);
    expect((await run(cd, TUR)).sense).toEqual(NO_MEDIUM);
    expect((await run(cd, cdb10(0x28, 0, 1))).sense).toEqual(NO_MEDIUM);
    expect((await run(cd, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0])).sense).toEqual(NO_MEDIUM);
    const rs = await run(cd, [0x03, 0, 0, 0, 18]);
    expect([rs.data[2], rs.data[12]]).toEqual([0x02, 0x3a]);
    for (const ok of [[0x12, 0, 0, 0, 36], [0x5a, 0, 0x3f, 0, 0, 0, 0, 1, 0, 0], GESN, [0x46, 0, 0, 0, 0, 0, 0, 0, 64, 0], [0x1e, 0, 0, 0, 0, 0]]) {
      expect((await run(cd, ok)).status).toBe(SCSI_STATUS_GOOD);
    }
    const medium = await iso(2);
    cd.insert(medium.backend);
    const ev = await run(cd, GESN); // GESN does not consume the unit attention
    expect([ev.data[2], ev.data[4], ev.data[5]]).toEqual([0x04, 2 /* new media */, 0x02]);
    expect((await run(cd, TUR)).sense).toEqual([0x06, 0x28, 0x00]);
    expect((await run(cd, TUR)).status).toBe(SCSI_STATUS_GOOD);
    expect(sha((await run(cd, cdb10(0x28, 3, 1))).data)).toBe(sha(medium.bytes.subarray(3 * 2048, 4 * 2048)));
    expect(cd.eject()).toBe(true);
    expect((await run(cd, TUR)).sense).toEqual([0x06, 0x3a, 0x00]);
    expect((await run(cd, TUR)).sense).toEqual(NO_MEDIUM);
    expect((await run(cd, GESN)).data[4]).toBe(3); // media removal
  });

  it('locks the tray: guest eject refused, host eject queues a request; guest eject hands the medium back', async () => {
    const { backend } = await iso();
    const ejected: BlockBackend[] = [];
    const cd = new ScsiCdrom({ id: 'cd0', medium: backend, onGuestEject: (m) => ejected.push(m) });
    await clearAttention(cd);
    await run(cd, [0x1e, 0, 0, 0, 1, 0]);
    expect(cd.removalPrevented).toBe(true);
    expect((await run(cd, [0x1b, 0, 0, 0, 0x02, 0])).sense).toEqual([0x05, 0x53, 0x02]);
    expect(cd.eject()).toBe(false);
    expect((await run(cd, GESN)).data[4]).toBe(1); // eject request
    expect((await run(cd, [0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0])).data[1]).toBe(0); // tray closed
    await run(cd, [0x1e, 0, 0, 0, 0, 0]);
    expect((await run(cd, [0x1b, 0, 0, 0, 0x02, 0])).status).toBe(SCSI_STATUS_GOOD);
    expect(ejected).toEqual([backend]);
    expect(cd.currentMedium).toBeNull();
    expect((await run(cd, [0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0])).data[1]).toBe(0x10); // door open
    expect((await run(cd, TUR)).sense).toEqual(NO_MEDIUM);
  });

  it('round-trips its state; a medium that differs after restore raises a unit attention', async () => {
    const { backend } = await iso();
    const cd = new ScsiCdrom({ id: 'cd0', medium: backend });
    await clearAttention(cd);
    await run(cd, [0x1e, 0, 0, 0, 1, 0]);
    const s = JSON.parse(JSON.stringify(cd.saveState())) as unknown;
    const same = new ScsiCdrom({ id: 'cd0', medium: backend });
    same.parseState(s)();
    expect(same.saveState()).toEqual(s);
    expect(same.removalPrevented).toBe(true);
    const empty = new ScsiCdrom({ id: 'cd0', medium: null });
    empty.parseState(s)();
    expect(empty.pendingAttention).toEqual({ key: 0x06, asc: 0x3a, ascq: 0x00 });
    expect(() => empty.parseState({ v: 1, attention: null, locked: true, trayOpen: false, events: [9], mediumPresent: true })).toThrow();
  });
});
