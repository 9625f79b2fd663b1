import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Port92 } from './port92.js';
import { inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

function make() {
  const a20: boolean[] = [];
  let resets = 0;
  const dev = new Port92({ setA20: (e) => a20.push(e), reset: () => { resets++; } });
  return { dev, a20, resets: () => resets };
}

describe('Port92', () => {
  it('toggles A20 on bit 1 changes only', () => {
    const { dev, a20 } = make();
    outb(dev.io, 0, 0x02);
    outb(dev.io, 0, 0x02);
    outb(dev.io, 0, 0x00);
    expect(a20).toEqual([true, false]);
    expect(dev.a20).toBe(false);
  });

  it('bit 0 requests a reset and reads back clear', () => {
    const t = make();
    outb(t.dev.io, 0, 0x03);
    expect(t.resets()).toBe(1);
    expect(inb(t.dev.io, 0)).toBe(0x02);
  });

  it('keeps other bits', () => {
    const { dev } = make();
    outb(dev.io, 0, 0xc2);
    expect(inb(dev.io, 0)).toBe(0xc2);
  });

  it('random accesses never throw', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 1), { maxLength: 50 }), (seq) => {
      const { dev } = make();
      replay([{ h: dev.io, span: 1 }], seq);
    }), { numRuns: 100 });
  });

  it('state round-trips and rejects bad input', () => {
    const a = make().dev;
    outb(a.io, 0, 0x42);
    const b = make().dev;
    expectRoundTrip(a, b);
    expect(inb(b.io, 0)).toBe(0x42);
    expect(() => b.loadState({ v: 1, value: 300 })).toThrow();
    expect(() => b.loadState({ v: 2, value: 1 })).toThrow();
  });
});
