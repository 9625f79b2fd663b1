/**
 * ScsiBus target-level commands (REPORT LUNS, absent LUNs) and the CDB decoder's
 * expected transfers.
 */
import { describe, expect, it } from 'vitest';
import { ScsiBus } from './scsi-bus.js';
import { blockRange, cdbLength, expectedTransfer } from './scsi-cdb.js';
import { ScsiCdrom } from './scsi-cdrom.js';
import { ScsiDisk } from './scsi-disk.js';
import { SCSI_STATUS_CHECK_CONDITION, SCSI_STATUS_GOOD } from './scsi-result.js';
import { parseFixedSense } from './scsi-sense.js';
import { memoryBackend } from './test-support/scsi-harness.js';

function cdb(bytes: readonly number[]): Uint8Array {
  const c = new Uint8Array(16);
  c.set(bytes);
  return c;
}

async function bus(): Promise<ScsiBus> {
  const { backend } = await memoryBackend(8192);
  return new ScsiBus([
    { target: 0, lun: 0, unit: new ScsiDisk({ id: 'd0', backend }) },
    { target: 2, lun: 3, unit: new ScsiCdrom({ id: 'c0', medium: null }) },
    { target: 2, lun: 300, unit: new ScsiCdrom({ id: 'c1', medium: null }) },
  ]);
}

describe('ScsiBus', () => {
  it('answers REPORT LUNS with LUN 0 and every unit, peripheral or flat addressed', async () => {
    const b = await bus();
    const r = await b.execute(2, 7, cdb([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), new Uint8Array(0));
    expect(r.status).toBe(SCSI_STATUS_GOOD);
    expect([...r.data]).toEqual([0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x41, 0x2c, 0, 0, 0, 0, 0, 0]);
    expect((await b.execute(0, 0, cdb([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16]), new Uint8Array(0))).data.length).toBe(16);
    expect((await b.execute(0, 0, cdb([0xa0, 0, 1, 0, 0, 0, 0, 0, 1, 0]), new Uint8Array(0))).data[3]).toBe(0);
    const bad = await b.execute(0, 0, cdb([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8]), new Uint8Array(0));
    expect(parseFixedSense(bad.sense!)).toEqual({ key: 5, asc: 0x24, ascq: 0 });
    expect(b.hasTarget(2)).toBe(true);
    expect(b.hasTarget(1)).toBe(false);
  });

  it('answers absent LUNs of a present target: INQUIRY qualifier 011b, LOGICAL UNIT NOT SUPPORTED otherwise', async () => {
    const b = await bus();
    const inq = await b.execute(0, 5, cdb([0x12, 0, 0, 0, 36]), new Uint8Array(0));
    expect([inq.status, inq.data[0], inq.data.length]).toEqual([SCSI_STATUS_GOOD, 0x7f, 36]);
    const rs = await b.execute(0, 5, cdb([0x03, 0, 0, 0, 18]), new Uint8Array(0));
    expect(parseFixedSense(rs.data)).toEqual({ key: 5, asc: 0x25, ascq: 0 });
    const tur = await b.execute(0, 5, cdb([0x00]), new Uint8Array(0));
    expect(tur.status).toBe(SCSI_STATUS_CHECK_CONDITION);
    expect(parseFixedSense(tur.sense!)).toEqual({ key: 5, asc: 0x25, ascq: 0 });
  });

  it('refuses duplicate or out-of-range addresses (a host bug)', async () => {
    const { backend } = await memoryBackend(4096);
    const unit = new ScsiDisk({ id: 'd', backend });
    expect(() => new ScsiBus([{ target: 0, lun: 0, unit }, { target: 0, lun: 0, unit }])).toThrow();
    expect(() => new ScsiBus([{ target: 256, lun: 0, unit }])).toThrow();
    expect(() => new ScsiBus([{ target: 0, lun: 16384, unit }])).toThrow();
  });

  it('decodes CDB lengths, block ranges and expected transfers', () => {
    expect([cdbLength(0x08), cdbLength(0x28), cdbLength(0x5a), cdbLength(0x88), cdbLength(0xa8), cdbLength(0xc0)]).toEqual([6, 10, 10, 16, 12, 0]);
    expect(blockRange(cdb([0x08, 0x1f, 0xff, 0xff, 0]))).toEqual({ lba: 0x1fffff, count: 256 });
    expect(blockRange(cdb([0x88, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]))).toEqual({ lba: 2 ** 32, count: 9 });
    expect(expectedTransfer(cdb([0x28, 0, 0, 0, 0, 0, 0, 0, 4]), 'disk', 512)).toEqual({ direction: 'in', bytes: 2048 });
    expect(expectedTransfer(cdb([0x28, 0, 0, 0, 0, 0, 0, 0, 4]), 'cdrom', 2048)).toEqual({ direction: 'in', bytes: 8192 });
    expect(expectedTransfer(cdb([0x2a, 0, 0, 0, 0, 0, 0, 0, 1]), 'disk', 512)).toEqual({ direction: 'out', bytes: 512 });
    expect(expectedTransfer(cdb([0x42, 0, 0, 0, 0, 0, 0, 0, 24]), 'disk', 512)).toEqual({ direction: 'out', bytes: 24 });
    expect(expectedTransfer(cdb([0x42, 0, 0x40, 1, 0, 0, 0, 0, 24]), 'cdrom', 2048)).toEqual({ direction: 'in', bytes: 24 });
    expect(expectedTransfer(cdb([0x93, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8]), 'disk', 512)).toEqual({ direction: 'none', bytes: 0 });
    expect(expectedTransfer(cdb([0x00]), 'disk', 512)).toEqual({ direction: 'none', bytes: 0 });
    expect(expectedTransfer(cdb([0x12, 0, 0, 0, 0]), 'disk', 512)).toEqual({ direction: 'none', bytes: 0 });
    expect(expectedTransfer(cdb([0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8]), 'cdrom', 2048)).toEqual({ direction: 'in', bytes: 8 });
  });
});
