import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PostPort } from './post-port.js';
import { inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

describe('PostPort', () => {
  it('latches the last code and reports it', () => {
    const seen: number[] = [];
    const p = new PostPort({ onCode: (c) => seen.push(c) });
    outb(p.io, 0, 0x12);
    outb(p.io, 0, 0x34);
    expect(p.lastCode).toBe(0x34);
    expect(inb(p.io, 0)).toBe(0x34);
    expect(seen).toEqual([0x12, 0x34]);
    p.reset('hard');
    expect(p.lastCode).toBe(0);
  });
  it('random accesses never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 1), { maxLength: 40 }), (seq) => {
      const p = new PostPort();
      replay([{ h: p.io, span: 1 }], seq);
      expectRoundTrip(p, new PostPort());
    }), { numRuns: 50 });
    expect(() => new PostPort().loadState({ v: 1, lastCode: -1, writes: 0 })).toThrow();
  });
});
