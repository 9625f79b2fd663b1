import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  E820_RAM, E820_RESERVED, cmosMemoryBytes, decodeE820, encodeE820, firmwareE820, guestE820, pcRamLayout,
} from './e820.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

describe('pcRamLayout (QEMU pc_init1 split)', () => {
  it('keeps RAM below 3.5 GiB whole and splits larger RAM at 3 GiB', () => {
    expect(pcRamLayout(128 * MiB)).toEqual({ below4gBytes: 128 * MiB, above4gBytes: 0 });
    expect(pcRamLayout(3 * GiB)).toEqual({ below4gBytes: 3 * GiB, above4gBytes: 0 });
    expect(pcRamLayout(3.5 * GiB - 4096)).toEqual({ below4gBytes: 3.5 * GiB - 4096, above4gBytes: 0 });
    expect(pcRamLayout(3.5 * GiB)).toEqual({ below4gBytes: 3 * GiB, above4gBytes: 0.5 * GiB });
    expect(pcRamLayout(8 * GiB)).toEqual({ below4gBytes: 3 * GiB, above4gBytes: 5 * GiB });
    expect(pcRamLayout(4 * GiB, { gigabyteAlign: false })).toEqual({ below4gBytes: 3.5 * GiB, above4gBytes: 0.5 * GiB });
    expect(pcRamLayout(4 * GiB, { maxRamBelow4g: 2 * GiB })).toEqual({ below4gBytes: 2 * GiB, above4gBytes: 2 * GiB });
    expect(() => pcRamLayout(1000)).toThrow(RangeError);
  });
});

describe('e820 maps', () => {
  it('gives firmware what QEMU puts in etc/e820', () => {
    expect(firmwareE820(pcRamLayout(512 * MiB))).toEqual([{ gpa: 0, lengthBytes: 512 * MiB, type: E820_RAM }]);
    // qemu-system-x86_64 7.2 -m 6G with an AMD CPU model lists the HT hole first.
    expect(firmwareE820(pcRamLayout(6 * GiB), { reserveAmdHtHole: true })[0]).toEqual(
      { gpa: 0xfd00000000, lengthBytes: 0x300000000, type: E820_RESERVED });
    expect(firmwareE820(pcRamLayout(6 * GiB))).toEqual([
      { gpa: 0, lengthBytes: 3 * GiB, type: E820_RAM },
      { gpa: 4 * GiB, lengthBytes: 3 * GiB, type: E820_RAM },
    ]);
  });

  it('builds the classic OS-facing map, sorted and disjoint', () => {
    const m = guestE820(pcRamLayout(6 * GiB));
    expect(m).toEqual([
      { gpa: 0, lengthBytes: 0x9fc00, type: E820_RAM },
      { gpa: 0x9fc00, lengthBytes: 0x400, type: E820_RESERVED },
      { gpa: 0xf0000, lengthBytes: 0x10000, type: E820_RESERVED },
      { gpa: MiB, lengthBytes: 3 * GiB - MiB, type: E820_RAM },
      { gpa: 0xfffc0000, lengthBytes: 0x40000, type: E820_RESERVED },
      { gpa: 4 * GiB, lengthBytes: 3 * GiB, type: E820_RAM },
    ]);
    for (let i = 1; i < m.length; i++) expect(m[i]!.gpa).toBeGreaterThanOrEqual(m[i - 1]!.gpa + m[i - 1]!.lengthBytes);
  });

  it('encodes 20-byte little-endian entries and decodes them back', () => {
    const entries = firmwareE820(pcRamLayout(6 * GiB));
    const b = encodeE820(entries);
    expect(b.length).toBe(40);
    expect(Array.from(b.subarray(20, 40))).toEqual([
      0, 0, 0, 0, 1, 0, 0, 0,
      0, 0, 0, 0xc0, 0, 0, 0, 0,
      1, 0, 0, 0,
    ]);
    expect(decodeE820(b)).toEqual(entries);
    expect(() => decodeE820(new Uint8Array(7))).toThrow(RangeError);
  });
});

describe('CMOS memory bytes', () => {
  const byIndex = (l: ReturnType<typeof cmosMemoryBytes>): Map<number, number> => new Map(l.map((c) => [c.index, c.value]));

  it('matches QEMU pc_cmos_init for 128 MiB and 6 GiB', () => {
    const small = byIndex(cmosMemoryBytes(pcRamLayout(128 * MiB), 2));
    expect([0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35, 0x5b, 0x5c, 0x5d, 0x5f].map((i) => small.get(i)))
      .toEqual([0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07, 0, 0, 0, 1]);
    const big = byIndex(cmosMemoryBytes(pcRamLayout(6 * GiB)));
    // 3 GiB above 4 GiB in 64 KiB units = 0xC000
    expect([big.get(0x5b), big.get(0x5c), big.get(0x5d)]).toEqual([0x00, 0xc0, 0x00]);
    // below 4G: 3 GiB - 16 MiB in 64 KiB units = 0xBF00
    expect([big.get(0x34), big.get(0x35)]).toEqual([0x00, 0xbf]);
  });

  it('lets SeaBIOS recover the low RAM size (qemu_preinit formula)', () => {
    fc.assert(fc.property(fc.integer({ min: 17 * 16, max: 16 * 1024 * 8 }), (units64k) => {
      const layout = pcRamLayout(units64k * 65536);
      const c = byIndex(cmosMemoryBytes(layout));
      const rs = ((c.get(0x34)! << 16) | (c.get(0x35)! << 24)) >>> 0;
      expect(rs + 16 * MiB).toBe(layout.below4gBytes);
      const high = (c.get(0x5b)! * 2 ** 16) + (c.get(0x5c)! * 2 ** 24) + (c.get(0x5d)! * 2 ** 32);
      expect(high).toBe(layout.above4gBytes);
    }), { numRuns: 200 });
  });
});
