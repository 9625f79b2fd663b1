import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IsaDebugExit } from './isa-debug-exit.js';
import { inb, outb } from '../../test-support/fakes.js';
import { accessArb, expectRoundTrip, replay } from '../../test-support/device-harness.js';

describe('IsaDebugExit', () => {
  it('exits with (v << 1) | 1', () => {
    const codes: number[] = [];
    const d = new IsaDebugExit({ exit: (c) => codes.push(c), ioSize: 4 });
    outb(d.io, 0, 0);
    outb(d.io, 0, 0x10);
    d.io.write(0, 4, 0x80000000);
    expect(codes).toEqual([1, 0x21, 0x100000001]);
    expect(inb(d.io, 0)).toBe(0);
  });
  it('random accesses never throw; state round-trips', () => {
    fc.assert(fc.property(fc.array(accessArb(1, 4), { maxLength: 40 }), (seq) => {
      replay([{ h: new IsaDebugExit({ exit: () => {}, ioSize: 4 }).io, span: 1 }], seq);
    }), { numRuns: 50 });
    expectRoundTrip(new IsaDebugExit({ exit: () => {} }), new IsaDebugExit({ exit: () => {} }));
  });
});
