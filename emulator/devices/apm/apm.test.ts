import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Apm } from './apm.js';

describe('Apm', () => {
  it('reports APMC writes and keeps APMS as scratch', () => {
    const seen: number[] = [];
    const apm = new Apm({ onControlWrite: (v) => seen.push(v) });
    // SeaBIOS smm_relocate_and_restore: status 1, command 0
    apm.io.write(1, 1, 0x01);
    apm.io.write(0, 1, 0x00);
    apm.io.write(0, 1, 0x1f1);
    expect(seen).toEqual([0x00, 0xf1]);
    expect(apm.io.read(0, 1)).toBe(0xf1);
    expect(apm.io.read(1, 1)).toBe(0x01);
    apm.reset();
    expect(apm.io.read(1, 1)).toBe(0);
  });

  it('round-trips state and rejects bad state', () => {
    const apm = new Apm();
    apm.io.write(0, 1, 0xf0);
    apm.io.write(1, 1, 0x33);
    const b = new Apm();
    b.loadState(JSON.parse(JSON.stringify(apm.saveState())));
    expect(b.saveState()).toEqual(apm.saveState());
    expect(() => b.loadState({ v: 1, control: 256, status: 0 })).toThrow();
    expect(() => b.loadState({ v: 2, control: 0, status: 0 })).toThrow();
    expect(b.saveState()).toEqual(apm.saveState());
  });

  it('never throws on random accesses', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 40 }), (ops) => {
      const apm = new Apm({ onControlWrite: () => undefined });
      for (const [w, off, v] of ops) {
        if (w) apm.io.write(off, 1, v);
        else expect(apm.io.read(off, 1)).toBeLessThan(256);
      }
    }), { numRuns: 100 });
  });
});
