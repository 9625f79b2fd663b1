import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { I440fx, PAM_REGIONS, SMRAM_D_LCK, SMRAM_D_OPEN, SMRAM_G_SMRAME } from './i440fx.js';

type Pam = [number, boolean, boolean];

function make(): { d: I440fx; pam: Pam[]; smram: number[] } {
  const pam: Pam[] = [];
  const smram: number[] = [];
  const d = new I440fx({
    ramSizeBytes: 512 * 1024 * 1024,
    onPamChange: (i, r, w) => pam.push([i, r, w]),
    onSmramChange: (v) => smram.push(v),
  });
  return { d, pam, smram };
}

describe('I440fx identity', () => {
  it('is 8086:1237 rev 02, a host bridge with QEMU subsystem ids', () => {
    const { d } = make();
    expect(d.configRead(0, 4)).toBe(0x12378086);
    expect(d.configRead(0x08, 4)).toBe(0x06000002);
    expect(d.configRead(0x2c, 4)).toBe(0x11001af4);
    expect(d.configRead(0x72, 1)).toBe(0x02);
    expect(d.configRead(0x57, 1)).toBe(64);
    expect(d.configRead(0x59, 4)).toBe(0);
  });
});

describe('I440fx PAM', () => {
  it('lists the 13 regions exactly', () => {
    const rows = PAM_REGIONS.map((r) => [r.index, r.gpa.toString(16), r.sizeBytes.toString(16), r.reg.toString(16), r.shift]);
    expect(rows).toEqual([
      [0, 'f0000', '10000', '59', 4],
      [1, 'c0000', '4000', '5a', 0], [2, 'c4000', '4000', '5a', 4],
      [3, 'c8000', '4000', '5b', 0], [4, 'cc000', '4000', '5b', 4],
      [5, 'd0000', '4000', '5c', 0], [6, 'd4000', '4000', '5c', 4],
      [7, 'd8000', '4000', '5d', 0], [8, 'dc000', '4000', '5d', 4],
      [9, 'e0000', '4000', '5e', 0], [10, 'e4000', '4000', '5e', 4],
      [11, 'e8000', '4000', '5f', 0], [12, 'ec000', '4000', '5f', 4],
    ]);
  });

  it('reports region attribute changes from byte and word writes', () => {
    const { d, pam } = make();
    d.configWrite(0x59, 1, 0x3f);
    expect(d.configRead(0x59, 1)).toBe(0x30);
    expect(pam).toEqual([[0, true, true]]);
    pam.length = 0;
    d.configWrite(0x5a, 2, 0x2113);
    expect(pam).toEqual([[1, true, true], [2, true, false], [3, true, false], [4, false, true]]);
    expect(d.pamAttributes(2)).toBe(1);
    pam.length = 0;
    d.configWrite(0x5a, 1, 0x13); // no change
    expect(pam).toEqual([]);
  });

  it('follows SeaBIOS shadowing: all RW, copy, then read-only', () => {
    const { d, pam } = make();
    // make_bios_writable_intel: PAM1..6 = 0x33, PAM0 = 0x30
    for (let r = 0x5a; r <= 0x5f; r++) d.configWrite(r, 1, 0x33);
    d.configWrite(0x59, 1, 0x30);
    expect(pam.length).toBe(13);
    expect(pam.every(([, r, w]) => r && w)).toBe(true);
    pam.length = 0;
    // make_bios_readonly_intel: F-segment read-only
    d.configWrite(0x59, 1, 0x10);
    expect(pam).toEqual([[0, true, false]]);
  });

  it('re-reports regions after reset and on load into a fresh device', () => {
    const { d, pam } = make();
    d.configWrite(0x59, 4, 0x33333330);
    const saved = JSON.parse(JSON.stringify(d.saveState())) as unknown;
    pam.length = 0;
    d.reset('hard');
    expect(pam.length).toBe(7);
    expect(pam.every(([, r, w]) => !r && !w)).toBe(true);
    const fresh = make();
    fresh.d.loadState(saved);
    expect(fresh.pam.length).toBe(7);
    expect(fresh.d.saveState()).toEqual(JSON.parse(JSON.stringify(saved)));
  });
});

describe('I440fx SMRAM', () => {
  it('stores SeaBIOS SMM setup values with C_BASE_SEG fixed', () => {
    const { d, smram } = make();
    d.configWrite(0x72, 1, 0x4a);
    expect(d.smram).toBe(0x4a);
    d.configWrite(0x72, 1, 0x0a);
    d.configWrite(0x72, 1, 0x00);
    expect(d.smram).toBe(0x02);
    expect(smram).toEqual([0x4a, 0x0a, 0x02]);
  });

  it('locks D_OPEN, D_LCK and G_SMRAME once D_LCK is set, until reset', () => {
    const { d } = make();
    d.configWrite(0x72, 1, SMRAM_G_SMRAME | SMRAM_D_OPEN | SMRAM_D_LCK | 0x02);
    expect(d.smram).toBe(SMRAM_G_SMRAME | SMRAM_D_LCK | 0x02);
    d.configWrite(0x72, 1, SMRAM_D_OPEN);
    expect(d.smram).toBe(SMRAM_G_SMRAME | SMRAM_D_LCK | 0x02);
    d.reset('hard');
    expect(d.smram).toBe(0x02);
    d.configWrite(0x72, 1, SMRAM_D_OPEN);
    expect(d.smram).toBe(SMRAM_D_OPEN | 0x02);
  });

  it('never throws on random config writes; PAM0 low nibble stays zero', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0x40, max: 0xff }), fc.integer({ min: 0, max: 0xff })), { maxLength: 60 }), (ops) => {
      const { d } = make();
      for (const [r, v] of ops) d.configWrite(r, 1, v);
      expect(d.configRead(0x59, 1) & 0x0f).toBe(0);
      expect(d.smram & 0x87).toBe(0x02);
      const g = make().d;
      g.loadState(JSON.parse(JSON.stringify(d.saveState())));
      expect(g.saveState()).toEqual(d.saveState());
    }), { numRuns: 100 });
  });
});
